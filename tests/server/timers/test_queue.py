"""The deadline heap: cancelled deadlines do not pile up, and live ones still fire."""

from __future__ import annotations

import asyncio
import time

from gnomon.server.timers.queue import COMPACT_MIN_CANCELLED, Deadline, TimerQueue


def _deadline(when: float, ref: str) -> Deadline:
    return Deadline(when, "ns", "run", "test", ref)


def _recording_queue() -> tuple[TimerQueue, list[Deadline]]:
    """A started queue whose fired deadlines are appended to the list returned with it."""
    fired: list[Deadline] = []

    async def fire(deadline: Deadline) -> None:
        fired.append(deadline)

    queue = TimerQueue(fire)
    queue.start()
    return queue, fired


async def test_cancelled_far_deadlines_do_not_accumulate() -> None:
    # A week-long run timeout per run, each cancelled when its run closes a moment later:
    # without compaction every one would stay in the heap for a week.
    queue, fired = _recording_queue()
    try:
        far = time.time() + 7 * 86400
        soon = queue.add(_deadline(time.time() + 0.05, "soon"))
        for i in range(10 * COMPACT_MIN_CANCELLED):
            far_deadline = _deadline(far + i, f"run-{i}")
            queue.add(far_deadline)
            queue.cancel(far_deadline)
            assert queue.heap_size <= 2 * COMPACT_MIN_CANCELLED + 1
        kept = queue.add(_deadline(far, "kept"))
        assert queue.armed() == [soon[2], kept[2]]
        await asyncio.sleep(0.3)
        assert [d.ref for d in fired] == ["soon"]
        assert queue.armed() == [kept[2]]
    finally:
        await queue.stop()


async def test_cancel_after_firing_is_a_no_op() -> None:
    queue, fired = _recording_queue()
    try:
        now = _deadline(time.time(), "now")
        queue.add(now)
        await asyncio.sleep(0.05)
        assert [d.ref for d in fired] == ["now"]
        # A fired entry is out of the heap: cancelling it must not count as a tombstone,
        # or the count would drift and compaction would run on a heap of live entries.
        for _ in range(3 * COMPACT_MIN_CANCELLED):
            queue.cancel(now)
        live = [queue.add(_deadline(time.time() + 3600 + i, f"live-{i}")) for i in range(COMPACT_MIN_CANCELLED)]
        assert queue.heap_size == len(live)
        assert queue.armed() == [e[2] for e in live]
    finally:
        await queue.stop()


async def test_a_deadline_armed_twice_fires_once_and_is_indexed_by_run() -> None:
    queue, fired = _recording_queue()
    try:
        deadline = _deadline(time.time() + 0.05, "twice")
        assert queue.add(deadline) is queue.add(deadline)
        assert queue.armed_for(deadline.namespace_id, deadline.run_id) == {deadline}
        await asyncio.sleep(0.2)
        assert [d.ref for d in fired] == ["twice"]
        assert queue.armed_for(deadline.namespace_id, deadline.run_id) == frozenset()
        later = _deadline(time.time() + 3600, "later")
        queue.add(later)
        queue.cancel_run(later.namespace_id, later.run_id)
        assert queue.armed() == []
    finally:
        await queue.stop()
