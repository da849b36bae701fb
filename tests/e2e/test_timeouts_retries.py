"""Timeouts, retries and failure propagation: activity retries and timeouts, workflow run timeout,
workflow task failures, workflow retry policy, timer cancellation, child failures and parent close policies."""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import EventType, RetryState, TimeoutType, WorkflowExecutionStatus
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, TimeoutError
from temporalio.exceptions import TimeoutType as SdkTimeoutType

from tests.e2e.activities import E2EActivities
from tests.e2e.helpers import (
    decode_all,
    describe,
    events_of,
    history_events,
    one_event,
    running_worker,
    seconds,
    status_of,
    type_names,
    unique_id,
    wait_for,
    wait_for_event,
)
from tests.e2e.workflows import (
    AbandoningParentWorkflow,
    ActivityCall,
    ActivityWorkflow,
    BrokenWorkflow,
    FailingChildWorkflow,
    FlakyWorkflow,
    SignalWorkflow,
    TimerCancelWorkflow,
)

E = EventType
Status = WorkflowExecutionStatus


async def test_activity_retries_until_success(client: Client, task_queue: str, activities: E2EActivities) -> None:
    wid = unique_id("act-retry")
    async with running_worker(client, task_queue, activities=activities):
        result = await client.execute_workflow(
            ActivityWorkflow.run, ActivityCall("flaky", [3], max_attempts=5), id=wid, task_queue=task_queue
        )
    assert result == "succeeded on attempt 3"
    events = await history_events(client, wid)
    # Failed attempts are retried inside the server: only the last attempt is in the history.
    started = one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_STARTED).activity_task_started_event_attributes
    assert started.attempt == 3
    assert started.last_failure.message == "attempt 2 fails"
    assert not events_of(events, E.EVENT_TYPE_ACTIVITY_TASK_FAILED)
    one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)


async def test_activity_retries_exhausted(client: Client, task_queue: str, activities: E2EActivities) -> None:
    wid = unique_id("act-exhaust")
    async with running_worker(client, task_queue, activities=activities):
        with pytest.raises(WorkflowFailureError) as info:
            await client.execute_workflow(
                ActivityWorkflow.run, ActivityCall("flaky", [10], max_attempts=2), id=wid, task_queue=task_queue
            )
    assert isinstance(info.value.cause, ActivityError)
    assert info.value.cause.retry_state == RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED
    failed = one_event(await history_events(client, wid), E.EVENT_TYPE_ACTIVITY_TASK_FAILED)
    assert failed.activity_task_failed_event_attributes.failure.message == "attempt 2 fails"
    assert failed.activity_task_failed_event_attributes.retry_state == RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED


async def test_activity_heartbeat_timeout(client: Client, task_queue: str, activities: E2EActivities) -> None:
    wid = unique_id("hb-timeout")
    call = ActivityCall("stall", ["last-words"], heartbeat_timeout_seconds=1, start_to_close_seconds=30)
    async with running_worker(client, task_queue, activities=activities):
        with pytest.raises(WorkflowFailureError) as info:
            await client.execute_workflow(ActivityWorkflow.run, call, id=wid, task_queue=task_queue)
        activities.release.set()
    activity_error = info.value.cause
    assert isinstance(activity_error, ActivityError)
    timeout = activity_error.cause
    assert isinstance(timeout, TimeoutError)
    assert timeout.type == SdkTimeoutType.HEARTBEAT
    # The last heartbeat's details travel with the timeout failure.
    assert list(timeout.last_heartbeat_details) == ["last-words"]
    timed_out = one_event(await history_events(client, wid), E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT)
    failure = timed_out.activity_task_timed_out_event_attributes.failure
    assert failure.timeout_failure_info.timeout_type == TimeoutType.TIMEOUT_TYPE_HEARTBEAT
    assert decode_all(client, failure.timeout_failure_info.last_heartbeat_details) == ["last-words"]


async def test_activity_start_to_close_timeout(client: Client, task_queue: str, activities: E2EActivities) -> None:
    wid = unique_id("stc-timeout")
    call = ActivityCall("stall", ["x"], start_to_close_seconds=1)
    async with running_worker(client, task_queue, activities=activities):
        with pytest.raises(WorkflowFailureError) as info:
            await client.execute_workflow(ActivityWorkflow.run, call, id=wid, task_queue=task_queue)
        activities.release.set()
    assert isinstance(info.value.cause, ActivityError)
    assert isinstance(info.value.cause.cause, TimeoutError)
    assert info.value.cause.cause.type == SdkTimeoutType.START_TO_CLOSE
    timed_out = one_event(await history_events(client, wid), E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT)
    failure = timed_out.activity_task_timed_out_event_attributes.failure
    assert failure.timeout_failure_info.timeout_type == TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE


async def test_workflow_run_timeout(client: Client, task_queue: str) -> None:
    wid = unique_id("run-timeout")
    handle = await client.start_workflow(SignalWorkflow.run, id=wid, task_queue=task_queue, run_timeout=seconds(1))
    with pytest.raises(WorkflowFailureError) as info:
        await handle.result()
    assert isinstance(info.value.cause, TimeoutError)
    events = await history_events(client, wid)
    assert events[-1].event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT, type_names(events)
    assert events[-1].event_time.ToDatetime() - events[0].event_time.ToDatetime() >= seconds(0.9)
    assert await status_of(client, wid) == Status.WORKFLOW_EXECUTION_STATUS_TIMED_OUT


