"""A heap of deadlines, fired by one event-loop timer.

Deadlines are derived from the runs' mutable states (which are durable), so the heap
needs no storage of its own: at start the history engine re-adds every open run's
deadlines, and one that fell due during downtime fires at once. A fired deadline is
checked against the run's current state before anything happens, so a stale or
duplicate entry is harmless.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

logger = logging.getLogger(__name__)


class Deadline(NamedTuple):
    """Something due for one run at ``when`` (epoch seconds).

    A named tuple, not a frozen dataclass: every reconcile builds the run's deadlines
    afresh and looks them up in a set and a dict; a tuple is hashed and compared in C,
    and built without a ``object.__setattr__`` per field.
    """

    when: float
    namespace_id: str
    run_id: str
    kind: str
    ref: str  # which entity of the run: timer id, scheduled event id/attempt...


FireCallback = Callable[[Deadline], Awaitable[None]]
# A scheduled deadline in the heap: [when, sequence number, deadline, or None once
# cancelled or fired].
TimerEntry = list[Any]
# Cancelled entries stay in the heap until they reach the top. Deadlines can be far off (a
# run timeout of a week, cancelled when the run closes a second later), so once cancelled
# entries are more than half of a heap this big, the heap is rebuilt without them.
COMPACT_MIN_CANCELLED = 1024


class TimerQueue:
    """Fires each added deadline once it is due."""

    def __init__(self, fire: FireCallback) -> None:
        self._fire = fire
        self._heap: list[TimerEntry] = []
        self._cancelled = 0  # cancelled entries still in the heap
        self._counter = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None
        # One loop timer, for the soonest live deadline; re-armed as the soonest changes.
        self._timer: asyncio.TimerHandle | None = None
        self._timer_when = 0.0
        self._in_flight: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._arm()

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._loop = None
        for task in list(self._in_flight):
            task.cancel()

    def add(self, deadline: Deadline) -> TimerEntry:
        """Fire ``deadline`` when it is due; the entry returned can cancel it."""
        entry = [deadline.when, next(self._counter), deadline]
        heapq.heappush(self._heap, entry)
        if self._heap[0] is entry and (self._timer is None or deadline.when < self._timer_when):
            self._arm()
        return entry

    def cancel(self, entry: TimerEntry) -> None:
        """Do not fire this deadline after all (a no-op once it has fired)."""
        if entry[2] is None:
            return
        # It stays in the heap, inert, until it reaches the top or the heap is compacted:
        # removing it from the middle would cost a heap rebuild each time.
        entry[2] = None
        self._cancelled += 1
        if self._cancelled >= COMPACT_MIN_CANCELLED and self._cancelled * 2 > len(self._heap):
            self._heap[:] = [e for e in self._heap if e[2] is not None]
            heapq.heapify(self._heap)
            self._cancelled = 0

    @property
    def heap_size(self) -> int:
        """Entries in the heap, cancelled ones not yet dropped included (for diagnostics and tests)."""
        return len(self._heap)

    def armed(self) -> list[Deadline]:
        """The deadlines still to fire, soonest first (for diagnostics and tests)."""
        return [entry[2] for entry in sorted(self._heap) if entry[2] is not None]

    def _arm(self) -> None:
        """Set the loop timer for the soonest live deadline (dropping cancelled ones on top)."""
        heap = self._heap
        while heap and heap[0][2] is None:
            heapq.heappop(heap)
            self._cancelled -= 1
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._loop is None or not heap:
            return
        self._timer_when = heap[0][0]
        self._timer = self._loop.call_later(max(0.0, self._timer_when - time.time()), self._fire_due)

    def _fire_due(self) -> None:
        self._timer = None
        heap = self._heap
        now = time.time()
        while heap and heap[0][0] <= now:
            entry = heapq.heappop(heap)
            deadline, entry[2] = entry[2], None  # fired: a later cancel is a no-op
            if deadline is None:
                self._cancelled -= 1
                continue
            task = asyncio.create_task(self._fire_one(deadline))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        self._arm()

    async def _fire_one(self, deadline: Deadline) -> None:
        try:
            await self._fire(deadline)
        except Exception:
            logger.exception("deadline %s of run %s failed; retrying in 1s", deadline.kind, deadline.run_id)
            # Nothing acknowledged depends on this attempt; try again shortly.
            self.add(Deadline(time.time() + 1.0, deadline.namespace_id, deadline.run_id, deadline.kind, deadline.ref))
