"""The task queue: sync match, backlog, and no task lost when a poll gives up."""

from __future__ import annotations

import asyncio

from gnomon.server.matching.task_queue import TaskQueue


async def test_task_added_while_poller_waits_goes_straight_to_it() -> None:
    queue: TaskQueue[str] = TaskQueue("q")
    poll = asyncio.create_task(queue.poll("worker-1", timeout=5))
    await asyncio.sleep(0)
    queue.add("task")
    assert await poll == "task"
    assert len(queue) == 0


async def test_task_without_poller_waits_in_backlog_in_order() -> None:
    queue: TaskQueue[str] = TaskQueue("q")
    queue.add("a")
    queue.add("b")
    assert await queue.poll("w", timeout=1) == "a"
    assert await queue.poll("w", timeout=1) == "b"


async def test_poll_times_out_empty() -> None:
    queue: TaskQueue[str] = TaskQueue("q")
    assert await queue.poll("w", timeout=0.05) is None
    queue.add("later")
    assert len(queue) == 1  # the expired poller did not swallow it


async def test_cancelled_poller_does_not_lose_a_delivered_task() -> None:
    queue: TaskQueue[str] = TaskQueue("q")
    poll = asyncio.create_task(queue.poll("w", timeout=5))
    await asyncio.sleep(0)
    queue.add("task")  # delivered to the waiter...
    poll.cancel()  # ...whose caller goes away before it runs
    await asyncio.gather(poll, return_exceptions=True)
    assert await queue.poll("w2", timeout=1) == "task"


async def test_pollers_are_remembered_for_describe() -> None:
    queue: TaskQueue[str] = TaskQueue("q")
    await queue.poll("worker-a", timeout=0.01)
    await queue.poll("worker-b", timeout=0.01)
    assert {p.identity for p in queue.recent_pollers()} == {"worker-a", "worker-b"}
