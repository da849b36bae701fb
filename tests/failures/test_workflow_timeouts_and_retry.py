"""Workflow execution and run timeouts, the workflow retry policy (new runs on failure or timeout,
chained to the first run, with backoff), cron schedules, and the options continue-as-new carries."""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import ContinueAsNewInitiator, EventType, RetryState, TimeoutType, WorkflowExecutionStatus
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import RetryPolicy, SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError, TimeoutError

from tests.e2e.helpers import decode, describe, history_events, one_event, seconds, type_names, unique_id, wait_for
from tests.e2e.workflows import KEYWORD_SA
from tests.failures.helpers import assert_types, closed_history, failure_worker, gap, terminate_quietly
from tests.failures.workflows import (
    ContinueAsNewOnceWorkflow,
    CronWorkflow,
    FailUntilAttemptWorkflow,
    HangUntilAttemptWorkflow,
    WaitWorkflow,
)

E = EventType
Status = WorkflowExecutionStatus
Initiator = ContinueAsNewInitiator


async def status_of(client: Client, workflow_id: str, run_id: str = "") -> WorkflowExecutionStatus.ValueType:
    return (await describe(client, workflow_id, run_id)).workflow_execution_info.status


# ---------------------------------------------------------------------------------- timeouts


async def test_execution_timeout(client: Client, task_queue: str) -> None:
    wid = unique_id("exec-timeout")
    async with failure_worker(client, task_queue):
        handle = await client.start_workflow(
            WaitWorkflow.run, id=wid, task_queue=task_queue, execution_timeout=seconds(1)
        )
        with pytest.raises(WorkflowFailureError) as info:
            await handle.result()
    assert isinstance(info.value.cause, TimeoutError)
    events = await history_events(client, wid)
    assert_types(
        events,
        [
            E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
            E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
            E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
            E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
            E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
        ],
    )
    started = events[0].workflow_execution_started_event_attributes
    assert started.workflow_execution_timeout.ToTimedelta() == seconds(1)
    assert started.workflow_run_timeout.ToTimedelta() == seconds(1)  # defaults to the execution timeout
    expiration = started.workflow_execution_expiration_time.ToDatetime()
    assert abs(expiration - events[0].event_time.ToDatetime() - seconds(1)) < seconds(0.1)
    timed_out = events[-1].workflow_execution_timed_out_event_attributes
    # The execution deadline is final (no retry could start after it): TIMEOUT, not RETRY_POLICY_NOT_SET.
    assert timed_out.retry_state == RetryState.RETRY_STATE_TIMEOUT
    assert not timed_out.new_execution_run_id
    assert events[-1].event_time.ToDatetime() >= expiration
    assert await status_of(client, wid) == Status.WORKFLOW_EXECUTION_STATUS_TIMED_OUT


async def test_run_timeout_while_a_workflow_task_is_pending(client: Client, task_queue: str) -> None:
    wid = unique_id("run-timeout")
    # No worker at all: the run times out with its first workflow task still scheduled.
    handle = await client.start_workflow(WaitWorkflow.run, id=wid, task_queue=task_queue, run_timeout=seconds(1))
    with pytest.raises(WorkflowFailureError) as info:
        await handle.result()
    assert isinstance(info.value.cause, TimeoutError)
    events = await history_events(client, wid)
    assert_types(
        events,
        [
            E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
            E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
            E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
        ],
    )
    started = events[0].workflow_execution_started_event_attributes
    assert started.workflow_run_timeout.ToTimedelta() == seconds(1)
    assert not started.HasField(
        "workflow_execution_timeout"
    ) or started.workflow_execution_timeout.ToTimedelta() == seconds(0)
    assert gap(events[-1], events[0]) >= seconds(0.95)
    assert events[-1].workflow_execution_timed_out_event_attributes.retry_state == (
        RetryState.RETRY_STATE_RETRY_POLICY_NOT_SET
    )


async def test_execution_timeout_spans_continue_as_new(client: Client, task_queue: str) -> None:
    wid = unique_id("exec-timeout-can")
    async with failure_worker(client, task_queue):
        handle = await client.start_workflow(
            ContinueAsNewOnceWorkflow.run, args=[1, True], id=wid, task_queue=task_queue, execution_timeout=seconds(2)
        )
        with pytest.raises(WorkflowFailureError) as info:
            await handle.result()
    assert isinstance(info.value.cause, TimeoutError)
    first = await history_events(client, wid, handle.first_execution_run_id)
    second = await history_events(client, wid)
    assert first[-1].event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    assert second[-1].event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT, type_names(second)
    first_started = first[0].workflow_execution_started_event_attributes
    second_started = second[0].workflow_execution_started_event_attributes
    # The new run inherits the execution's deadline instead of starting a new one.
    assert second_started.workflow_execution_expiration_time == first_started.workflow_execution_expiration_time
    assert second_started.workflow_execution_timeout.ToTimedelta() == seconds(2)
    assert gap(second[-1], first[0]) >= seconds(1.95)


