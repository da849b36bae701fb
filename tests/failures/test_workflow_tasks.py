"""Workflow task failures and timeouts: WorkflowTaskFailed with the worker's cause and failure,
WorkflowTaskTimedOut (start-to-close, sticky schedule-to-start), and retries with growing attempt
numbers that are not written to history one by one."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType, TimeoutType, WorkflowTaskFailedCause
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import PollWorkflowTaskQueueRequest, RespondWorkflowTaskCompletedRequest
from temporalio.client import Client
from temporalio.service import RPCStatusCode

from tests.e2e.helpers import (
    NAMESPACE,
    describe,
    events_of,
    expect_rpc_error,
    history_events,
    one_event,
    seconds,
    type_names,
    unique_id,
    wait_for,
    wait_for_event,
)
from tests.failures.helpers import assert_types, failure_worker, terminate_quietly
from tests.failures.workflows import (
    FailFirstTasksWorkflow,
    FailUntilAttemptWorkflow,
    NondeterministicWorkflow,
    WaitWorkflow,
)

E = EventType
TASK_TIMEOUT = seconds(1)


async def pending_task_attempt(client: Client, workflow_id: str) -> int:
    return (await describe(client, workflow_id)).pending_workflow_task.attempt


async def test_nondeterminism_fails_the_task_and_retries_without_growing_history(
    client: Client, task_queue: str
) -> None:
    wid = unique_id("nondet")
    # No cache: every task replays from the start, and the replay takes a different path.
    async with failure_worker(client, task_queue, max_cached_workflows=0):
        handle = await client.start_workflow(
            NondeterministicWorkflow.run, id=wid, task_queue=task_queue, task_timeout=TASK_TIMEOUT
        )
        try:
            events = await wait_for_event(client, wid, E.EVENT_TYPE_WORKFLOW_TASK_FAILED)
            failed_event = one_event(events, E.EVENT_TYPE_WORKFLOW_TASK_FAILED)
            failed = failed_event.workflow_task_failed_event_attributes
            assert failed.cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR
            assert "Nondeterminism error" in failed.failure.message
            assert failed.identity == client.identity
            assert failed.scheduled_event_id == failed_event.event_id - 2
            assert failed.started_event_id == failed_event.event_id - 1

            # The SDK reports only the first failure; later attempts time out. The server keeps
            # retrying with growing attempt numbers, without a history event per attempt.
            async def third_attempt() -> bool:
                return await pending_task_attempt(client, wid) >= 3

            await wait_for(third_attempt, what="workflow task attempt 3")
            after = await history_events(client, wid)
            assert len(events_of(after, E.EVENT_TYPE_WORKFLOW_TASK_FAILED)) == 1, type_names(after)
            assert not events_of(after, E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT), type_names(after)
            desc = await describe(client, wid)
            assert desc.workflow_execution_info.history_length == failed_event.event_id
        finally:
            await terminate_quietly(handle)


async def test_failed_tasks_then_success_write_one_failure_and_the_final_attempt(
    client: Client, task_queue: str
) -> None:
    wid = unique_id("wft-fixed")
    async with failure_worker(client, task_queue):
        result = await client.execute_workflow(
            FailFirstTasksWorkflow.run, 2, id=wid, task_queue=task_queue, task_timeout=TASK_TIMEOUT
        )
    assert result == "completed after 2 failed tasks"
    events = await history_events(client, wid)
    assert_types(
        events,
        [
            E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
            E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
            E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
            E.EVENT_TYPE_WORKFLOW_TASK_FAILED,
            E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
            E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
            E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
            E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
        ],
    )
    failed = events[3].workflow_task_failed_event_attributes
    assert failed.cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE
    assert failed.failure.message == "workflow task failure 1 of 2"
    assert failed.failure.application_failure_info.type == "RuntimeError"
    # The retry that finally succeeded is written with its attempt number.
    assert events[1].workflow_task_scheduled_event_attributes.attempt == 1
    assert events[4].workflow_task_scheduled_event_attributes.attempt == 3


async def test_start_to_close_timeout_and_growing_attempts(client: Client, task_queue: str) -> None:
    wid = unique_id("wft-timeout")
    service = client.workflow_service
    handle = await client.start_workflow(
        FailUntilAttemptWorkflow.run, 1, id=wid, task_queue=task_queue, task_timeout=TASK_TIMEOUT
    )
    poll = PollWorkflowTaskQueueRequest(
        namespace=NAMESPACE, task_queue=TaskQueue(name=task_queue), identity="doomed-worker"
    )
    # A "worker" takes the task twice and never answers.
    first = await service.poll_workflow_task_queue(poll)
    assert first.attempt == 1
    second = await service.poll_workflow_task_queue(poll)
    assert second.attempt == 2
    assert (await describe(client, wid)).pending_workflow_task.attempt == 2
    # Answering a task that timed out is refused.
    await expect_rpc_error(
        service.respond_workflow_task_completed(
            RespondWorkflowTaskCompletedRequest(namespace=NAMESPACE, task_token=first.task_token, identity="late")
        ),
        RPCStatusCode.NOT_FOUND,
    )
    async with failure_worker(client, task_queue):
        result = await handle.result()
    assert result["attempt"] == 1  # the *workflow's* attempt, not the task's
    events = await history_events(client, wid)
    assert_types(
        events,
        [
            E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
            E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
            E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
            E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
            E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
            E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
            E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
            E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
        ],
    )
    assert events[2].workflow_task_started_event_attributes.identity == "doomed-worker"
    timed_out = events[3].workflow_task_timed_out_event_attributes
    assert timed_out.timeout_type == TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE
    assert timed_out.scheduled_event_id == 2
    assert timed_out.started_event_id == 3
    assert events[3].event_time.ToDatetime() - events[2].event_time.ToDatetime() >= seconds(0.95)
    # Attempt 2 timed out too, unrecorded; attempt 3 is the one in history.
    assert events[4].workflow_task_scheduled_event_attributes.attempt == 3
    assert events[5].workflow_task_started_event_attributes.identity == client.identity


async def test_sticky_schedule_to_start_timeout_moves_the_task_to_the_normal_queue(
    client: Client, task_queue: str
) -> None:
    wid = unique_id("sticky")
    sticky = failure_worker(client, task_queue, sticky_queue_schedule_to_start_timeout=seconds(1))
    async with sticky:
        handle = await client.start_workflow(WaitWorkflow.run, id=wid, task_queue=task_queue)
        await wait_for_event(client, wid, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
    # The sticky worker is gone (shut down without telling the server): the next task goes to its
    # sticky queue, waits 1 s there, times out and is rescheduled on the normal queue.
    await handle.signal(WaitWorkflow.finish)
    events = await wait_for_event(client, wid, E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT)
    async with failure_worker(client, task_queue):
        assert await handle.result() == "finished"
    events = await history_events(client, wid)
    assert_types(
        events,
        [
            E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
            E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
            E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
            E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
            E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
            E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
            E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
            E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
            E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
            E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
            E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
        ],
    )
    on_sticky = events[5].workflow_task_scheduled_event_attributes
    assert on_sticky.task_queue.kind == 2  # TASK_QUEUE_KIND_STICKY
    assert on_sticky.task_queue.normal_name == task_queue
    timed_out = events[6].workflow_task_timed_out_event_attributes
    assert timed_out.timeout_type == TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START
    assert timed_out.scheduled_event_id == 6
    assert timed_out.started_event_id == 0
    assert events[6].event_time.ToDatetime() - events[5].event_time.ToDatetime() >= seconds(0.95)
    rescheduled = events[7].workflow_task_scheduled_event_attributes
    assert rescheduled.task_queue.name == task_queue
    assert rescheduled.task_queue.kind == 1  # TASK_QUEUE_KIND_NORMAL
    assert rescheduled.attempt == 1  # a sticky timeout is not a failed attempt
