"""Activity retry policy: intervals, backoff, maximum interval, maximum attempts, non-retryable
error types, a failure's own next_retry_delay, the server's default policy; what the next
attempt receives; retries kept out of history; the pending activity in DescribeWorkflowExecution."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.api.enums.v1 import EventType, PendingActivityState, RetryState
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError

from tests.e2e.helpers import decode_all, history_events, one_event, seconds, unique_id
from tests.failures.activities import FailureActivities
from tests.failures.helpers import (
    assert_types,
    failure_worker,
    gap,
    pending_activity,
    terminate_quietly,
)
from tests.failures.workflows import ActivityCall, ActivityWorkflow, Retry

E = EventType

#: Slack for timer precision when checking that a retry waited *at least* its interval.
EARLY = 0.05

ACTIVITY_FAILED = [
    E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
    E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
    E.EVENT_TYPE_ACTIVITY_TASK_STARTED,
    E.EVENT_TYPE_ACTIVITY_TASK_FAILED,
    E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
]
ACTIVITY_COMPLETED = [
    *ACTIVITY_FAILED[:6],
    E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
    *ACTIVITY_FAILED[7:10],
    E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
]


async def test_retry_intervals_follow_the_policy(
    client: Client, task_queue: str, activities: FailureActivities
) -> None:
    wid = unique_id("retry-intervals")
    # Uncapped intervals would be 0.2, 0.6, 1.8, 5.4 s; maximum_interval caps them at 0.5 s.
    retry = Retry(initial_interval=0.2, backoff_coefficient=3, maximum_interval=0.5, maximum_attempts=5)
    call = ActivityCall("fail_with_type", ["Boom"], retry=retry)
    async with failure_worker(client, task_queue, activities):
        with pytest.raises(WorkflowFailureError) as info:
            await client.execute_workflow(ActivityWorkflow.run, call, id=wid, task_queue=task_queue)
    err = info.value.cause
    assert isinstance(err, ActivityError) and err.retry_state == RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED
    assert isinstance(err.cause, ApplicationError) and err.cause.message == "attempt 5 fails with Boom"

    starts = [a.started_at for a in activities.attempts]
    assert [a.attempt for a in activities.attempts] == [1, 2, 3, 4, 5]
    gaps = [later - earlier for earlier, later in zip(starts, starts[1:], strict=False)]
    for observed, expected in zip(gaps, [0.2, 0.5, 0.5, 0.5], strict=True):
        assert observed >= expected - EARLY, f"retried too early: gaps {gaps}"
    # The cap applied: the fourth retry did not wait the uncapped 5.4 s.
    assert gaps[3] < 3.0, f"maximum_interval ignored: gaps {gaps}"

    events = await history_events(client, wid)
    assert_types(events, ACTIVITY_FAILED)  # one started event, whatever the number of attempts
    scheduled = one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED).activity_task_scheduled_event_attributes
    policy = scheduled.retry_policy
    assert policy.initial_interval.ToTimedelta() == seconds(0.2)
    assert policy.backoff_coefficient == 3
    assert policy.maximum_interval.ToTimedelta() == seconds(0.5)
    assert policy.maximum_attempts == 5
    started = one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_STARTED).activity_task_started_event_attributes
    assert started.attempt == 5
    assert started.last_failure.message == "attempt 4 fails with Boom"
    failed = one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_FAILED).activity_task_failed_event_attributes
    assert failed.retry_state == RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED
    assert failed.failure.message == "attempt 5 fails with Boom"
    assert failed.failure.application_failure_info.type == "Boom"


async def test_non_retryable_error_types_stop_retries(
    client: Client, task_queue: str, activities: FailureActivities
) -> None:
    wid = unique_id("non-retryable")
    retry = Retry(initial_interval=0.1, maximum_attempts=0, non_retryable_error_types=["Fatal"])
    call = ActivityCall("fail_with_type", ["Fatal"], retry=retry)
    async with failure_worker(client, task_queue, activities):
        with pytest.raises(WorkflowFailureError) as info:
            await client.execute_workflow(ActivityWorkflow.run, call, id=wid, task_queue=task_queue)
    err = info.value.cause
    assert isinstance(err, ActivityError) and err.retry_state == RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE
    assert len(activities.attempts) == 1
    events = await history_events(client, wid)
    assert_types(events, ACTIVITY_FAILED)
    failed = one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_FAILED).activity_task_failed_event_attributes
    assert failed.retry_state == RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE
    assert failed.failure.application_failure_info.type == "Fatal"
    assert not failed.failure.application_failure_info.non_retryable  # the policy decided, not the error


async def test_next_retry_delay_of_the_failure_overrides_the_policy(
    client: Client, task_queue: str, activities: FailureActivities
) -> None:
    wid = unique_id("next-retry-delay")
    call = ActivityCall("fail_with_next_retry_delay", [1.0], retry=Retry(initial_interval=0.05, maximum_attempts=3))
    async with failure_worker(client, task_queue, activities):
        result = await client.execute_workflow(ActivityWorkflow.run, call, id=wid, task_queue=task_queue)
    assert result == "succeeded on attempt 2"
    first, second = activities.attempts
    assert second.started_at - first.started_at >= 1.0 - EARLY
    events = await history_events(client, wid)
    assert_types(events, ACTIVITY_COMPLETED)
    started = one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_STARTED).activity_task_started_event_attributes
    assert started.attempt == 2
    assert started.last_failure.application_failure_info.next_retry_delay.ToTimedelta() == seconds(1)


async def test_default_retry_policy_when_none_is_given(
    client: Client, task_queue: str, activities: FailureActivities
) -> None:
    wid = unique_id("default-retry")
    call = ActivityCall("flaky", [2], retry=None)
    async with failure_worker(client, task_queue, activities):
        result = await client.execute_workflow(ActivityWorkflow.run, call, id=wid, task_queue=task_queue)
    assert result == "succeeded on attempt 2"
    first, second = activities.attempts
    assert second.started_at - first.started_at >= 1.0 - EARLY  # the default initial interval
    events = await history_events(client, wid)
    assert_types(events, ACTIVITY_COMPLETED)
    policy = one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED).activity_task_scheduled_event_attributes
    policy = policy.retry_policy
    assert policy.initial_interval.ToTimedelta() == seconds(1)
    assert policy.backoff_coefficient == 2.0
    assert policy.maximum_interval.ToTimedelta() == seconds(100)
    assert policy.maximum_attempts == 0
    assert list(policy.non_retryable_error_types) == []
    # Workflows, unlike activities, get no retry policy by default.
    started = events[0].workflow_execution_started_event_attributes
    assert not started.HasField("retry_policy")


async def test_attempt_last_failure_and_heartbeat_details_reach_the_next_attempt(
    client: Client, task_queue: str, activities: FailureActivities
) -> None:
    wid = unique_id("next-attempt")
    call = ActivityCall("flaky", [3], retry=Retry(initial_interval=0.1, maximum_attempts=5))
    async with failure_worker(client, task_queue, activities):
        result = await client.execute_workflow(ActivityWorkflow.run, call, id=wid, task_queue=task_queue)
    assert result == "succeeded on attempt 3"
    assert [(a.attempt, a.heartbeat_details) for a in activities.attempts] == [
        (1, []),
        (2, ["hb-1"]),
        (3, ["hb-2"]),
    ]
    events = await history_events(client, wid)
    # Failed attempts are retried inside the server: the history shows only the final outcome.
    assert_types(events, ACTIVITY_COMPLETED)
    started = one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_STARTED).activity_task_started_event_attributes
    assert started.attempt == 3
    assert started.last_failure.message == "attempt 2 fails"
    assert started.last_failure.application_failure_info.type == "Flaky"
    assert decode_all(client, started.last_failure.application_failure_info.details) == ["detail-2"]


async def test_describe_shows_the_pending_retry(client: Client, task_queue: str, activities: FailureActivities) -> None:
    wid = unique_id("describe-retry")
    # A long retry interval keeps the activity waiting for attempt 2 while we look at it.
    call = ActivityCall("flaky", [10], retry=Retry(initial_interval=30, maximum_attempts=5))
    async with failure_worker(client, task_queue, activities):
        handle = await client.start_workflow(ActivityWorkflow.run, call, id=wid, task_queue=task_queue)
        try:
            info = await pending_activity(client, wid, lambda p: p.attempt == 2, what="attempt 2 to be pending")
            assert info.activity_type.name == "flaky"
            assert info.state == PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED
            assert info.maximum_attempts == 5
            assert info.last_failure.message == "attempt 1 fails"
            assert info.last_failure.application_failure_info.type == "Flaky"
            assert decode_all(client, info.heartbeat_details) == ["hb-1"]
            assert info.HasField("last_heartbeat_time")
            assert not info.HasField("last_started_time")  # reset between attempts
            assert info.last_worker_identity == client.identity
            completed = info.last_attempt_complete_time.ToDatetime()
            next_attempt = info.next_attempt_schedule_time.ToDatetime()
            assert seconds(29) <= next_attempt - completed <= seconds(31)
            assert info.scheduled_time == info.next_attempt_schedule_time
            assert seconds(29.9) <= info.current_retry_interval.ToTimedelta() <= seconds(30.1)
            # The server completes the policy: maximum_interval defaults to 100 x initial_interval.
            assert info.activity_options.retry_policy.maximum_interval.ToTimedelta() == seconds(3000)
            # Still only the scheduled event: nothing about the failed attempt is in history.
            events = await history_events(client, wid)
            assert events[-1].event_type == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        finally:
            await terminate_quietly(handle)
    assert len(activities.attempts) == 1


async def test_started_event_records_when_the_last_attempt_started(
    client: Client, task_queue: str, activities: FailureActivities
) -> None:
    wid = unique_id("started-time")
    call = ActivityCall("stall", [None], start_to_close=30)
    async with failure_worker(client, task_queue, activities):
        handle = await client.start_workflow(ActivityWorkflow.run, call, id=wid, task_queue=task_queue)
        await activities.started.wait()
        await asyncio.sleep(1.0)  # the attempt runs for (at least) a second
        activities.release.set()
        assert await handle.result() == "released"
    events = await history_events(client, wid)
    # The started event is only written when the attempt closes, but with the time it started.
    started = one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_STARTED)
    completed = one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
    assert completed.event_id == started.event_id + 1
    assert gap(completed, started) >= seconds(0.95)
