"""Activity timeouts: schedule-to-start, start-to-close, schedule-to-close and heartbeat, each
ending in ActivityTaskTimedOut with the right timeout type, retry state and failure chain; and
an activity whose worker dies, retried after its timeout on another worker."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType, PendingActivityState, RetryState, TimeoutType
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ActivityError, TimeoutError
from temporalio.exceptions import TimeoutType as SdkTimeoutType

from tests.e2e.helpers import decode_all, history_events, one_event, seconds, unique_id
from tests.failures.activities import FailureActivities
from tests.failures.helpers import (
    WorkerProcess,
    assert_types,
    failure_worker,
    gap,
    pending_activity,
)
from tests.failures.workflows import ActivityCall, ActivityWorkflow, Retry

E = EventType
NOT_ENOUGH_TIME = "Not enough time to schedule next retry before activity ScheduleToClose timeout, giving up retrying"


async def run_failing(client: Client, task_queue: str, call: ActivityCall, wid: str) -> ActivityError:
    """Run ActivityWorkflow expecting the activity failure to fail it; return the ActivityError."""
    with pytest.raises(WorkflowFailureError) as info:
        await client.execute_workflow(ActivityWorkflow.run, call, id=wid, task_queue=task_queue)
    assert isinstance(info.value.cause, ActivityError), info.value.cause
    return info.value.cause


TIMED_OUT_ACTIVITY = [
    E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
    E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
    E.EVENT_TYPE_ACTIVITY_TASK_STARTED,
    E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
    E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
]


async def test_schedule_to_start_timeout(client: Client, task_queue: str, activities: FailureActivities) -> None:
    wid = unique_id("s2s")
    # Nobody polls the activity's queue; schedule-to-start timeouts are not retried whatever the policy.
    call = ActivityCall(
        "succeed", ["x"], task_queue=f"{task_queue}-nobody", schedule_to_start=1, retry=Retry(maximum_attempts=5)
    )
    async with failure_worker(client, task_queue, activities):
        err = await run_failing(client, task_queue, call, wid)
    assert err.retry_state == RetryState.RETRY_STATE_TIMEOUT
    assert isinstance(err.cause, TimeoutError) and err.cause.type == SdkTimeoutType.SCHEDULE_TO_START
    assert activities.attempts == []

    events = await history_events(client, wid)
    assert_types(events, [t for t in TIMED_OUT_ACTIVITY if t != E.EVENT_TYPE_ACTIVITY_TASK_STARTED])
    scheduled = one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    timed_out = one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT)
    attrs = timed_out.activity_task_timed_out_event_attributes
    assert attrs.scheduled_event_id == scheduled.event_id
    assert attrs.started_event_id == 0
    assert attrs.retry_state == RetryState.RETRY_STATE_TIMEOUT
    assert attrs.failure.message == "activity ScheduleToStart timeout"
    assert attrs.failure.timeout_failure_info.timeout_type == TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START
    assert not attrs.failure.HasField("cause")
    assert gap(timed_out, scheduled) >= seconds(0.95)


async def test_start_to_close_timeout_is_retried_then_exhausts(
    client: Client, task_queue: str, activities: FailureActivities
) -> None:
    wid = unique_id("s2c")
    call = ActivityCall("stall", [None], start_to_close=1, retry=Retry(initial_interval=0.1, maximum_attempts=2))
    async with failure_worker(client, task_queue, activities):
        err = await run_failing(client, task_queue, call, wid)
    assert err.retry_state == RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED
    assert isinstance(err.cause, TimeoutError) and err.cause.type == SdkTimeoutType.START_TO_CLOSE
    # Both attempts ran (the first timed out and was retried by the server).
    assert [a.attempt for a in activities.attempts] == [1, 2]

    events = await history_events(client, wid)
    assert_types(events, TIMED_OUT_ACTIVITY)
    scheduled = one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    started = one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_STARTED)
    timed_out = one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT).activity_task_timed_out_event_attributes
    # Only the last attempt is in history, carrying the previous attempt's failure.
    assert started.activity_task_started_event_attributes.attempt == 2
    last_failure = started.activity_task_started_event_attributes.last_failure
    assert last_failure.timeout_failure_info.timeout_type == TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE
    assert timed_out.scheduled_event_id == scheduled.event_id
    assert timed_out.started_event_id == started.event_id
    assert timed_out.retry_state == RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED
    assert timed_out.failure.message == "activity StartToClose timeout"
    assert timed_out.failure.timeout_failure_info.timeout_type == TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE


async def test_schedule_to_close_timeout(client: Client, task_queue: str, activities: FailureActivities) -> None:
    wid = unique_id("sched2close")
    call = ActivityCall("stall", [None], start_to_close=10, schedule_to_close=1, retry=Retry(maximum_attempts=0))
    async with failure_worker(client, task_queue, activities):
        err = await run_failing(client, task_queue, call, wid)
    assert isinstance(err.cause, TimeoutError) and err.cause.type == SdkTimeoutType.SCHEDULE_TO_CLOSE
    assert err.retry_state == RetryState.RETRY_STATE_TIMEOUT
    events = await history_events(client, wid)
    assert_types(events, TIMED_OUT_ACTIVITY)
    scheduled = one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    timed_out = one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT)
    attrs = timed_out.activity_task_timed_out_event_attributes
    # Start-to-close is capped to the schedule-to-close deadline, so both timers fall due at the
    # same instant; the reference's message depends on which of them it processes first.
    assert attrs.failure.message in {"activity ScheduleToClose timeout", NOT_ENOUGH_TIME}
    assert attrs.failure.timeout_failure_info.timeout_type == TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE
    assert attrs.retry_state == RetryState.RETRY_STATE_TIMEOUT
    # The server caps start-to-close at schedule-to-close when it schedules the activity.
    sched = scheduled.activity_task_scheduled_event_attributes
    assert sched.schedule_to_close_timeout.ToTimedelta() == seconds(1)
    assert sched.start_to_close_timeout.ToTimedelta() == seconds(1)
    assert gap(timed_out, scheduled) >= seconds(0.95)


async def test_start_to_close_timeout_without_time_for_a_retry(
    client: Client, task_queue: str, activities: FailureActivities
) -> None:
    wid = unique_id("s2c-no-time")
    # Attempt 1 times out (start-to-close, 1 s); its retry (1 s later) would start after the
    # 1.5 s schedule-to-close deadline, so the server gives up with a schedule-to-close timeout.
    call = ActivityCall(
        "stall", [None], start_to_close=1, schedule_to_close=1.5, retry=Retry(initial_interval=1, maximum_attempts=0)
    )
    async with failure_worker(client, task_queue, activities):
        err = await run_failing(client, task_queue, call, wid)
    assert err.retry_state == RetryState.RETRY_STATE_TIMEOUT
    assert isinstance(err.cause, TimeoutError) and err.cause.type == SdkTimeoutType.SCHEDULE_TO_CLOSE
    assert len(activities.attempts) == 1
    events = await history_events(client, wid)
    assert_types(events, TIMED_OUT_ACTIVITY)
    started = one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_STARTED)
    timed_out = one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT)
    attrs = timed_out.activity_task_timed_out_event_attributes
    assert attrs.failure.message == NOT_ENOUGH_TIME
    assert attrs.failure.timeout_failure_info.timeout_type == TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE
    assert attrs.retry_state == RetryState.RETRY_STATE_TIMEOUT
    # It gave up when the start-to-close timeout fired, not at the schedule-to-close deadline.
    assert seconds(0.95) <= gap(timed_out, started) < seconds(1.5)


async def test_retry_that_would_pass_schedule_to_close_fails_with_timeout_state(
    client: Client, task_queue: str, activities: FailureActivities
) -> None:
    wid = unique_id("s2c-retry")
    # Attempt 1 fails at once; the next retry (in 1 s) would start after the 0.5 s schedule-to-close deadline.
    call = ActivityCall(
        "fail_with_type", ["Boom"], schedule_to_close=0.5, retry=Retry(initial_interval=1, maximum_attempts=0)
    )
    async with failure_worker(client, task_queue, activities):
        err = await run_failing(client, task_queue, call, wid)
    assert err.retry_state == RetryState.RETRY_STATE_TIMEOUT
    assert len(activities.attempts) == 1
    events = await history_events(client, wid)
    failed = one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_FAILED).activity_task_failed_event_attributes
    assert failed.retry_state == RetryState.RETRY_STATE_TIMEOUT
    assert failed.failure.message == "attempt 1 fails with Boom"
    assert failed.failure.application_failure_info.type == "Boom"


async def test_heartbeat_timeout_carries_last_details(
    client: Client, task_queue: str, activities: FailureActivities
) -> None:
    wid = unique_id("hb-timeout")
    call = ActivityCall("stall", ["last-words"], start_to_close=30, heartbeat=1, retry=Retry(maximum_attempts=1))
    async with failure_worker(client, task_queue, activities):
        err = await run_failing(client, task_queue, call, wid)
    assert err.retry_state == RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED
    timeout = err.cause
    assert isinstance(timeout, TimeoutError) and timeout.type == SdkTimeoutType.HEARTBEAT
    assert list(timeout.last_heartbeat_details) == ["last-words"]

    events = await history_events(client, wid)
    assert_types(events, TIMED_OUT_ACTIVITY)
    started = one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_STARTED)
    timed_out = one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT)
    attrs = timed_out.activity_task_timed_out_event_attributes
    assert attrs.started_event_id == started.event_id
    assert attrs.retry_state == RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED
    assert attrs.failure.message == "activity Heartbeat timeout"
    assert attrs.failure.timeout_failure_info.timeout_type == TimeoutType.TIMEOUT_TYPE_HEARTBEAT
    assert decode_all(client, attrs.failure.timeout_failure_info.last_heartbeat_details) == ["last-words"]


async def test_heartbeat_timeout_is_retried_with_the_details(
    client: Client, task_queue: str, activities: FailureActivities
) -> None:
    wid = unique_id("hb-retry")
    call = ActivityCall(
        "stall_first_attempt", ["progress-1"], start_to_close=30, heartbeat=1, retry=Retry(maximum_attempts=3)
    )
    async with failure_worker(client, task_queue, activities):
        result = await client.execute_workflow(ActivityWorkflow.run, call, id=wid, task_queue=task_queue)
    # Attempt 2 resumed from attempt 1's last heartbeat.
    assert result == [2, "progress-1"]
    assert [(a.attempt, a.heartbeat_details) for a in activities.attempts] == [(1, []), (2, ["progress-1"])]
    events = await history_events(client, wid)
    started = one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_STARTED).activity_task_started_event_attributes
    assert started.attempt == 2
    assert started.last_failure.timeout_failure_info.timeout_type == TimeoutType.TIMEOUT_TYPE_HEARTBEAT
    one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)


async def test_activity_of_a_dead_worker_is_retried_on_another_worker(
    client: Client, task_queue: str, activities: FailureActivities, tmp_path: Path
) -> None:
    wid = unique_id("dead-worker")
    activity_queue = f"{task_queue}-act"
    call = ActivityCall(
        "stall_first_attempt",
        ["progress-1"],
        task_queue=activity_queue,
        start_to_close=30,
        heartbeat=1,
        retry=Retry(initial_interval=0.1, maximum_attempts=3),
    )
    doomed = await WorkerProcess.start(client.service_client.config.target_host, activity_queue, tmp_path / "m")
    try:
        # Workflows run in this process; the activity goes to the worker process on its own queue.
        async with failure_worker(client, task_queue):
            handle = await client.start_workflow(ActivityWorkflow.run, call, id=wid, task_queue=task_queue)
            assert await doomed.wait_marker() == "attempt 1 progress-1"
            # The heartbeat reached the server before the worker dies.
            info = await pending_activity(
                client, wid, lambda p: p.heartbeat_details.payloads, what="the first attempt's heartbeat"
            )
            assert info.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
            await doomed.kill()
            async with failure_worker(client, activity_queue, activities):
                assert await handle.result() == [2, "progress-1"]
    finally:
        await doomed.kill()
    assert [(a.attempt, a.heartbeat_details) for a in activities.attempts] == [(2, ["progress-1"])]
    events = await history_events(client, wid)
    started = one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_STARTED).activity_task_started_event_attributes
    assert started.attempt == 2
    assert started.identity == client.identity  # the surviving worker, in this process
    assert started.last_failure.timeout_failure_info.timeout_type == TimeoutType.TIMEOUT_TYPE_HEARTBEAT
