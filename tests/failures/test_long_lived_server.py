"""A server that has run a while keeps every open run workable, after its state is reloaded too.

The scenario of the compatibility report: a Gnomon server on a database file runs a few hundred
varied workflows (some left open), then workflows with a 1 s workflow task timeout that cancel
an activity and are queried. Here their state is then loaded from the database again, by
restarting the server on the same file (a caller giving up on a commit does the same to one
run), and each is signalled and queried at once. That once corrupted them: the query task's
history read overlapped a signal's commit, kept the commit's events in memory, and the commit
appended them again; every later workflow task carried them twice, the SDK failed it ("History
is out of order") and let each retry time out, and queries timed out
(tests/server/history/test_history_cache.py pins the mechanism down).

The server runs in this process on its real SQLite store, whose commits hand their result back
2 ms after they land, as on a loaded machine. With an instant hand-back the window is a matter
of thread scheduling: a server process under this load hit it in one run of three. The checks do
not depend on timing: the history of every watched run is its events once each, in order, and
every run finishes having seen every signal.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError

from gnomon.server.app import GnomonServer, ServerConfig
from gnomon.server.persistence import SqlitePersistence, WorkflowMutation
from tests.failures.activities import FailureActivities
from tests.failures.helpers import failure_worker
from tests.failures.long_lived import CancelThenWaitWorkflow, ChattyWorkflow, varied_workflows
from tests.failures.workflows import ALL_WORKFLOWS
from tests.support.servers import free_port

VARIED_WORKFLOWS = 240
WATCHED = 40
RESTARTS = 5
SIGNALS_PER_ROUND = 4
TASK_TIMEOUT = timedelta(seconds=1)
QUERY_TIMEOUT = timedelta(seconds=10)
STEP_TIMEOUT = 20.0
#: Between sending a run's signals and its query: the query then arrives while they commit.
QUERY_AFTER = 0.005
#: How long after landing a commit hands its result back (see the module docstring).
ACK_DELAY = 0.002


class LateAcknowledgements(SqlitePersistence):
    """The SQLite store, handing each commit's result back ``ACK_DELAY`` after it landed."""

    async def commit(self, mutations: Sequence[WorkflowMutation]) -> None:
        await super().commit(mutations)
        await asyncio.sleep(ACK_DELAY)


class RestartableServer:
    """A Gnomon server in this process on one database file and one port."""

    def __init__(self, db_path: Path) -> None:
        self.config = ServerConfig(port=free_port(), db_filename=str(db_path))
        self.server: GnomonServer | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.config.port}"

    async def start(self) -> None:
        self.server = GnomonServer(self.config, persistence=LateAcknowledgements(self.config.db_filename))
        await self.server.start()

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
            self.server = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()


@pytest.fixture
async def long_lived(tmp_path: Path) -> AsyncIterator[RestartableServer]:
    server = RestartableServer(tmp_path / "long-lived.db")
    await server.start()
    yield server
    await server.stop()


async def eventually(probe: Any, what: str) -> Any:
    """``await probe()`` until it is truthy (RPC errors while the server restarts count as no)."""
    deadline = time.monotonic() + STEP_TIMEOUT
    while True:
        try:
            value = await probe()
        except RPCError:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def worker_polls(client: Client, task_queue: str) -> bool:
    """Whether a worker has polled ``task_queue``'s workflow tasks (since the server started)."""
    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(namespace="default", task_queue=TaskQueue(name=task_queue))
    )
    return bool(response.pollers)


async def event_ids(handle: WorkflowHandle[Any, Any]) -> list[int]:
    return [event.event_id for event in (await handle.fetch_history()).events]


async def signalled_while_queried(handle: WorkflowHandle[Any, Any], pokes: int) -> str:
    """Signal the run ``SIGNALS_PER_ROUND`` times and query it while those signals commit one
    after another (the run's lock orders them); the answer once every signal is seen."""
    signals = [asyncio.ensure_future(handle.signal(CancelThenWaitWorkflow.poke)) for _ in range(SIGNALS_PER_ROUND)]
    await asyncio.sleep(QUERY_AFTER)
    await asyncio.gather(*signals, handle.query(CancelThenWaitWorkflow.state, rpc_timeout=QUERY_TIMEOUT))

    async def all_seen() -> str | None:
        state = await handle.query(CancelThenWaitWorkflow.state, rpc_timeout=QUERY_TIMEOUT)
        return state if state.endswith(f", {pokes} pokes") else None

    return await eventually(all_seen, f"{handle.id} to see {pokes} pokes")


@pytest.mark.timeout(120)
async def test_watched_runs_stay_workable_on_a_long_lived_server(long_lived: RestartableServer) -> None:
    client = await eventually(lambda: Client.connect(long_lived.address, namespace="default"), "the server")
    task_queue = f"long-lived-{uuid.uuid4().hex[:8]}"
    workflows = [*ALL_WORKFLOWS, ChattyWorkflow, CancelThenWaitWorkflow]
    async with failure_worker(client, task_queue, FailureActivities(), workflows=workflows):
        load = await varied_workflows(client, task_queue, VARIED_WORKFLOWS)
        assert load.closed == VARIED_WORKFLOWS - len(load.left_open)

        watched = [
            await client.start_workflow(
                CancelThenWaitWorkflow.run,
                ("TRY_CANCEL", "WAIT_CANCELLATION_COMPLETED")[i % 2],
                id=f"watched-{i}-{uuid.uuid4().hex[:8]}",
                task_queue=task_queue,
                task_timeout=TASK_TIMEOUT,
            )
            for i in range(WATCHED)
        ]
        for handle in watched:

            async def cancelled(handle: WorkflowHandle[Any, Any] = handle) -> bool:
                return await handle.query(CancelThenWaitWorkflow.state) == "activity cancelled, 0 pokes"

            await eventually(cancelled, f"{handle.id} to cancel its activity")

        for round_ in range(1, RESTARTS + 1):
            await long_lived.restart()  # every open run is loaded from the database again
            # The SDK reconnects in its own time; tasks queued before it polls again would all be
            # taken at once when it does, in an order that hides the overlap looked for.
            await eventually(lambda: worker_polls(client, task_queue), "the worker to poll again")
            pokes = round_ * SIGNALS_PER_ROUND
            states = await asyncio.gather(*(signalled_while_queried(handle, pokes) for handle in watched))
            assert states == [f"activity cancelled, {pokes} pokes"] * WATCHED
            histories = {handle.id: await event_ids(handle) for handle in watched}
            broken = {wid: ids for wid, ids in histories.items() if ids != list(range(1, len(ids) + 1))}
            assert not broken, f"after restart {round_}, histories with events out of order: {broken}"

        await asyncio.gather(*(handle.signal(CancelThenWaitWorkflow.finish) for handle in watched))
        results = await asyncio.gather(*(asyncio.wait_for(handle.result(), STEP_TIMEOUT) for handle in watched))
        assert results == [f"activity cancelled, {RESTARTS * SIGNALS_PER_ROUND} pokes"] * WATCHED
