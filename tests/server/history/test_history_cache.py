"""A run's in-memory history stays exactly its stored events, even when it is filled while a commit lands.

An open run's history is kept in memory once read (``HistoryEngine.read_events``) and each
commit appends its events to it. A run whose state was loaded from the database has no such
copy yet: every open run after a restart, and a run whose cached state was dropped because a
request gave up while its commit was in flight. Its first read fills the copy. A query task
reads the history without the run's lock, so that read can run while a commit of the run has
landed in the database but not returned yet: it saw the commit's events, kept them, and the
commit then appended them a second time. Every later workflow task carried those events twice
(``[..., 5, 6, 5, 6, 7]``); an SDK worker fails such a task ("History is out of order") and
lets each retry time out, so the run never made progress again and queries waited in vain.

The store below is the server's real SQLite store (a file: in memory, reads do not leave the
event loop and cannot interleave with a commit), holding a commit open at a chosen point.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payloads, WorkflowExecution
from temporalio.api.enums.v1 import QueryResultType
from temporalio.api.query.v1 import WorkflowQuery
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueRequest,
    PollWorkflowTaskQueueResponse,
    QueryWorkflowRequest,
    RespondQueryTaskCompletedRequest,
    RespondWorkflowTaskCompletedRequest,
    SignalWorkflowExecutionRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from gnomon.server.app import GnomonServer, ServerConfig
from gnomon.server.persistence import SqlitePersistence, WorkflowMutation
from tests.server.conftest import start_workflow

RPC_TIMEOUT = timedelta(seconds=10)


class HeldStore(SqlitePersistence):
    """SQLite that holds its next commit open, before it is written or once it has landed."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._hold: str | None = None
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    def hold_next(self, *, landed: bool) -> None:
        self._hold = "landed" if landed else "before"
        self.entered.clear()
        self.release.clear()

    async def commit(self, mutations: Sequence[WorkflowMutation]) -> None:
        hold, self._hold = self._hold, None
        if hold == "before":
            self.entered.set()
            await self.release.wait()
        await super().commit(mutations)
        if hold == "landed":
            # Written and visible to readers; the transition has not heard back yet.
            self.entered.set()
            await self.release.wait()


@asynccontextmanager
async def served(db: Path) -> AsyncIterator[tuple[HeldStore, Client]]:
    store = HeldStore(db)
    server = GnomonServer(ServerConfig(port=0, db_filename=str(db)), persistence=store)
    await server.start()
    try:
        yield store, await Client.connect(server.address)
    finally:
        await server.stop()


async def poll_task(client: Client, workflow_id: str) -> PollWorkflowTaskQueueResponse:
    return await client.workflow_service.poll_workflow_task_queue(
        PollWorkflowTaskQueueRequest(namespace="default", task_queue=TaskQueue(name=f"tq-{workflow_id}")),
        timeout=RPC_TIMEOUT,
    )


async def complete_task(client: Client, workflow_id: str) -> None:
    task = await poll_task(client, workflow_id)
    await client.workflow_service.respond_workflow_task_completed(
        RespondWorkflowTaskCompletedRequest(namespace="default", task_token=task.task_token)
    )


def signal(client: Client, execution: WorkflowExecution, name: str, timeout: timedelta = RPC_TIMEOUT) -> asyncio.Future:
    return asyncio.ensure_future(
        client.workflow_service.signal_workflow_execution(
            SignalWorkflowExecutionRequest(namespace="default", workflow_execution=execution, signal_name=name),
            timeout=timeout,
        )
    )


async def signal_while_a_query_reads_history(
    store: HeldStore, client: Client, execution: WorkflowExecution
) -> list[int]:
    """A signal whose commit has landed but not returned while a query task reads the history;
    then the event ids of the workflow task the signal scheduled."""
    store.hold_next(landed=True)
    signalled = signal(client, execution, "while-queried")
    await store.entered.wait()
    query = asyncio.ensure_future(
        client.workflow_service.query_workflow(
            QueryWorkflowRequest(namespace="default", execution=execution, query=WorkflowQuery(query_type="state")),
            timeout=RPC_TIMEOUT,
        )
    )
    query_task = await poll_task(client, execution.workflow_id)  # its history is read now
    assert query_task.HasField("query")
    await client.workflow_service.respond_query_task_completed(
        RespondQueryTaskCompletedRequest(
            namespace="default",
            task_token=query_task.task_token,
            completed_type=QueryResultType.QUERY_RESULT_TYPE_ANSWERED,
            query_result=Payloads(),
        )
    )
    await query
    store.release.set()
    await signalled
    task = await poll_task(client, execution.workflow_id)
    return [event.event_id for event in task.history.events]


async def test_history_first_read_after_a_restart_during_a_commit(tmp_path: Path) -> None:
    db = tmp_path / "gnomon.sqlite"
    async with served(db) as (_, client):
        execution = await start_workflow(client, "cache-restart")
        await complete_task(client, "cache-restart")
    async with served(db) as (store, client):  # the run is recovered; its history is not in memory
        ids = await signal_while_a_query_reads_history(store, client, execution)
    assert ids == list(range(1, len(ids) + 1)), f"workflow task history: event ids {ids}"


async def test_history_first_read_after_a_caller_gave_up_on_a_commit(tmp_path: Path) -> None:
    async with served(tmp_path / "gnomon.sqlite") as (store, client):
        execution = await start_workflow(client, "cache-gave-up")
        await complete_task(client, "cache-gave-up")
        # The caller's deadline passes while the signal's commit is in flight: the engine drops
        # the cached run (the commit still lands), and the next access loads it from the database.
        store.hold_next(landed=False)
        gave_up = signal(client, execution, "gave-up", timeout=timedelta(seconds=0.5))
        await store.entered.wait()
        with pytest.raises(RPCError) as raised:
            await gave_up
        assert raised.value.status == RPCStatusCode.CANCELLED or "timeout" in raised.value.message.lower()
        store.release.set()
        ids = await signal_while_a_query_reads_history(store, client, execution)
    assert ids == list(range(1, len(ids) + 1)), f"workflow task history: event ids {ids}"
