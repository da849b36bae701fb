"""The worker protocol, driven with raw Poll*/Respond* calls: what a poll hands out, unhandled commands,
and tasks a worker takes but never answers (they time out and go to another worker)."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio.api.command.v1 import Command, CompleteWorkflowExecutionCommandAttributes
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import CommandType, EventType, TimeoutType, WorkflowTaskFailedCause
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    PollActivityTaskQueueRequest,
    PollActivityTaskQueueResponse,
    PollWorkflowTaskQueueRequest,
    PollWorkflowTaskQueueResponse,
    RespondWorkflowTaskCompletedRequest,
    SignalWorkflowExecutionRequest,
)
from temporalio.client import Client
from temporalio.service import RPCStatusCode

from tests.e2e.activities import E2EActivities
from tests.e2e.helpers import (
    NAMESPACE,
    decode_all,
    event_types,
    events_of,
    expect_rpc_error,
    history_events,
    one_event,
    running_worker,
    seconds,
    type_names,
    unique_id,
    wait_for_event,
)
from tests.e2e.workflows import ActivityCall, ActivityWorkflow, EchoWorkflow, SignalWorkflow

E = EventType
COMPLETE = Command(
    command_type=CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
    complete_workflow_execution_command_attributes=CompleteWorkflowExecutionCommandAttributes(),
)


async def _poll_workflow_task(
    client: Client, task_queue: str, identity: str = "raw-poller"
) -> PollWorkflowTaskQueueResponse:
    resp = await asyncio.wait_for(
        client.workflow_service.poll_workflow_task_queue(
            PollWorkflowTaskQueueRequest(namespace=NAMESPACE, task_queue=TaskQueue(name=task_queue), identity=identity)
        ),
        timeout=30,
    )
    assert resp.task_token, "the poll returned no task"
    return resp


async def _poll_activity_task(client: Client, task_queue: str) -> PollActivityTaskQueueResponse:
    resp = await asyncio.wait_for(
        client.workflow_service.poll_activity_task_queue(
            PollActivityTaskQueueRequest(
                namespace=NAMESPACE, task_queue=TaskQueue(name=task_queue), identity="raw-activity-poller"
            )
        ),
        timeout=30,
    )
    assert resp.task_token, "the poll returned no task"
    return resp


async def _complete(client: Client, token: bytes, commands: list[Command]) -> Any:
    return await client.workflow_service.respond_workflow_task_completed(
        RespondWorkflowTaskCompletedRequest(
            namespace=NAMESPACE, task_token=token, commands=commands, identity="raw-poller"
        )
    )


async def test_polled_workflow_task_contents(client: Client, task_queue: str) -> None:
    handle = await client.start_workflow(EchoWorkflow.run, "in", id=unique_id("poll"), task_queue=task_queue)
    task = await _poll_workflow_task(client, task_queue)
    assert task.workflow_execution.workflow_id == handle.id
    assert task.workflow_execution.run_id == handle.first_execution_run_id
    assert task.workflow_type.name == "EchoWorkflow"
    assert task.attempt == 1
    assert task.previous_started_event_id == 0
    assert task.started_event_id == 3
    assert event_types(task.history.events) == [
        E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    ]
    started = task.history.events[0].workflow_execution_started_event_attributes
    assert decode_all(client, started.input) == ["in"]
    assert task.HasField("scheduled_time") and task.HasField("started_time")
    await _complete(client, task.task_token, [COMPLETE])
    events = await history_events(client, handle.id)
    assert events[-1].event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
    assert one_event(events, E.EVENT_TYPE_WORKFLOW_TASK_STARTED).workflow_task_started_event_attributes.identity == (
        "raw-poller"
    )


async def test_polled_activity_task_contents(client: Client, task_queue: str) -> None:
    wid, activity_queue = unique_id("poll-act"), unique_id("raw-activities")
    call = ActivityCall(
        "echo", ["payload"], task_queue=activity_queue, activity_id="act-1", heartbeat_timeout_seconds=7
    )
    async with running_worker(client, task_queue):
        handle = await client.start_workflow(ActivityWorkflow.run, call, id=wid, task_queue=task_queue)
        task = await _poll_activity_task(client, activity_queue)
        assert task.workflow_execution.workflow_id == wid
        assert task.workflow_execution.run_id == handle.first_execution_run_id
        assert task.workflow_type.name == "ActivityWorkflow"
        assert task.activity_id == "act-1"
        assert task.activity_type.name == "echo"
        assert decode_all(client, task.input) == ["payload"]
        assert task.attempt == 1
        assert task.heartbeat_timeout.ToTimedelta() == seconds(7)
        assert task.start_to_close_timeout.ToTimedelta() == seconds(10)
        assert task.HasField("scheduled_time") and task.HasField("started_time")
        await handle.terminate(reason="cleanup")


async def test_completion_racing_a_signal_is_rejected_as_unhandled_command(client: Client, task_queue: str) -> None:
    handle = await client.start_workflow(SignalWorkflow.run, id=unique_id("unhandled"), task_queue=task_queue)
    first = await _poll_workflow_task(client, task_queue)
    # A signal arrives while the task is out, so "complete the workflow" would lose it.
    await client.workflow_service.signal_workflow_execution(
        SignalWorkflowExecutionRequest(
            namespace=NAMESPACE, workflow_execution=WorkflowExecution(workflow_id=handle.id), signal_name="add"
        )
    )
    err = await expect_rpc_error(_complete(client, first.task_token, [COMPLETE]), RPCStatusCode.INVALID_ARGUMENT)
    assert "unhandledcommand" in err.message.lower().replace(" ", "")

    events = await history_events(client, handle.id)
    failed = one_event(events, E.EVENT_TYPE_WORKFLOW_TASK_FAILED).workflow_task_failed_event_attributes
    assert failed.cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND
    assert not events_of(events, E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)

    # The next task carries the signal; completing it now closes the workflow.
    second = await _poll_workflow_task(client, task_queue)
    assert E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED in event_types(second.history.events)
    await _complete(client, second.task_token, [COMPLETE])
    events = await history_events(client, handle.id)
    assert events[-1].event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, type_names(events)


async def test_abandoned_workflow_task_times_out_and_is_redelivered(client: Client, task_queue: str) -> None:
    handle = await client.start_workflow(
        EchoWorkflow.run, "second try", id=unique_id("wft-timeout"), task_queue=task_queue, task_timeout=seconds(1)
    )
    await _poll_workflow_task(client, task_queue, identity="vanishing-worker")  # ... and never answer
    async with running_worker(client, task_queue, identity="healthy-worker"):
        assert await handle.result() == "second try"
    events = await history_events(client, handle.id)
    timed_out = one_event(events, E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT).workflow_task_timed_out_event_attributes
    assert timed_out.timeout_type == TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE
    completed = one_event(events, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED).workflow_task_completed_event_attributes
    assert completed.identity == "healthy-worker"


async def test_abandoned_activity_task_is_retried_elsewhere(
    client: Client, task_queue: str, activities: E2EActivities
) -> None:
    wid = unique_id("act-abandoned")
    call = ActivityCall("echo", ["retried"], start_to_close_seconds=1, max_attempts=3)
    async with running_worker(client, task_queue, with_activities=False):
        handle = await client.start_workflow(ActivityWorkflow.run, call, id=wid, task_queue=task_queue)
        await wait_for_event(client, wid, E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    # The first attempt goes to a raw poller that never answers ...
    abandoned = await _poll_activity_task(client, task_queue)
    assert abandoned.attempt == 1
    # ... so after its start-to-close timeout the retry goes to a real worker.
    async with running_worker(client, task_queue, activities=activities):
        assert await handle.result() == "retried"
    started = one_event(await history_events(client, wid), E.EVENT_TYPE_ACTIVITY_TASK_STARTED)
    assert started.activity_task_started_event_attributes.attempt == 2
    assert started.activity_task_started_event_attributes.last_failure.timeout_failure_info.timeout_type == (
        TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE
    )
