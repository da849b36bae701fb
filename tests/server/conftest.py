"""Fixtures for in-process servers whose commits a test can hold open."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from temporalio.api.common.v1 import WorkflowExecution, WorkflowType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import StartWorkflowExecutionRequest
from temporalio.client import Client

from gnomon.server.app import GnomonServer, ServerConfig
from gnomon.server.persistence import SqlitePersistence, WorkflowMutation


class HeldCommits(SqlitePersistence):
    """SQLite that, once armed, holds the next commit until released."""

    def __init__(self) -> None:
        super().__init__(":memory:")
        self.armed = False
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def commit(self, mutations: Sequence[WorkflowMutation]) -> None:
        if self.armed:
            self.armed = False
            self.entered.set()
            await self.release.wait()
        await super().commit(mutations)


@pytest.fixture
async def held_server() -> AsyncIterator[tuple[HeldCommits, Client]]:
    """A server in this process on a HeldCommits store, and an SDK client connected to it."""
    store = HeldCommits()
    server = GnomonServer(ServerConfig(port=0), persistence=store)
    await server.start()
    try:
        yield store, await Client.connect(server.address)
    finally:
        await server.stop()


async def start_workflow(client: Client, workflow_id: str, **fields: Any) -> WorkflowExecution:
    """Start workflow type ``Wf`` on task queue ``tq-<workflow_id>`` in namespace default."""
    started = await client.workflow_service.start_workflow_execution(
        StartWorkflowExecutionRequest(
            namespace="default",
            workflow_id=workflow_id,
            workflow_type=WorkflowType(name="Wf"),
            task_queue=TaskQueue(name=f"tq-{workflow_id}"),
            request_id=f"req-{workflow_id}",
            **fields,
        )
    )
    return WorkflowExecution(workflow_id=workflow_id, run_id=started.run_id)
