"""Reads that arrive while a transition's commit is in flight see the state before or after it.

A transition changes the cached run before its commit lands: a run completing is already
closed while its last events are still being written. A history long poll arriving in that
window once saw "closed" with no close event and ended its iteration early (the ``temporal
workflow execute`` progress table then stopped at event 2 and said "missing close event").
Here the server's real SQLite store is held inside ``commit`` so the window stays open
(``held_server`` in conftest).
"""

from __future__ import annotations

import asyncio

from temporalio.api.command.v1 import Command, CompleteWorkflowExecutionCommandAttributes
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import CommandType, EventType, HistoryEventFilterType, WorkflowExecutionStatus
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    GetWorkflowExecutionHistoryRequest,
    PollWorkflowTaskQueueRequest,
    RespondWorkflowTaskCompletedRequest,
)
from temporalio.client import Client

from tests.server.conftest import HeldCommits, start_workflow

#: Long enough for a request on loopback to reach the server and, wrongly, be answered.
SETTLE_S = 0.3


async def _start_and_poll(client: Client, workflow_id: str) -> tuple[WorkflowExecution, bytes]:
    execution = await start_workflow(client, workflow_id)
    task = await client.workflow_service.poll_workflow_task_queue(
        PollWorkflowTaskQueueRequest(namespace="default", task_queue=TaskQueue(name=f"tq-{workflow_id}"))
    )
    return execution, task.task_token


async def _complete_held(client: Client, store: HeldCommits, token: bytes) -> asyncio.Task[object]:
    """Answer the workflow task with "complete", and return once its commit is being held."""
    store.armed = True
    completing = asyncio.ensure_future(
        client.workflow_service.respond_workflow_task_completed(
            RespondWorkflowTaskCompletedRequest(
                namespace="default",
                task_token=token,
                commands=[
                    Command(
                        command_type=CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
                        complete_workflow_execution_command_attributes=CompleteWorkflowExecutionCommandAttributes(),
                    )
                ],
            )
        )
    )
    await store.entered.wait()
    return completing


async def _still_waiting(call: asyncio.Future[object]) -> bool:
    done, _ = await asyncio.wait([call], timeout=SETTLE_S)
    return not done


async def test_history_long_poll_during_the_closing_commit_returns_the_close_event(
    held_server: tuple[HeldCommits, Client],
) -> None:
    store, client = held_server
    execution, token = await _start_and_poll(client, "reads-history")
    first = await client.workflow_service.get_workflow_execution_history(
        GetWorkflowExecutionHistoryRequest(namespace="default", execution=execution, wait_new_event=True)
    )
    assert [e.event_id for e in first.history.events] == [1, 2]
    assert first.next_page_token

    completing = await _complete_held(client, store, token)
    rest = asyncio.ensure_future(
        client.workflow_service.get_workflow_execution_history(
            GetWorkflowExecutionHistoryRequest(
                namespace="default", execution=execution, wait_new_event=True, next_page_token=first.next_page_token
            )
        )
    )
    assert await _still_waiting(rest), "a history page was answered from a commit still in flight"
    store.release.set()
    await completing
    page = await rest
    assert [e.event_type for e in page.history.events] == [
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    ]
    assert page.next_page_token == b""


async def test_close_event_poll_and_describe_during_the_closing_commit(held_server: tuple[HeldCommits, Client]) -> None:
    store, client = held_server
    execution, token = await _start_and_poll(client, "reads-close")
    completing = await _complete_held(client, store, token)
    close = asyncio.ensure_future(
        client.workflow_service.get_workflow_execution_history(
            GetWorkflowExecutionHistoryRequest(
                namespace="default",
                execution=execution,
                wait_new_event=True,
                history_event_filter_type=HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
            )
        )
    )
    described = asyncio.ensure_future(
        client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(namespace="default", execution=execution)
        )
    )
    # Until the commit lands the completion may still be lost to a crash: nobody may report it.
    assert await _still_waiting(close)
    assert await _still_waiting(described)
    store.release.set()
    await completing
    page = await close
    assert [e.event_type for e in page.history.events] == [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED]
    info = await described
    assert info.workflow_execution_info.status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED
