"""Workflow lifecycle through the SDK: activities, timers, signals, queries, cancel, terminate, delete,
children, continue-as-new, external signal/cancel, upserts, markers, failures, heartbeats,
async activity completion and activity cancellation."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import (
    EventType,
    PendingActivityState,
    SignalExternalWorkflowExecutionFailedCause,
    StartChildWorkflowExecutionFailedCause,
    WorkflowExecutionStatus,
)
from temporalio.api.workflow.v1 import PendingActivityInfo
from temporalio.api.workflowservice.v1 import (
    DeleteWorkflowExecutionRequest,
    RequestCancelWorkflowExecutionRequest,
    SignalWorkflowExecutionRequest,
)
from temporalio.client import Client, WorkflowFailureError, WorkflowQueryFailedError, WorkflowQueryRejectedError
from temporalio.common import QueryRejectCondition
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError, TerminatedError
from temporalio.service import RPCError, RPCStatusCode

from tests.e2e.activities import E2EActivities
from tests.e2e.helpers import (
    NAMESPACE,
    decode,
    decode_all,
    describe,
    event_types,
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
    INT_SA,
    KEYWORD_SA,
    ActivityCall,
    ActivityWorkflow,
    CancelActivityWorkflow,
    CancelExternalWorkflow,
    ChildCall,
    ChildConflictWorkflow,
    ContinueAsNewWorkflow,
    EchoWorkflow,
    FailingWorkflow,
    LocalActivityWorkflow,
    ParentWorkflow,
    PatchedWorkflow,
    SignalExternalWorkflow,
    SignalMissingWorkflow,
    SignalWorkflow,
    TimerWorkflow,
    UpsertWorkflow,
)

E = EventType
Status = WorkflowExecutionStatus


async def _pending_activity(client: Client, workflow_id: str) -> PendingActivityInfo | None:
    """The single pending activity of a workflow, once it has been started by a worker."""
    pending = (await describe(client, workflow_id)).pending_activities
    if len(pending) == 1 and pending[0].state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED:
        return pending[0]
    return None


async def _heartbeat_details(client: Client, workflow_id: str, expected: str) -> PendingActivityInfo | None:
    info = await _pending_activity(client, workflow_id)
    if (
        info is not None
        and info.HasField("heartbeat_details")
        and decode_all(client, info.heartbeat_details) == [expected]
    ):
        return info
    return None


# --- activities, timers, signals, queries -----------------------------------------------


async def test_activity_completes(client: Client, task_queue: str, activities: E2EActivities) -> None:
    wid = unique_id("act")
    async with running_worker(client, task_queue, activities=activities):
        result = await client.execute_workflow(
            ActivityWorkflow.run, ActivityCall("echo", ["hi"]), id=wid, task_queue=task_queue
        )
    assert result == "hi"
    events = await history_events(client, wid)
    scheduled = one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED).activity_task_scheduled_event_attributes
    assert scheduled.activity_type.name == "echo"
    assert scheduled.task_queue.name == task_queue
    started = one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_STARTED).activity_task_started_event_attributes
    assert started.attempt == 1
    completed = one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED).activity_task_completed_event_attributes
    assert decode_all(client, completed.result) == ["hi"]
    assert events[-1].event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
    assert [e.event_id for e in events] == list(range(1, len(events) + 1))


async def test_activity_failure_fails_workflow(client: Client, task_queue: str) -> None:
    async with running_worker(client, task_queue):
        with pytest.raises(WorkflowFailureError) as info:
            await client.execute_workflow(
                ActivityWorkflow.run, ActivityCall("fail", ["kaput"]), id=unique_id("act-fail"), task_queue=task_queue
            )
    activity_error = info.value.cause
    assert isinstance(activity_error, ActivityError)
    assert isinstance(activity_error.cause, ApplicationError)
    assert activity_error.cause.message == "kaput"
    assert activity_error.cause.type == "E2EActivityFailure"


async def test_timer_fires(client: Client, task_queue: str) -> None:
    wid = unique_id("timer")
    async with running_worker(client, task_queue):
        begin = time.monotonic()
        assert await client.execute_workflow(TimerWorkflow.run, 0.5, id=wid, task_queue=task_queue) == "timer-fired"
        assert time.monotonic() - begin >= 0.45
    events = await history_events(client, wid)
    started = one_event(events, E.EVENT_TYPE_TIMER_STARTED)
    assert started.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta() == seconds(0.5)
    fired = one_event(events, E.EVENT_TYPE_TIMER_FIRED)
    assert fired.timer_fired_event_attributes.timer_id == started.timer_started_event_attributes.timer_id
    assert fired.timer_fired_event_attributes.started_event_id == started.event_id
    assert fired.event_time.ToDatetime() - started.event_time.ToDatetime() >= seconds(0.45)


async def test_signals_and_queries(client: Client, task_queue: str) -> None:
    wid = unique_id("sig")
    async with running_worker(client, task_queue):
        handle = await client.start_workflow(SignalWorkflow.run, id=wid, task_queue=task_queue)
        await handle.signal(SignalWorkflow.add, "a")
        await handle.signal(SignalWorkflow.add, "b")

        async def both_seen() -> bool:
            return await handle.query(SignalWorkflow.state) == ["a", "b"]

        await wait_for(both_seen, what="both signals to be visible to a query")
        await handle.signal(SignalWorkflow.finish)
        assert await handle.result() == ["a", "b"]
    signalled = events_of(await history_events(client, wid), E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
    names = [e.workflow_execution_signaled_event_attributes.signal_name for e in signalled]
    assert names == ["add", "add", "finish"]


async def test_query_error_surfaces_as_query_failed(client: Client, task_queue: str) -> None:
    async with running_worker(client, task_queue):
        handle = await client.start_workflow(SignalWorkflow.run, id=unique_id("qfail"), task_queue=task_queue)
        with pytest.raises(WorkflowQueryFailedError) as info:
            await handle.query(SignalWorkflow.failing_query)
        assert "query refused on purpose" in str(info.value)
        # The workflow is unharmed: it still answers and completes.
        assert await handle.query(SignalWorkflow.state) == []
        await handle.signal(SignalWorkflow.finish)
        assert await handle.result() == []


async def test_query_rejected_when_not_open(client: Client, task_queue: str) -> None:
    async with running_worker(client, task_queue):
        handle = await client.start_workflow(SignalWorkflow.run, id=unique_id("qreject"), task_queue=task_queue)
        await handle.signal(SignalWorkflow.finish)
        await handle.result()
        with pytest.raises(WorkflowQueryRejectedError) as info:
            await handle.query(SignalWorkflow.state, reject_condition=QueryRejectCondition.NOT_OPEN)
    assert info.value.status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED


async def test_query_closed_workflow(client: Client, task_queue: str) -> None:
    async with running_worker(client, task_queue):
        handle = await client.start_workflow(SignalWorkflow.run, id=unique_id("qclosed"), task_queue=task_queue)
        await handle.signal(SignalWorkflow.add, "kept")
        await handle.signal(SignalWorkflow.finish)
        await handle.result()
        assert await handle.query(SignalWorkflow.state) == ["kept"]


# --- cancel, terminate, delete ----------------------------------------------------------


async def test_cancel_workflow(client: Client, task_queue: str) -> None:
    wid = unique_id("cancel")
    async with running_worker(client, task_queue):
        handle = await client.start_workflow(SignalWorkflow.run, id=wid, task_queue=task_queue)
        await wait_for_event(client, wid, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as info:
            await handle.result()
    assert isinstance(info.value.cause, CancelledError)
    events = await history_events(client, wid)
    one_event(events, E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED)
    assert events[-1].event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED
    assert (await describe(client, wid)).workflow_execution_info.status == Status.WORKFLOW_EXECUTION_STATUS_CANCELED


async def test_terminate_records_reason(client: Client, task_queue: str) -> None:
    wid = unique_id("term")
    handle = await client.start_workflow(SignalWorkflow.run, id=wid, task_queue=task_queue)
    await handle.terminate("detail-a", reason="e2e says stop")
    with pytest.raises(WorkflowFailureError) as info:
        await handle.result()
    assert isinstance(info.value.cause, TerminatedError)
    events = await history_events(client, wid)
    last = events[-1]
    assert last.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED
    attrs = last.workflow_execution_terminated_event_attributes
    assert attrs.reason == "e2e says stop"
    assert decode_all(client, attrs.details) == ["detail-a"]
    info_ = (await describe(client, wid)).workflow_execution_info
    assert info_.status == Status.WORKFLOW_EXECUTION_STATUS_TERMINATED
    assert info_.HasField("close_time")


async def test_cancel_requests_are_idempotent(client: Client, task_queue: str) -> None:
    wid = unique_id("cancel-idem")
    await client.start_workflow(SignalWorkflow.run, id=wid, task_queue=task_queue)
    for request_id in ("cancel-1", "cancel-1", "cancel-2"):
        await client.workflow_service.request_cancel_workflow_execution(
            RequestCancelWorkflowExecutionRequest(
                namespace=NAMESPACE, workflow_execution=WorkflowExecution(workflow_id=wid), request_id=request_id
            )
        )
    one_event(await history_events(client, wid), E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED)


async def test_signal_request_id_deduplicates(client: Client, task_queue: str) -> None:
    wid = unique_id("signal-idem")
    await client.start_workflow(SignalWorkflow.run, id=wid, task_queue=task_queue)
    for request_id in ("sig-1", "sig-1", "sig-2"):
        await client.workflow_service.signal_workflow_execution(
            SignalWorkflowExecutionRequest(
                namespace=NAMESPACE,
                workflow_execution=WorkflowExecution(workflow_id=wid),
                signal_name="add",
                request_id=request_id,
            )
        )
    signalled = events_of(await history_events(client, wid), E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
    assert len(signalled) == 2, "a signal repeated with the same request id must be recorded once"


async def _delete_and_wait_gone(client: Client, workflow_id: str, *, timeout: float) -> None:
    """DeleteWorkflowExecution, then poll DescribeWorkflowExecution until it is NOT_FOUND."""
    await client.workflow_service.delete_workflow_execution(
        DeleteWorkflowExecutionRequest(
            namespace=NAMESPACE, workflow_execution=WorkflowExecution(workflow_id=workflow_id)
        )
    )

    async def gone() -> bool:
        try:
            await describe(client, workflow_id)
        except RPCError as err:
            assert err.status == RPCStatusCode.NOT_FOUND, err
            return True
        return False

    await wait_for(gone, what=f"deleted workflow {workflow_id} to be NOT_FOUND", timeout=timeout, interval=0.25)


@pytest.mark.timeout(90)
async def test_delete_completed_workflow(client: Client, task_queue: str) -> None:
    wid = unique_id("delete")
    async with running_worker(client, task_queue):
        handle = await client.start_workflow(EchoWorkflow.run, "x", id=wid, task_queue=task_queue)
        await handle.result()
    assert await status_of(client, wid) == Status.WORKFLOW_EXECUTION_STATUS_COMPLETED
    # The reference deletes closed executions asynchronously (10-35 s on the dev server).
    await _delete_and_wait_gone(client, wid, timeout=60)


async def test_delete_running_workflow(client: Client, task_queue: str) -> None:
    wid = unique_id("delete-running")
    await client.start_workflow(SignalWorkflow.run, id=wid, task_queue=task_queue)
    assert await status_of(client, wid) == Status.WORKFLOW_EXECUTION_STATUS_RUNNING
    await _delete_and_wait_gone(client, wid, timeout=10)


# --- children, continue-as-new, external signal/cancel ----------------------------------


async def test_child_workflow(client: Client, task_queue: str) -> None:
    wid, child_id = unique_id("parent"), unique_id("child")
    async with running_worker(client, task_queue):
        result = await client.execute_workflow(
            ParentWorkflow.run, ChildCall(child_id, "hello"), id=wid, task_queue=task_queue
        )
    assert result == "child said hello"
    events = await history_events(client, wid)
    initiated = one_event(events, E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED)
    assert initiated.start_child_workflow_execution_initiated_event_attributes.workflow_id == child_id
    assert initiated.start_child_workflow_execution_initiated_event_attributes.workflow_type.name == "EchoWorkflow"
    started = one_event(events, E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED)
    child_run = started.child_workflow_execution_started_event_attributes.workflow_execution.run_id
    completed = one_event(events, E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED)
    assert decode_all(client, completed.child_workflow_execution_completed_event_attributes.result) == ["hello"]

    child = await describe(client, child_id)
    assert child.workflow_execution_info.execution.run_id == child_run
    assert child.workflow_execution_info.status == Status.WORKFLOW_EXECUTION_STATUS_COMPLETED
    assert child.workflow_execution_info.parent_execution.workflow_id == wid
    child_started = (await history_events(client, child_id))[0].workflow_execution_started_event_attributes
    assert child_started.parent_workflow_execution.workflow_id == wid
    assert child_started.parent_initiated_event_id == initiated.event_id


async def test_continue_as_new(client: Client, task_queue: str) -> None:
    wid = unique_id("can")
    async with running_worker(client, task_queue):
        handle = await client.start_workflow(ContinueAsNewWorkflow.run, 2, id=wid, task_queue=task_queue)
        assert await handle.result() == 3
    first_run = handle.first_execution_run_id
    assert first_run
    first_events = await history_events(client, wid, first_run)
    last = first_events[-1]
    assert last.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW, type_names(first_events)
    second_run = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
    assert second_run and second_run != first_run
    assert await status_of(client, wid, first_run) == Status.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW

    second_started = (await history_events(client, wid, second_run))[0].workflow_execution_started_event_attributes
    assert second_started.continued_execution_run_id == first_run
    assert second_started.first_execution_run_id == first_run
    assert decode_all(client, second_started.input) == [1, 2]

    latest = (await describe(client, wid)).workflow_execution_info
    assert latest.status == Status.WORKFLOW_EXECUTION_STATUS_COMPLETED
    assert latest.execution.run_id not in (first_run, second_run)


async def test_signal_external_workflow(client: Client, task_queue: str) -> None:
    target_id, sender_id = unique_id("ext-target"), unique_id("ext-sender")
    async with running_worker(client, task_queue):
        target = await client.start_workflow(SignalWorkflow.run, id=target_id, task_queue=task_queue)
        result = await client.execute_workflow(
            SignalExternalWorkflow.run, args=[target_id, "from-afar"], id=sender_id, task_queue=task_queue
        )
        assert result == "signalled"
        await target.signal(SignalWorkflow.finish)
        assert await target.result() == ["from-afar"]
    sender = await history_events(client, sender_id)
    initiated = one_event(sender, E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED)
    assert initiated.signal_external_workflow_execution_initiated_event_attributes.signal_name == "add"
    done = one_event(sender, E.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED)
    assert done.external_workflow_execution_signaled_event_attributes.initiated_event_id == initiated.event_id
    signalled = events_of(await history_events(client, target_id), E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
    assert signalled[0].workflow_execution_signaled_event_attributes.signal_name == "add"


async def test_cancel_external_workflow(client: Client, task_queue: str) -> None:
    target_id, sender_id = unique_id("extc-target"), unique_id("extc-sender")
    async with running_worker(client, task_queue):
        target = await client.start_workflow(SignalWorkflow.run, id=target_id, task_queue=task_queue)
        result = await client.execute_workflow(
            CancelExternalWorkflow.run, target_id, id=sender_id, task_queue=task_queue
        )
        assert result == "cancel-requested"
        with pytest.raises(WorkflowFailureError) as info:
            await target.result()
    assert isinstance(info.value.cause, CancelledError)
    sender = await history_events(client, sender_id)
    initiated = one_event(sender, E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED)
    done = one_event(sender, E.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED)
    assert done.external_workflow_execution_cancel_requested_event_attributes.initiated_event_id == initiated.event_id
    target_events = await history_events(client, target_id)
    requested = one_event(target_events, E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED)
    assert requested.workflow_execution_cancel_requested_event_attributes.external_workflow_execution.workflow_id == (
        sender_id
    )
    assert target_events[-1].event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED


async def test_child_id_conflict_fails_the_start(client: Client, task_queue: str) -> None:
    wid, child_id = unique_id("child-conflict"), unique_id("taken")
    await client.start_workflow(SignalWorkflow.run, id=child_id, task_queue=task_queue)
    async with running_worker(client, task_queue):
        result = await client.execute_workflow(ChildConflictWorkflow.run, child_id, id=wid, task_queue=task_queue)
    assert result == "child already running"
    failed = one_event(await history_events(client, wid), E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED)
    attrs = failed.start_child_workflow_execution_failed_event_attributes
    assert attrs.workflow_id == child_id
    assert (
        attrs.cause
        == StartChildWorkflowExecutionFailedCause.START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_WORKFLOW_ALREADY_EXISTS
    )


async def test_signal_to_missing_external_workflow_fails(client: Client, task_queue: str) -> None:
    wid = unique_id("ext-missing")
    async with running_worker(client, task_queue):
        result = await client.execute_workflow(
            SignalMissingWorkflow.run, unique_id("nobody"), id=wid, task_queue=task_queue
        )
    assert result.startswith("signal failed")
    failed = one_event(await history_events(client, wid), E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED)
    assert failed.signal_external_workflow_execution_failed_event_attributes.cause == (
        SignalExternalWorkflowExecutionFailedCause.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND
    )


# --- upserts and markers ----------------------------------------------------------------


async def test_upsert_search_attributes_and_memo(
    client: Client, task_queue: str, search_attributes: Mapping[str, object]
) -> None:
    wid = unique_id("upsert")
    async with running_worker(client, task_queue):
        handle = await client.start_workflow(
            UpsertWorkflow.run, args=["kw-upserted", "memo-v"], id=wid, task_queue=task_queue
        )
        events = await wait_for_event(client, wid, E.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED)
        upserted = one_event(events, E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES)
        fields = upserted.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
        assert decode(client, fields[KEYWORD_SA.name]) == "kw-upserted"
        assert decode(client, fields[INT_SA.name]) == 42
        modified = one_event(events, E.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED)
        memo = modified.workflow_properties_modified_event_attributes.upserted_memo.fields
        assert decode(client, memo["e2e-memo"]) == "memo-v"

        desc = await handle.describe()
        assert desc.typed_search_attributes.get(KEYWORD_SA) == "kw-upserted"
        assert desc.typed_search_attributes.get(INT_SA) == 42
        assert (await desc.memo())["e2e-memo"] == "memo-v"
        await handle.signal(UpsertWorkflow.finish)
        assert await handle.result() == "upserted"


async def test_patch_records_marker(client: Client, task_queue: str) -> None:
    wid = unique_id("patch")
    async with running_worker(client, task_queue):
        assert await client.execute_workflow(PatchedWorkflow.run, id=wid, task_queue=task_queue) == "patched"
    markers = events_of(await history_events(client, wid), E.EVENT_TYPE_MARKER_RECORDED)
    assert [m.marker_recorded_event_attributes.marker_name for m in markers] == ["core_patch"]
    assert markers[0].marker_recorded_event_attributes.workflow_task_completed_event_id > 0


async def test_local_activity_records_marker(client: Client, task_queue: str) -> None:
    wid = unique_id("local-act")
    async with running_worker(client, task_queue):
        result = await client.execute_workflow(
            LocalActivityWorkflow.run, ActivityCall("echo", ["local"]), id=wid, task_queue=task_queue
        )
    assert result == "local"
    events = await history_events(client, wid)
    markers = events_of(events, E.EVENT_TYPE_MARKER_RECORDED)
    assert [m.marker_recorded_event_attributes.marker_name for m in markers] == ["core_local_activity"]
    assert not events_of(events, E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)


# --- failures ---------------------------------------------------------------------------


async def test_workflow_failure_surfaces_to_result(client: Client, task_queue: str) -> None:
    wid = unique_id("wf-fail")
    async with running_worker(client, task_queue):
        with pytest.raises(WorkflowFailureError) as info:
            await client.execute_workflow(FailingWorkflow.run, "it broke", id=wid, task_queue=task_queue)
    cause = info.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.message == "it broke"
    assert cause.type == "E2EFailure"
    assert cause.non_retryable
    assert list(cause.details) == ["detail-1"]
    events = await history_events(client, wid)
    failed = events[-1]
    assert failed.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED
    assert failed.workflow_execution_failed_event_attributes.failure.message == "it broke"
    assert await status_of(client, wid) == Status.WORKFLOW_EXECUTION_STATUS_FAILED


# --- heartbeats, async completion, activity cancellation --------------------------------


async def test_activity_heartbeat_details_visible_in_describe(
    client: Client, task_queue: str, activities: E2EActivities
) -> None:
    wid = unique_id("hb")
    call = ActivityCall("heartbeat_and_wait", ["progress-1"], heartbeat_timeout_seconds=5, activity_id="hb-act")
    async with running_worker(client, task_queue, activities=activities):
        handle = await client.start_workflow(ActivityWorkflow.run, call, id=wid, task_queue=task_queue)
        info = await wait_for(
            lambda: _heartbeat_details(client, wid, "progress-1"), what="heartbeat details in describe"
        )
        assert info.activity_id == "hb-act"
        assert info.activity_type.name == "heartbeat_and_wait"
        assert info.HasField("last_heartbeat_time")
        assert info.attempt == 1
        activities.release.set()
        assert await handle.result() == "released"
    assert not (await describe(client, wid)).pending_activities


async def _start_async_activity(client: Client, task_queue: str, activities: E2EActivities, workflow_id: str) -> str:
    """Start a workflow whose activity completes asynchronously; return the run id once it has started."""
    call = ActivityCall("complete_async", activity_id="async-act", start_to_close_seconds=30)
    handle = await client.start_workflow(ActivityWorkflow.run, call, id=workflow_id, task_queue=task_queue)
    await asyncio.wait_for(activities.started.wait(), timeout=15)
    await wait_for(lambda: _pending_activity(client, workflow_id), what="the async activity to be started")
    assert handle.first_execution_run_id
    return handle.first_execution_run_id


async def test_async_activity_completion_by_id(client: Client, task_queue: str, activities: E2EActivities) -> None:
    wid = unique_id("async-id")
    async with running_worker(client, task_queue, activities=activities):
        run_id = await _start_async_activity(client, task_queue, activities, wid)
        handle = client.get_async_activity_handle(workflow_id=wid, run_id=run_id, activity_id="async-act")
        await handle.heartbeat("hb-by-id")
        await wait_for(lambda: _heartbeat_details(client, wid, "hb-by-id"), what="heartbeat by id in describe")
        await handle.complete("done-by-id")
        assert await client.get_workflow_handle(wid).result() == "done-by-id"
    completed = one_event(await history_events(client, wid), E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
    assert decode_all(client, completed.activity_task_completed_event_attributes.result) == ["done-by-id"]


async def test_async_activity_completion_by_token(client: Client, task_queue: str, activities: E2EActivities) -> None:
    wid = unique_id("async-token")
    async with running_worker(client, task_queue, activities=activities):
        await _start_async_activity(client, task_queue, activities, wid)
        handle = client.get_async_activity_handle(task_token=activities.task_tokens[0])
        await handle.heartbeat("hb-by-token")
        await wait_for(lambda: _heartbeat_details(client, wid, "hb-by-token"), what="heartbeat by token in describe")
        await handle.complete("done-by-token")
        assert await client.get_workflow_handle(wid).result() == "done-by-token"


async def test_async_activity_failure_by_token(client: Client, task_queue: str, activities: E2EActivities) -> None:
    wid = unique_id("async-fail")
    async with running_worker(client, task_queue, activities=activities):
        await _start_async_activity(client, task_queue, activities, wid)
        handle = client.get_async_activity_handle(task_token=activities.task_tokens[0])
        await handle.fail(ApplicationError("failed from outside", type="ExternalFailure", non_retryable=True))
        with pytest.raises(WorkflowFailureError) as info:
            await client.get_workflow_handle(wid).result()
    activity_error = info.value.cause
    assert isinstance(activity_error, ActivityError)
    assert isinstance(activity_error.cause, ApplicationError)
    assert activity_error.cause.message == "failed from outside"
    assert activity_error.cause.type == "ExternalFailure"
    failed = one_event(await history_events(client, wid), E.EVENT_TYPE_ACTIVITY_TASK_FAILED)
    assert failed.activity_task_failed_event_attributes.failure.message == "failed from outside"


async def test_activity_cancellation(client: Client, task_queue: str, activities: E2EActivities) -> None:
    wid = unique_id("act-cancel")
    call = ActivityCall("heartbeat_until_cancelled", heartbeat_timeout_seconds=1, start_to_close_seconds=30)
    async with running_worker(client, task_queue, activities=activities):
        handle = await client.start_workflow(CancelActivityWorkflow.run, call, id=wid, task_queue=task_queue)
        await asyncio.wait_for(activities.started.wait(), timeout=15)
        await handle.signal(CancelActivityWorkflow.cancel_activity)
        assert await handle.result() == "activity-cancelled"
        assert activities.cancelled.is_set(), "the activity never saw the cancellation"
    events = await history_events(client, wid)
    requested = one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED)
    canceled = one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_CANCELED)
    assert canceled.activity_task_canceled_event_attributes.latest_cancel_requested_event_id == requested.event_id
    assert event_types(events).index(E.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED) < event_types(events).index(
        E.EVENT_TYPE_ACTIVITY_TASK_CANCELED
    )
