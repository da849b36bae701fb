"""A heap of deadlines, fired by one asyncio task.

Deadlines are derived from the runs' mutable states (which are durable), so the heap
needs no storage of its own: at start the history engine re-adds every open run's
deadlines, and one that fell due during downtime fires at once. A fired deadline is
checked against the run's current state before anything happens, so a stale or
duplicate entry is harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True, order=True)
class Deadline:
    """Something due for one run at ``when`` (epoch seconds)."""

    when: float
    namespace_id: str
    run_id: str
    kind: str
    ref: str  # which entity of the run: timer id, scheduled event id/attempt...


FireCallback = Callable[[Deadline], Awaitable[None]]
# A scheduled deadline in the heap: [when, sequence number, deadline, or None once cancelled].
TimerEntry = list[Any]


class TimerQueue:
    """Fires each added deadline once it is due."""

    def __init__(self, fire: FireCallback) -> None:
        self._fire = fire
        self._heap: list[TimerEntry] = []
        self._counter = itertools.count()
        self._wakeup = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._runner = asyncio.create_task(self._run(), name="gnomon-timers")

    async def stop(self) -> None:
        if self._runner:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
        for task in list(self._in_flight):
            task.cancel()

    def add(self, deadline: Deadline) -> TimerEntry:
        """Fire ``deadline`` when it is due; the entry returned can cancel it."""
        entry = [deadline.when, next(self._counter), deadline]
        heapq.heappush(self._heap, entry)
        if self._heap[0] is entry:
            self._wakeup.set()
        return entry

    def armed(self) -> list[Deadline]:
        """The deadlines still to fire, soonest first (for diagnostics and tests)."""
        return [entry[2] for entry in sorted(self._heap) if entry[2] is not None]

    @staticmethod
    def cancel(entry: TimerEntry) -> None:
        """Do not fire this deadline after all (a no-op once it has fired)."""
        # It stays in the heap, inert, until its time: removing it would cost a heap rebuild.
        entry[2] = None

    async def _run(self) -> None:
        while True:
            now = time.time()
            while self._heap and self._heap[0][0] <= now:
                _, _, deadline = heapq.heappop(self._heap)
                if deadline is None:
                    continue
                task = asyncio.create_task(self._fire_one(deadline))
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)
            self._wakeup.clear()
            delay = self._heap[0][0] - now if self._heap else None
            try:
                async with asyncio.timeout(delay):
                    await self._wakeup.wait()
            except TimeoutError:
                pass

    async def _fire_one(self, deadline: Deadline) -> None:
        try:
            await self._fire(deadline)
        except Exception:
            logger.exception("deadline %s of run %s failed; retrying in 1s", deadline.kind, deadline.run_id)
            # Nothing acknowledged depends on this attempt; try again shortly.
            self.add(Deadline(time.time() + 1.0, deadline.namespace_id, deadline.run_id, deadline.kind, deadline.ref))