# ------------------------------------------------------------------------------ retry policy


async def test_failed_workflow_is_retried_in_a_new_run(client: Client, task_queue: str) -> None:
    wid = unique_id("wf-retry")
    retry = RetryPolicy(initial_interval=seconds(1), maximum_attempts=3)
    async with failure_worker(client, task_queue):
        handle = await client.start_workflow(
            FailUntilAttemptWorkflow.run, 2, id=wid, task_queue=task_queue, retry_policy=retry
        )
        result = await handle.result()
    first_run = handle.first_execution_run_id
    assert first_run
    assert result["attempt"] == 2
    assert result["first_execution_run_id"] == first_run
    assert result["continued_run_id"] == first_run
    second_run = result["run_id"]

    first = await history_events(client, wid, first_run)
    failed = first[-1]
    assert failed.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED, type_names(first)
    attrs = failed.workflow_execution_failed_event_attributes
    assert attrs.retry_state == RetryState.RETRY_STATE_IN_PROGRESS
    assert attrs.new_execution_run_id == second_run
    assert attrs.failure.message == "workflow attempt 1 fails"
    assert await status_of(client, wid, first_run) == Status.WORKFLOW_EXECUTION_STATUS_FAILED

    second = await history_events(client, wid, second_run)
    started = second[0].workflow_execution_started_event_attributes
    assert started.attempt == 2
    assert started.initiator == Initiator.CONTINUE_AS_NEW_INITIATOR_RETRY
    assert started.first_execution_run_id == first_run
    assert started.continued_execution_run_id == first_run
    assert started.original_execution_run_id == second_run
    assert started.continued_failure.message == "workflow attempt 1 fails"
    assert started.continued_failure.application_failure_info.type == "WorkflowFlaky"
    assert started.first_workflow_task_backoff.ToTimedelta() == seconds(1)
    assert started.retry_policy.maximum_attempts == 3
    # The backoff is real: the retry's first task waits for it.
    assert gap(second[1], failed) >= seconds(0.95)
    assert await status_of(client, wid) == Status.WORKFLOW_EXECUTION_STATUS_COMPLETED


async def test_workflow_retries_back_off_and_exhaust(client: Client, task_queue: str) -> None:
    wid = unique_id("wf-retry-exhaust")
    retry = RetryPolicy(initial_interval=seconds(0.5), backoff_coefficient=2, maximum_attempts=3)
    async with failure_worker(client, task_queue):
        handle = await client.start_workflow(
            FailUntilAttemptWorkflow.run, 10, id=wid, task_queue=task_queue, retry_policy=retry
        )
        with pytest.raises(WorkflowFailureError) as info:
            await handle.result()
    err = info.value.cause
    assert isinstance(err, ApplicationError) and err.message == "workflow attempt 3 fails"
    last = await history_events(client, wid)
    started = last[0].workflow_execution_started_event_attributes
    assert started.attempt == 3
    assert started.first_execution_run_id == handle.first_execution_run_id
    assert started.first_workflow_task_backoff.ToTimedelta() == seconds(1)  # 0.5 s x 2
    failed = last[-1].workflow_execution_failed_event_attributes
    assert failed.retry_state == RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED
    assert not failed.new_execution_run_id


async def test_non_retryable_workflow_error_type_ends_the_chain(client: Client, task_queue: str) -> None:
    wid = unique_id("wf-retry-fatal")
    retry = RetryPolicy(initial_interval=seconds(0.1), maximum_attempts=5, non_retryable_error_types=["Fatal"])
    async with failure_worker(client, task_queue):
        handle = await client.start_workflow(
            FailUntilAttemptWorkflow.run, args=[10, "Fatal"], id=wid, task_queue=task_queue, retry_policy=retry
        )
        with pytest.raises(WorkflowFailureError):
            await handle.result()
    events = await history_events(client, wid)
    assert events[0].workflow_execution_started_event_attributes.attempt == 1
    failed = events[-1].workflow_execution_failed_event_attributes
    assert failed.retry_state == RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE
    assert not failed.new_execution_run_id


