"""A heap of deadlines, fired by one event-loop timer.

Deadlines are derived from the runs' mutable states (which are durable), so the heap needs
no storage of its own. It holds only what falls due before its *horizon* (a minute or so
ahead): a run's later deadlines wait in storage, found through the index of each run's
next deadline (see ``history/recovery.py``), so a million runs sleeping for days cost no
memory here. A fired deadline is checked against the run's current state before anything
happens, so a stale or duplicate entry is harmless; adding a deadline that is already armed
returns the armed entry, so a run reloaded into memory can re-derive its deadlines freely.
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

    A named tuple, not a frozen dataclass: every derivation builds the run's deadlines
    afresh and looks them up in a set and a dict; a tuple is hashed and compared in C,
    and built without a ``object.__setattr__`` per field.
    """

    when: float
    namespace_id: str
    run_id: str
    kind: str
    ref: str  # which entity of the run: timer id, scheduled event id/attempt...


FireCallback = Callable[[Deadline], Awaitable[None]]
RunKey = tuple[str, str]
# A scheduled deadline in the heap: [when, sequence number, deadline, or None once
# cancelled or fired].
TimerEntry = list[Any]
# Cancelled entries stay in the heap until they reach the top. Deadlines can be a minute
# off (the horizon), cancelled when the run moves on a moment later, so once cancelled
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
        # The live entries, by deadline and by run: an armed deadline is not armed twice.
        self._entries: dict[Deadline, TimerEntry] = {}
        self._by_run: dict[RunKey, set[Deadline]] = {}
        # Deadlines after this are not held here (see the module docstring); +inf: all are.
        self.horizon = float("inf")

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
        """Fire ``deadline`` when it is due (once, however often it is added); its entry."""
        entry = self._entries.get(deadline)
        if entry is not None:
            return entry
        entry = [deadline.when, next(self._counter), deadline]
        self._entries[deadline] = entry
        self._by_run.setdefault((deadline.namespace_id, deadline.run_id), set()).add(deadline)
        heapq.heappush(self._heap, entry)
        if self._heap[0] is entry and (self._timer is None or deadline.when < self._timer_when):
            self._arm()
        return entry

    def armed_for(self, namespace_id: str, run_id: str) -> frozenset[Deadline]:
        """The run's deadlines waiting to fire."""
        return frozenset(self._by_run.get((namespace_id, run_id), ()))

    def cancel(self, deadline: Deadline) -> None:
        """Do not fire this deadline after all (a no-op if it is not armed, or has fired)."""
        entry = self._entries.pop(deadline, None)
        if entry is None:
            return
        self._forget(deadline)
        # It stays in the heap, inert, until it reaches the top or the heap is compacted:
        # removing it from the middle would cost a heap rebuild each time.
        entry[2] = None
        self._cancelled += 1
        if self._cancelled >= COMPACT_MIN_CANCELLED and self._cancelled * 2 > len(self._heap):
            self._heap[:] = [e for e in self._heap if e[2] is not None]
            heapq.heapify(self._heap)
            self._cancelled = 0

    def cancel_run(self, namespace_id: str, run_id: str) -> None:
        """Cancel every deadline of a run (it was deleted)."""
        for deadline in self.armed_for(namespace_id, run_id):
            self.cancel(deadline)

    def _forget(self, deadline: Deadline) -> None:
        key = (deadline.namespace_id, deadline.run_id)
        deadlines = self._by_run.get(key)
        if deadlines is not None:
            deadlines.discard(deadline)
            if not deadlines:
                del self._by_run[key]

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
            del self._entries[deadline]
            self._forget(deadline)
            task = asyncio.create_task(self._fire_one(deadline))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        self._arm()

    async def _fire_one(self, deadline: Deadline) -> None:
        try:
            await self._fire(deadline)
        except Exception:
            logger.exception("deadline %s of run %s failed; retrying in 1s", deadline.kind, deadline.run_id)
            # Nothing acknowledged depends on this attempt: the same deadline (still due, and
            # still what the run wants) is armed again shortly.
            if self._loop is not None:
                self._loop.call_later(1.0, self.add, deadline)