async def test_workflow_task_failure_keeps_workflow_running(client: Client, task_queue: str) -> None:
    wid = unique_id("wft-fail")
    async with running_worker(client, task_queue):
        handle = await client.start_workflow(BrokenWorkflow.run, id=wid, task_queue=task_queue)
        events = await wait_for_event(client, wid, E.EVENT_TYPE_WORKFLOW_TASK_FAILED)
        failed = one_event(events, E.EVENT_TYPE_WORKFLOW_TASK_FAILED).workflow_task_failed_event_attributes
        assert "broken on purpose" in failed.failure.message
        assert await status_of(client, wid) == Status.WORKFLOW_EXECUTION_STATUS_RUNNING

        async def retried() -> bool:
            pending = (await describe(client, wid)).pending_workflow_task
            return pending.attempt >= 2

        # The server retries the task; retries are not written to the history.
        await wait_for(retried, what="a second workflow task attempt")
        assert len(events_of(await history_events(client, wid), E.EVENT_TYPE_WORKFLOW_TASK_FAILED)) == 1
        await handle.terminate(reason="cleanup")


async def test_workflow_retry_policy(client: Client, task_queue: str) -> None:
    wid = unique_id("wf-retry")
    retry = RetryPolicy(maximum_attempts=3, initial_interval=seconds(0.1))
    async with running_worker(client, task_queue):
        handle = await client.start_workflow(FlakyWorkflow.run, id=wid, task_queue=task_queue, retry_policy=retry)
        assert await handle.result() == "workflow succeeded on attempt 2"
    first_run = handle.first_execution_run_id
    assert first_run
    first = await history_events(client, wid, first_run)
    last = first[-1]
    assert last.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED, type_names(first)
    second_run = last.workflow_execution_failed_event_attributes.new_execution_run_id
    assert second_run and second_run != first_run
    assert await status_of(client, wid, first_run) == Status.WORKFLOW_EXECUTION_STATUS_FAILED
    started = (await history_events(client, wid, second_run))[0].workflow_execution_started_event_attributes
    assert started.attempt == 2
    assert started.first_execution_run_id == first_run
    assert started.continued_execution_run_id == first_run
    assert started.continued_failure.message == "workflow attempt 1 fails"
    assert await status_of(client, wid) == Status.WORKFLOW_EXECUTION_STATUS_COMPLETED


async def test_cancelled_timer(client: Client, task_queue: str) -> None:
    wid = unique_id("timer-cancel")
    async with running_worker(client, task_queue):
        handle = await client.start_workflow(TimerCancelWorkflow.run, id=wid, task_queue=task_queue)
        await wait_for_event(client, wid, E.EVENT_TYPE_TIMER_STARTED)
        await handle.signal(TimerCancelWorkflow.finish)
        assert await handle.result() == "finished before timeout"
    events = await history_events(client, wid)
    started = one_event(events, E.EVENT_TYPE_TIMER_STARTED)
    canceled = one_event(events, E.EVENT_TYPE_TIMER_CANCELED).timer_canceled_event_attributes
    assert canceled.timer_id == started.timer_started_event_attributes.timer_id
    assert canceled.started_event_id == started.event_id
    assert not events_of(events, E.EVENT_TYPE_TIMER_FIRED)


async def test_child_failure_reaches_parent(client: Client, task_queue: str) -> None:
    wid, child_id = unique_id("parent-f"), unique_id("child-f")
    async with running_worker(client, task_queue):
        result = await client.execute_workflow(FailingChildWorkflow.run, child_id, id=wid, task_queue=task_queue)
    assert result == "child failed: child broke"
    failed = one_event(await history_events(client, wid), E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED)
    attrs = failed.child_workflow_execution_failed_event_attributes
    assert attrs.workflow_execution.workflow_id == child_id
    assert attrs.failure.message == "child broke"
    assert await status_of(client, child_id) == Status.WORKFLOW_EXECUTION_STATUS_FAILED


@pytest.mark.parametrize("abandon", [False, True], ids=["terminate", "abandon"])
async def test_parent_close_policy(client: Client, task_queue: str, abandon: bool) -> None:
    wid, child_id = unique_id("pcp-parent"), unique_id("pcp-child")
    async with running_worker(client, task_queue):
        result = await client.execute_workflow(
            AbandoningParentWorkflow.run, args=[child_id, abandon], id=wid, task_queue=task_queue
        )
        assert result == "parent done"
        if abandon:
            assert await status_of(client, child_id) == Status.WORKFLOW_EXECUTION_STATUS_RUNNING
            await client.get_workflow_handle(child_id).signal(SignalWorkflow.finish)
            assert await client.get_workflow_handle(child_id).result() == []
        else:

            async def child_terminated() -> bool:
                return await status_of(client, child_id) == Status.WORKFLOW_EXECUTION_STATUS_TERMINATED

            await wait_for(child_terminated, what="the child to be terminated with its parent")
