"""A thread that runs jobs one after another and reports each back to the event loop.

The group commit hands the commit thread one job per transaction. ThreadPoolExecutor
would wrap each in a concurrent Future, a work item, a condition variable and a
semaphore, and the loop would learn of the result through a done-callback on top; here
a job is a queue entry and its result one ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import functools
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

#: ``done(result, error)``, called on the submitter's event loop.
Done = Callable[[Any, BaseException | None], None]


class WorkerThread:
    """One daemon thread working through submitted jobs in order."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], asyncio.AbstractEventLoop, Done] | None]
        self._jobs = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[], Any], done: Done) -> None:
        """Run ``job`` on the thread, then ``done(result, error)`` on the caller's event loop."""
        self._jobs.put((job, asyncio.get_running_loop(), done))

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the thread and wait for its result."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()

        def done(result: Any, error: BaseException | None) -> None:
            if future.done():
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)

        self.submit(functools.partial(fn, *args), done)
        return await future

    def shutdown(self) -> None:
        """Finish the jobs already submitted, then stop the thread."""
        self._jobs.put(None)
        self._thread.join()

    def _work(self) -> None:
        while (item := self._jobs.get()) is not None:
            job, loop, done = item
            try:
                result, error = job(), None
            except BaseException as failure:  # noqa: BLE001 - handed to the submitter
                result, error = None, failure
            loop.call_soon_threadsafe(done, result, error)
