"""A deadline that is no longer due is cancelled, not left to fire and find nothing.

Every workflow task and activity arms timeouts. Once the task completes (or the run
closes) they can only fire, load the run and return: at a few per workflow that was a
steady cost under load, and a load from disk for runs no longer cached.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.api.command.v1 import Command, CompleteWorkflowExecutionCommandAttributes
from temporalio.api.enums.v1 import CommandType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueRequest,
    RespondWorkflowTaskCompletedRequest,
)
from temporalio.client import Client

from gnomon.server.app import GnomonServer, ServerConfig
from tests.server.conftest import start_workflow


@pytest.fixture
async def served() -> AsyncIterator[tuple[GnomonServer, Client]]:
    server = GnomonServer(ServerConfig(port=0))
    await server.start()
    try:
        yield server, await Client.connect(server.address)
    finally:
        await server.stop()


def armed_kinds(server: GnomonServer, run_id: str) -> list[str]:
    return [d.kind for d in server.history.engine.timers.armed() if d.run_id == run_id]


async def test_a_closed_runs_deadlines_are_cancelled(served: tuple[GnomonServer, Client]) -> None:
    server, client = served
    service = client.workflow_service
    # Within the timer queue's horizon (a minute): later deadlines wait in storage, not in memory.
    started = await start_workflow(client, "deadline-wf", workflow_run_timeout={"seconds": 30})
    queue = TaskQueue(name="tq-deadline-wf")
    assert armed_kinds(server, started.run_id) == ["workflow_timeout"]

    task = await service.poll_workflow_task_queue(PollWorkflowTaskQueueRequest(namespace="default", task_queue=queue))
    assert sorted(armed_kinds(server, started.run_id)) == ["workflow_task_start_to_close", "workflow_timeout"]

    await service.respond_workflow_task_completed(
        RespondWorkflowTaskCompletedRequest(
            namespace="default",
            task_token=task.task_token,
            commands=[
                Command(
                    command_type=CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
                    complete_workflow_execution_command_attributes=CompleteWorkflowExecutionCommandAttributes(),
                )
            ],
        )
    )
    assert armed_kinds(server, started.run_id) == []


async def test_a_deadline_past_the_horizon_waits_in_storage(served: tuple[GnomonServer, Client]) -> None:
    server, client = served
    started = await start_workflow(client, "far-deadline-wf", workflow_run_timeout={"seconds": 3600})
    assert armed_kinds(server, started.run_id) == []
    record = await server.persistence.get_run(server.namespaces.id_of("default"), started.run_id)
    assert record is not None and record.derived.next_deadline is not None
    assert record.derived.next_deadline > server.history.engine.timers.horizon