async def test_timed_out_run_is_retried(client: Client, task_queue: str) -> None:
    wid = unique_id("wf-retry-timeout")
    retry = RetryPolicy(initial_interval=seconds(0.5), maximum_attempts=3)
    async with failure_worker(client, task_queue):
        handle = await client.start_workflow(
            HangUntilAttemptWorkflow.run, 2, id=wid, task_queue=task_queue, retry_policy=retry, run_timeout=seconds(1)
        )
        assert await handle.result() == 2
    first = await history_events(client, wid, handle.first_execution_run_id)
    timed_out = first[-1]
    assert timed_out.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT, type_names(first)
    attrs = timed_out.workflow_execution_timed_out_event_attributes
    assert attrs.retry_state == RetryState.RETRY_STATE_IN_PROGRESS
    assert attrs.new_execution_run_id
    second = await history_events(client, wid, attrs.new_execution_run_id)
    started = second[0].workflow_execution_started_event_attributes
    assert started.attempt == 2
    assert started.initiator == Initiator.CONTINUE_AS_NEW_INITIATOR_RETRY
    assert started.first_execution_run_id == handle.first_execution_run_id
    assert started.continued_failure.timeout_failure_info.timeout_type == TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE
    assert started.workflow_run_timeout.ToTimedelta() == seconds(1)
    assert started.first_workflow_task_backoff.ToTimedelta() == seconds(0.5)


# -------------------------------------------------------------------------------------- cron


async def test_cron_schedule_starts_new_runs(client: Client, task_queue: str) -> None:
    wid = unique_id("cron")
    # "@every 2s" is accepted by the reference's cron parser: two runs take at most ~4 s.
    async with failure_worker(client, task_queue):
        handle = await client.start_workflow(CronWorkflow.run, id=wid, task_queue=task_queue, cron_schedule="@every 2s")
        try:
            first_run = handle.first_execution_run_id or handle.result_run_id
            assert first_run
            first = await closed_history(client, wid, first_run)
            second_run = first[-1].workflow_execution_completed_event_attributes.new_execution_run_id
            assert second_run
            second = await closed_history(client, wid, second_run)
            third_run = second[-1].workflow_execution_completed_event_attributes.new_execution_run_id
            assert third_run
        finally:
            await terminate_quietly(handle)

    # Run 1: waits for the schedule before its first task, then completes and names the next run.
    started1 = first[0].workflow_execution_started_event_attributes
    assert started1.cron_schedule == "@every 2s"
    assert seconds(0) < started1.first_workflow_task_backoff.ToTimedelta() <= seconds(2)
    assert first[-1].event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
    assert decode(client, first[-1].workflow_execution_completed_event_attributes.result.payloads[0]) == {
        "runs": 1,
        "cron_schedule": "@every 2s",
    }
    assert gap(first[1], first[0]) >= started1.first_workflow_task_backoff.ToTimedelta() - seconds(0.05)

    # Run 2: started by the cron schedule, carrying the previous result.
    started2 = second[0].workflow_execution_started_event_attributes
    assert started2.initiator == Initiator.CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE
    assert started2.cron_schedule == "@every 2s"
    assert started2.continued_execution_run_id == first_run
    assert started2.attempt == 1
    assert seconds(0) < started2.first_workflow_task_backoff.ToTimedelta() <= seconds(2)
    assert decode(client, started2.last_completion_result.payloads[0])["runs"] == 1
    assert decode(client, second[-1].workflow_execution_completed_event_attributes.result.payloads[0])["runs"] == 2

    # Run 3 was waiting for its schedule when terminated: no workflow task ever ran.
    third = await history_events(client, wid, third_run)
    assert_types(third, [E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED])


async def test_describe_a_cron_run_waiting_for_its_schedule(client: Client, task_queue: str) -> None:
    wid = unique_id("cron-wait")
    # An hourly schedule: the first run waits (up to an hour) before its first workflow task.
    handle = await client.start_workflow(CronWorkflow.run, id=wid, task_queue=task_queue, cron_schedule="0 * * * *")
    try:
        desc = await describe(client, wid)
        info = desc.workflow_execution_info
        assert info.status == Status.WORKFLOW_EXECUTION_STATUS_RUNNING
        assert info.execution_time.ToDatetime() > info.start_time.ToDatetime()
        assert not desc.HasField("pending_workflow_task")
        events = await history_events(client, wid)
        assert_types(events, [E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED])
    finally:
        await terminate_quietly(handle)


