"""Workflow task completions with commands no SDK sends: answered as the reference answers them.

Run against the reference as well (``GNOMON_TEST_TARGET=reference``).
"""

from __future__ import annotations

import asyncio

import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.command.v1 import Command, StartTimerCommandAttributes
from temporalio.api.common.v1 import WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import CommandType, EventType, PendingWorkflowTaskState, WorkflowTaskFailedCause
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    PollWorkflowTaskQueueRequest,
    PollWorkflowTaskQueueResponse,
    RespondWorkflowTaskCompletedRequest,
    StartWorkflowExecutionRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from tests.e2e.helpers import NAMESPACE, event_types, history_events, unique_id
from tests.e2e.test_task_protocol import COMPLETE

E = EventType
START_TIMER = StartTimerCommandAttributes(timer_id="t", start_to_fire_timeout=Duration(seconds=60))


async def _start(client: Client, task_queue: str, task_timeout: float = 10.0) -> str:
    workflow_id = unique_id("commands")
    await client.workflow_service.start_workflow_execution(
        StartWorkflowExecutionRequest(
            namespace=NAMESPACE,
            workflow_id=workflow_id,
            workflow_type=WorkflowType(name="RawWorkflow"),
            task_queue=TaskQueue(name=task_queue),
            request_id=unique_id("request"),
            workflow_task_timeout=Duration(seconds=int(task_timeout)),
        )
    )
    return workflow_id


async def _poll(client: Client, task_queue: str) -> PollWorkflowTaskQueueResponse:
    task = await asyncio.wait_for(
        client.workflow_service.poll_workflow_task_queue(
            PollWorkflowTaskQueueRequest(namespace=NAMESPACE, task_queue=TaskQueue(name=task_queue), identity="raw")
        ),
        timeout=30,
    )
    assert task.task_token, "the poll returned no task"
    return task


async def _complete(client: Client, token: bytes, commands: list[Command]) -> None:
    await client.workflow_service.respond_workflow_task_completed(
        RespondWorkflowTaskCompletedRequest(namespace=NAMESPACE, task_token=token, commands=commands, identity="raw")
    )


async def _refused(client: Client, token: bytes, commands: list[Command]) -> RPCError:
    with pytest.raises(RPCError) as caught:
        await _complete(client, token, commands)
    assert caught.value.status == RPCStatusCode.INVALID_ARGUMENT, caught.value.message
    return caught.value


async def test_unknown_command_type_leaves_the_task_open(client: Client, task_queue: str) -> None:
    workflow_id = await _start(client, task_queue)
    task = await _poll(client, task_queue)
    unknown = Command(command_type=99, start_timer_command_attributes=START_TIMER)  # type: ignore[arg-type]
    error = await _refused(client, task.task_token, [unknown])
    assert "99" in error.message
    # Nothing was recorded, and the same token still completes the task.
    assert E.EVENT_TYPE_WORKFLOW_TASK_FAILED not in event_types(await history_events(client, workflow_id))
    await _complete(client, task.task_token, [COMPLETE])
    assert (await history_events(client, workflow_id))[-1].event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED


@pytest.mark.parametrize(
    ("command_type", "cause"),
    [
        (
            CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
            WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES,
        ),
        (
            CommandType.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION,
            WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SIGNAL_WORKFLOW_EXECUTION_ATTRIBUTES,
        ),
        (
            CommandType.COMMAND_TYPE_CANCEL_TIMER,
            WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_BAD_CANCEL_TIMER_ATTRIBUTES,
        ),
    ],
    ids=["schedule-activity", "signal-external", "cancel-timer"],
)
async def test_attributes_of_another_command_fail_the_task(
    client: Client, task_queue: str, command_type: CommandType.ValueType, cause: WorkflowTaskFailedCause.ValueType
) -> None:
    workflow_id = await _start(client, task_queue)
    task = await _poll(client, task_queue)
    mismatched = Command(command_type=command_type, start_timer_command_attributes=START_TIMER)
    error = await _refused(client, task.task_token, [mismatched])
    assert "is not set on" in error.message
    events = await history_events(client, workflow_id)
    failed = [e for e in events if e.event_type == E.EVENT_TYPE_WORKFLOW_TASK_FAILED]
    assert [e.workflow_task_failed_event_attributes.cause for e in failed] == [cause]
    # The next attempt is offered at once, not after the task timeout.
    retry = await asyncio.wait_for(_poll(client, task_queue), timeout=5)
    assert retry.attempt == 2
    await _complete(client, retry.task_token, [COMPLETE])


@pytest.mark.timeout(60)
async def test_a_retry_refused_again_is_left_to_time_out(client: Client, task_queue: str) -> None:
    workflow_id = await _start(client, task_queue, task_timeout=2)
    bad = Command(
        command_type=CommandType.COMMAND_TYPE_START_TIMER, start_timer_command_attributes=StartTimerCommandAttributes()
    )
    await _refused(client, (await _poll(client, task_queue)).task_token, [bad])
    second = await _poll(client, task_queue)
    assert second.attempt == 2
    await _refused(client, second.task_token, [bad])
    # Not failed again: the attempt stays started until its timeout, then attempt 3 is offered.
    description = await client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(namespace=NAMESPACE, execution=WorkflowExecution(workflow_id=workflow_id))
    )
    pending = description.pending_workflow_task
    assert (pending.state, pending.attempt) == (PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_STARTED, 2)
    third = await _poll(client, task_queue)
    assert third.attempt == 3
    await _complete(client, third.task_token, [COMPLETE])
