"""Runs are loaded on demand: start-up reads no run, memory is bounded, and nothing is forgotten.

Each test runs a server in this process on a SQLite file, with the official SDK.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client

from gnomon.server.app import GnomonServer, ServerConfig
from tests.e2e.activities import E2EActivities
from tests.e2e.helpers import running_worker
from tests.e2e.workflows import ActivityCall, ActivityWorkflow, ChildCall, ParentWorkflow, SignalWorkflow, TimerWorkflow


@asynccontextmanager
async def served(
    db: Path, *, cache_bytes: int = 256 * 1024 * 1024, prepare: Callable[[GnomonServer], None] | None = None
) -> AsyncIterator[tuple[GnomonServer, Client]]:
    server = GnomonServer(ServerConfig(port=0, db_filename=str(db), cache_bytes=cache_bytes))
    if prepare is not None:
        prepare(server)
    await server.start()
    try:
        yield server, await Client.connect(server.address)
    finally:
        await server.stop()


def _id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


async def test_start_up_reads_no_run_and_every_sleeper_is_kept(tmp_path: Path, task_queue: str) -> None:
    db = tmp_path / "gnomon.db"
    sleepers = [_id("sleeper") for _ in range(200)]
    async with served(db) as (_, client), running_worker(client, task_queue):
        for workflow_id in sleepers:
            await client.start_workflow(TimerWorkflow.run, 3600.0, id=workflow_id, task_queue=task_queue)
        await asyncio.sleep(0.5)  # their first tasks complete: each has a timer, nothing else

    async with served(db) as (server, client):
        await asyncio.wait_for(server.history.recovery.work_recovered.wait(), 10)
        assert server.history.engine.cached_runs == 0  # nothing had work; no timer is due
        assert server.history.recovery.recovered_runs == 0
        descriptions = [await client.get_workflow_handle(w).describe() for w in sleepers[:5]]
        assert all(d.status is not None and d.status.name == "RUNNING" for d in descriptions)


async def test_a_deadline_beyond_the_horizon_fires_from_storage(tmp_path: Path, task_queue: str) -> None:
    def short_horizon(server: GnomonServer) -> None:
        server.history.recovery.window = 0.5
        server.history.recovery.every = 0.2

    async with (
        served(tmp_path / "gnomon.db", prepare=short_horizon) as (server, client),
        running_worker(client, task_queue),
    ):
        handle = await client.start_workflow(TimerWorkflow.run, 2.0, id=_id("later"), task_queue=task_queue)
        await asyncio.sleep(0.3)
        # Its timer is past the horizon: not in the timer queue, but in storage.
        assert not [d for d in server.history.engine.timers.armed() if d.kind == "timer"]
        assert await asyncio.wait_for(handle.result(), 15) is not None


async def test_workflows_complete_while_every_run_leaves_memory_after_each_change(
    tmp_path: Path, task_queue: str
) -> None:
    """A cache bound of one byte: each run is read back from the database for every change."""
    activities = E2EActivities()
    async with served(tmp_path / "gnomon.db", cache_bytes=1) as (server, client):
        async with running_worker(client, task_queue, activities=activities, max_cached_workflows=0):
            echo = [
                await client.start_workflow(
                    ActivityWorkflow.run, ActivityCall("echo", [f"v{i}"]), id=_id("act"), task_queue=task_queue
                )
                for i in range(10)
            ]
            parents = [
                await client.start_workflow(
                    ParentWorkflow.run, ChildCall(_id("child"), "from-child"), id=_id("parent"), task_queue=task_queue
                )
                for _ in range(3)
            ]
            signalled = await client.start_workflow(SignalWorkflow.run, id=_id("sig"), task_queue=task_queue)
            for value in ("a", "b", "c"):
                await signalled.signal(SignalWorkflow.add, value)
            await signalled.signal(SignalWorkflow.finish)
            assert [await h.result() for h in echo] == [f"v{i}" for i in range(10)]
            assert [await p.result() for p in parents] == ["child said from-child"] * 3
            assert await signalled.result() == ["a", "b", "c"]
        await asyncio.sleep(0.1)
        assert server.history.engine.cached_runs <= 2  # only runs still pinned may stay


async def test_a_cache_bound_keeps_memory_flat_for_many_sleepers(tmp_path: Path, task_queue: str) -> None:
    bound = 64 * 1024
    async with (
        served(tmp_path / "gnomon.db", cache_bytes=bound) as (server, client),
        running_worker(client, task_queue),
    ):
        handles = [
            await client.start_workflow(TimerWorkflow.run, 3600.0, id=_id("flat"), task_queue=task_queue)
            for _ in range(100)
        ]
        await asyncio.sleep(0.5)
        assert server.history.engine.cached_bytes <= bound
        assert (await handles[0].describe()).status is not None
        await handles[-1].cancel()  # a run read back from storage takes its cancellation
        assert await asyncio.wait_for(_closed(handles[-1]), 10)


async def _closed(handle: object) -> bool:
    while (await handle.describe()).close_time is None:  # type: ignore[attr-defined]
        await asyncio.sleep(0.05)
    return True


async def test_work_owed_before_a_restart_is_found_and_done(tmp_path: Path, task_queue: str) -> None:
    db = tmp_path / "gnomon.db"
    activities = E2EActivities()
    async with served(db) as (_, client):
        # No worker: the workflow tasks and activities wait in their queues.
        handles = [
            await client.start_workflow(
                ActivityWorkflow.run, ActivityCall("echo", [f"r{i}"]), id=_id("owed"), task_queue=task_queue,
                execution_timeout=timedelta(minutes=5),
            )
            for i in range(20)
        ]  # fmt: skip
    async with served(db) as (server, client):
        await asyncio.wait_for(server.history.recovery.work_recovered.wait(), 10)
        assert server.history.recovery.recovered_runs == 20
        async with running_worker(client, task_queue, activities=activities):
            results = [await client.get_workflow_handle(h.id).result() for h in handles]
            assert results == [f"r{i}" for i in range(20)]