async def test_a_cron_schedule_in_a_time_zone_uses_its_wall_clock(client: Client, task_queue: str) -> None:
    wid = unique_id("cron-tz")
    # India is UTC+5:30: the top of each hour there is half past the hour in UTC.
    handle = await client.start_workflow(
        CronWorkflow.run, id=wid, task_queue=task_queue, cron_schedule="CRON_TZ=Asia/Kolkata 0 * * * *"
    )
    try:
        info = (await describe(client, wid)).workflow_execution_info
        first_run = info.execution_time.ToDatetime()
        assert (first_run.minute, first_run.second) == (30, 0), first_run
        assert first_run > info.start_time.ToDatetime()
    finally:
        await terminate_quietly(handle)


# -------------------------------------------------------------------------- continue-as-new


@pytest.mark.usefixtures("search_attributes")
async def test_continue_as_new_carries_the_options_over(client: Client, task_queue: str) -> None:
    wid = unique_id("can-options")
    retry = RetryPolicy(initial_interval=seconds(0.5), maximum_attempts=4)
    async with failure_worker(client, task_queue):
        handle = await client.start_workflow(
            ContinueAsNewOnceWorkflow.run,
            args=[1, False],
            id=wid,
            task_queue=task_queue,
            run_timeout=seconds(30),
            task_timeout=seconds(3),
            execution_timeout=seconds(60),
            retry_policy=retry,
            memo={"owner": "failure-suite"},
            search_attributes=TypedSearchAttributes([SearchAttributePair(KEYWORD_SA, "carried-over")]),
        )
        result = await handle.result()
    first_run = handle.first_execution_run_id
    assert result == {
        "task_queue": task_queue,
        "run_timeout": 30.0,
        "task_timeout": 3.0,
        "execution_timeout": 60.0,
        "retry_maximum_attempts": 4,
        "memo": "failure-suite",
        "attempt": 1,
        "continued_run_id": first_run,
        "first_execution_run_id": first_run,
    }
    first = await history_events(client, wid, first_run)
    second = await history_events(client, wid)
    can = first[-1].workflow_execution_continued_as_new_event_attributes
    # The reference leaves the initiator unset on the continued-as-new event (it is set on the new run).
    assert can.initiator == Initiator.CONTINUE_AS_NEW_INITIATOR_UNSPECIFIED
    assert can.task_queue.name == task_queue
    assert can.workflow_run_timeout.ToTimedelta() == seconds(30)
    assert can.workflow_task_timeout.ToTimedelta() == seconds(3)
    assert can.new_execution_run_id == second[0].workflow_execution_started_event_attributes.original_execution_run_id

    s1 = first[0].workflow_execution_started_event_attributes
    s2 = second[0].workflow_execution_started_event_attributes
    assert s1.search_attributes.indexed_fields["GnomonE2EKeyword"].data == b'"carried-over"'
    assert s2.initiator == Initiator.CONTINUE_AS_NEW_INITIATOR_WORKFLOW
    assert s2.continued_execution_run_id == first_run
    assert s2.first_execution_run_id == first_run
    assert s2.attempt == 1
    for name in (
        "task_queue",
        "workflow_run_timeout",
        "workflow_task_timeout",
        "workflow_execution_timeout",
        "workflow_execution_expiration_time",
        "retry_policy",
        "memo",
        "search_attributes",
    ):
        assert getattr(s2, name) == getattr(s1, name), name
    assert s2.first_workflow_task_backoff.ToTimedelta() <= seconds(1)


async def test_workflow_status_while_retrying(client: Client, task_queue: str) -> None:
    wid = unique_id("wf-retry-wait")
    # A long backoff: the next run exists (running, no task yet) while it waits.
    retry = RetryPolicy(initial_interval=seconds(60), maximum_attempts=2)
    async with failure_worker(client, task_queue):
        handle = await client.start_workflow(
            FailUntilAttemptWorkflow.run, 5, id=wid, task_queue=task_queue, retry_policy=retry
        )
        first = await closed_history(client, wid, handle.first_execution_run_id)
        second_run = first[-1].workflow_execution_failed_event_attributes.new_execution_run_id

        async def second_run_exists() -> bool:
            return (await describe(client, wid)).workflow_execution_info.execution.run_id == second_run

        await wait_for(second_run_exists, what="the retry run to become current")
    try:
        info = (await describe(client, wid)).workflow_execution_info
        assert info.status == Status.WORKFLOW_EXECUTION_STATUS_RUNNING
        assert seconds(59) <= info.execution_time.ToDatetime() - info.start_time.ToDatetime() <= seconds(61)
        events = await history_events(client, wid, second_run)
        assert_types(events, [E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED])
        assert (
            one_event(
                events, E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
            ).workflow_execution_started_event_attributes.attempt
            == 2
        )
    finally:
        await terminate_quietly(handle)
