"""One task queue: a backlog of task references and the pollers waiting for them.

A task added while a poller waits goes straight to that poller (sync match); otherwise it
waits in the backlog. The backlog is only a cache of what the runs' mutable states say is
pending: after a restart the history engine re-adds every pending task, and a run loaded
into memory again re-adds its own, so adding a task that is already waiting does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

# A poller seen this recently still counts as present (Temporal uses about five minutes
# for DescribeTaskQueue; for sticky liveness it uses ten seconds, see MatchingService).
POLLER_MEMORY_SECONDS = 300.0


@dataclass
class PollerInfo:
    """What DescribeTaskQueue reports about one poller."""

    identity: str
    last_access_time: float
    rate_per_second: float = 100_000.0


class TaskQueue(Generic[T]):
    """Backlog plus waiting pollers, for one (namespace, name, task type)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._backlog: deque[T] = deque()
        self._queued: set[T] = set()  # what the backlog holds, to add each task once
        self._waiters: deque[asyncio.Future[T | None]] = deque()  # None: the poll timed out
        self.pollers: dict[str, PollerInfo] = {}
        self.last_poll_time = 0.0

    def __len__(self) -> int:
        return len(self._backlog)

    @property
    def has_waiting_pollers(self) -> bool:
        return any(not w.done() for w in self._waiters)

    def add(self, task: T) -> None:
        """Hand the task to a waiting poller, or keep it in the backlog."""
        if task in self._queued:
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(task)
                return
        self._backlog.append(task)
        self._queued.add(task)

    def push_front(self, task: T) -> None:
        """Return a task that a poller took but could not deliver."""
        if task not in self._queued:
            self._backlog.appendleft(task)
            self._queued.add(task)

    def drain(self) -> list[T]:
        """Remove and return the whole backlog."""
        tasks = list(self._backlog)
        self._backlog.clear()
        self._queued.clear()
        return tasks

    def record_poller(self, identity: str) -> None:
        now = time.time()
        self.last_poll_time = now
        known = self.pollers.get(identity)
        if known is None:
            self.pollers[identity] = PollerInfo(identity=identity, last_access_time=now)
        else:
            known.last_access_time = now

    def recent_pollers(self) -> list[PollerInfo]:
        cutoff = time.time() - POLLER_MEMORY_SECONDS
        return [p for p in self.pollers.values() if p.last_access_time >= cutoff]

    async def poll(self, identity: str, timeout: float) -> T | None:
        """The next task, waiting up to ``timeout`` seconds; None if none came."""
        self.record_poller(identity)
        if self._backlog:
            queued = self._backlog.popleft()
            self._queued.discard(queued)
            return queued
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[T | None] = loop.create_future()
        self._waiters.append(waiter)
        # A plain timer that answers None: a poll is cheaper than an asyncio.timeout scope.
        timer = loop.call_later(timeout, _expire, waiter)
        task: T | None = None
        try:
            task = await waiter
            return task
        finally:
            timer.cancel()
            self.record_poller(identity)
            if task is None:
                if not waiter.done():
                    waiter.cancel()
                elif not waiter.cancelled() and (arrived := waiter.result()) is not None:
                    # A task arrived just as this poll was cancelled: it must not be lost.
                    self.push_front(arrived)
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)


def _expire(waiter: asyncio.Future[T | None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
