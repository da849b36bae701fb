"""Cancellation: activity cancellation (heartbeat response, events, the SDK's three cancellation
types, an activity not yet started), workflow cancellation and termination."""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import EventType, PendingActivityState, WorkflowExecutionStatus
from temporalio.api.workflowservice.v1 import (
    RecordActivityTaskHeartbeatRequest,
    RespondActivityTaskCanceledRequest,
)
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import CancelledError, TerminatedError
from temporalio.service import RPCStatusCode

from tests.e2e.helpers import (
    NAMESPACE,
    decode,
    decode_all,
    describe,
    events_of,
    expect_rpc_error,
    history_events,
    one_event,
    type_names,
    unique_id,
    wait_for,
    wait_for_event,
)
from tests.failures.activities import FailureActivities
from tests.failures.helpers import assert_types, closed_history, failure_worker, pending_activity
from tests.failures.workflows import ActivityCall, CancelActivityWorkflow, Retry, WaitWorkflow

E = EventType

#: What the workflow sees for a cancelled activity, whatever the cancellation type (the types differ in *when*).
CANCELLED_ACTIVITY = ["ActivityError: Activity cancelled", "CancelledError: Cancelled"]


def cancellable(cancellation_type: str, report: str = "cancel") -> ActivityCall:
    """A heartbeating activity (1 s heartbeat timeout, so the SDK heartbeats at least every 0.8 s)."""
    return ActivityCall(
        "heartbeat_until_cancelled",
        [report],
        start_to_close=30,
        heartbeat=1,
        retry=Retry(maximum_attempts=1),
        cancellation_type=cancellation_type,
    )


def outcome_event(events: list) -> int:
    """Index of the properties-modified event by which the workflow records what it saw."""
    (index,) = [i for i, e in enumerate(events) if e.event_type == E.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED]
    return index


def index_of(events: list, event_type: EventType.ValueType) -> int:
    (index,) = [i for i, e in enumerate(events) if e.event_type == event_type]
    return index


async def start_and_cancel(
    client: Client, task_queue: str, activities: FailureActivities, call: ActivityCall, wid: str
):  # noqa: ANN201
    handle = await client.start_workflow(CancelActivityWorkflow.run, args=[call, True], id=wid, task_queue=task_queue)
    await activities.started.wait()
    await pending_activity(client, wid, lambda p: p.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED)
    await handle.signal(CancelActivityWorkflow.cancel_activity)
    return handle


async def test_cancel_requested_reaches_the_heartbeat_response(
    client: Client, task_queue: str, activities: FailureActivities
) -> None:
    wid = unique_id("cancel-hb")
    call = ActivityCall("complete_async", start_to_close=30, cancellation_type="WAIT_CANCELLATION_COMPLETED")
    service = client.workflow_service
    async with failure_worker(client, task_queue, activities):
        handle = await client.start_workflow(
            CancelActivityWorkflow.run, args=[call, False], id=wid, task_queue=task_queue
        )
        await activities.started.wait()
        token = activities.attempts[0].task_token
        hb = RecordActivityTaskHeartbeatRequest(namespace=NAMESPACE, task_token=token, identity="test")
        assert not (await service.record_activity_task_heartbeat(hb)).cancel_requested

        await handle.signal(CancelActivityWorkflow.cancel_activity)
        await wait_for_event(client, wid, E.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED)
        assert (await service.record_activity_task_heartbeat(hb)).cancel_requested
        info = await pending_activity(client, wid)
        assert info.state == PendingActivityState.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED

        details = client.data_converter.payload_converter.to_payloads(["cleaned up"])
        await service.respond_activity_task_canceled(
            RespondActivityTaskCanceledRequest(
                namespace=NAMESPACE, task_token=token, identity="test", details={"payloads": details}
            )
        )
        assert await handle.result() == CANCELLED_ACTIVITY

    events = await history_events(client, wid)
    scheduled = one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    requested = one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED)
    started = one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_STARTED)
    canceled = one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_CANCELED)
    assert requested.activity_task_cancel_requested_event_attributes.scheduled_event_id == scheduled.event_id
    attrs = canceled.activity_task_canceled_event_attributes
    assert attrs.scheduled_event_id == scheduled.event_id
    assert attrs.started_event_id == started.event_id
    assert attrs.latest_cancel_requested_event_id == requested.event_id
    assert attrs.identity == "test"
    assert decode_all(client, attrs.details) == ["cleaned up"]
    # A cancelled activity cannot be heartbeated or cancelled again.
    await expect_rpc_error(service.record_activity_task_heartbeat(hb), RPCStatusCode.NOT_FOUND)


async def test_try_cancel_does_not_wait_for_the_activity(
    client: Client, task_queue: str, activities: FailureActivities
) -> None:
    wid = unique_id("try-cancel")
    async with failure_worker(client, task_queue, activities):
        handle = await start_and_cancel(client, task_queue, activities, cancellable("TRY_CANCEL"), wid)
        # The activity still learns of the cancellation and reports it; that lands in history too.
        await wait_for_event(client, wid, E.EVENT_TYPE_ACTIVITY_TASK_CANCELED)
        assert activities.cancelled.is_set()
        await handle.signal(CancelActivityWorkflow.finish)
        assert await handle.result() == CANCELLED_ACTIVITY
    events = await history_events(client, wid)
    # The workflow went on in the same task that requested the cancellation.
    requested = index_of(events, E.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED)
    assert outcome_event(events) == requested + 1, type_names(events)
    assert index_of(events, E.EVENT_TYPE_ACTIVITY_TASK_CANCELED) > outcome_event(events)


async def test_wait_cancellation_completed_waits_for_the_activity(
    client: Client, task_queue: str, activities: FailureActivities
) -> None:
    wid = unique_id("wait-cancel")
    async with failure_worker(client, task_queue, activities):
        handle = await start_and_cancel(client, task_queue, activities, cancellable("WAIT_CANCELLATION_COMPLETED"), wid)
        await wait_for_event(client, wid, E.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED)
        await handle.signal(CancelActivityWorkflow.finish)
        assert await handle.result() == CANCELLED_ACTIVITY
    events = await history_events(client, wid)
    canceled = index_of(events, E.EVENT_TYPE_ACTIVITY_TASK_CANCELED)
    assert index_of(events, E.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED) < canceled < outcome_event(events)


async def test_wait_cancellation_completed_sees_an_activity_that_completes_anyway(
    client: Client, task_queue: str, activities: FailureActivities
) -> None:
    wid = unique_id("wait-cancel-complete")
    call = cancellable("WAIT_CANCELLATION_COMPLETED", report="complete")
    async with failure_worker(client, task_queue, activities):
        handle = await start_and_cancel(client, task_queue, activities, call, wid)
        await wait_for_event(client, wid, E.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED)
        await handle.signal(CancelActivityWorkflow.finish)
        assert await handle.result() == ["result: completed despite cancellation"]
    events = await history_events(client, wid)
    assert not events_of(events, E.EVENT_TYPE_ACTIVITY_TASK_CANCELED)
    completed = index_of(events, E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
    assert index_of(events, E.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED) < completed < outcome_event(events)


async def test_abandon_sends_no_cancellation(client: Client, task_queue: str, activities: FailureActivities) -> None:
    wid = unique_id("abandon")
    async with failure_worker(client, task_queue, activities):
        handle = await start_and_cancel(client, task_queue, activities, cancellable("ABANDON"), wid)
        await wait_for_event(client, wid, E.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED)
        # Nothing asked the activity to stop: it is still running, its heartbeats not cancelled.
        info = await pending_activity(client, wid)
        assert info.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
        assert not activities.cancelled.is_set()
        await handle.signal(CancelActivityWorkflow.finish)
        assert await handle.result() == CANCELLED_ACTIVITY
        # Once the workflow is closed, the activity's next heartbeat is refused and the SDK cancels it.
        await wait_for(lambda: _is_set(activities), what="the abandoned activity to be stopped")
    events = await history_events(client, wid)
    assert not events_of(events, E.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED)
    assert not events_of(events, E.EVENT_TYPE_ACTIVITY_TASK_CANCELED)
    assert not events_of(events, E.EVENT_TYPE_ACTIVITY_TASK_STARTED)  # never closed, so never written


async def _is_set(activities: FailureActivities) -> bool:
    return activities.cancelled.is_set()


@pytest.mark.parametrize("cancellation_type", ["TRY_CANCEL", "WAIT_CANCELLATION_COMPLETED"])
async def test_cancel_an_activity_that_has_not_started(
    client: Client, task_queue: str, activities: FailureActivities, cancellation_type: str
) -> None:
    wid = unique_id("cancel-unstarted")
    call = ActivityCall("succeed", ["x"], task_queue=f"{task_queue}-nobody", cancellation_type=cancellation_type)
    async with failure_worker(client, task_queue, activities):
        handle = await client.start_workflow(
            CancelActivityWorkflow.run, args=[call, True], id=wid, task_queue=task_queue
        )
        await wait_for_event(client, wid, E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
        await handle.signal(CancelActivityWorkflow.cancel_activity)
        await wait_for_event(client, wid, E.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED)
        await handle.signal(CancelActivityWorkflow.finish)
        result = await handle.result()
    assert result == CANCELLED_ACTIVITY
    events = await history_events(client, wid)
    # Not started: the server cancels it on the spot, right after the commands of the task that
    # requested it (so after the workflow's own reaction when TRY_CANCEL let it react at once).
    scheduled = one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    requested = one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED)
    canceled = one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_CANCELED)
    same_batch = [E.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED] if cancellation_type == "TRY_CANCEL" else []
    between = events[requested.event_id : canceled.event_id - 1]
    assert [e.event_type for e in between] == same_batch, type_names(events)
    assert events[canceled.event_id].event_type == E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED
    attrs = canceled.activity_task_canceled_event_attributes
    assert decode_all(client, attrs.details) == ["ACTIVITY_ID_NOT_STARTED"]
    assert attrs.identity == client.identity
    assert attrs.scheduled_event_id == scheduled.event_id
    assert attrs.started_event_id == 0
    assert attrs.latest_cancel_requested_event_id == requested.event_id
    assert not events_of(events, E.EVENT_TYPE_ACTIVITY_TASK_STARTED)
    assert activities.attempts == []


async def test_try_cancel_of_a_not_started_activity_when_the_workflow_completes_at_once(
    client: Client, task_queue: str, activities: FailureActivities
) -> None:
    wid = unique_id("cancel-unstarted-close")
    call = ActivityCall("succeed", ["x"], task_queue=f"{task_queue}-nobody", cancellation_type="TRY_CANCEL")
    async with failure_worker(client, task_queue, activities):
        handle = await client.start_workflow(
            CancelActivityWorkflow.run, args=[call, False], id=wid, task_queue=task_queue
        )
        await wait_for_event(client, wid, E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
        await handle.signal(CancelActivityWorkflow.cancel_activity)
        assert await handle.result() == CANCELLED_ACTIVITY
    events = await history_events(client, wid)
    # The workflow completed in the task that requested the cancellation: the reference writes
    # the request and the completion, and no ActivityTaskCanceled after the close event.
    assert_types(
        events,
        [
            E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
            E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
            E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
            E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
            E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
            E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
            E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
            E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
            E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
            E.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED,
            E.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED,
            E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
        ],
    )


# ------------------------------------------------------------------------- workflow cancellation


async def test_workflow_cancellation_request_then_canceled(client: Client, task_queue: str) -> None:
    wid = unique_id("wf-cancel")
    async with failure_worker(client, task_queue):
        handle = await client.start_workflow(WaitWorkflow.run, "raise", id=wid, task_queue=task_queue)
        await wait_for_event(client, wid, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as info:
            await handle.result()
    assert isinstance(info.value.cause, CancelledError)
    events = await closed_history(client, wid)
    assert_types(
        events,
        [
            E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
            E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
            E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
            E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
            E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
            E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
            E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
            E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
            E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
        ],
    )
    requested = events[4].workflow_execution_cancel_requested_event_attributes
    assert requested.identity == client.identity
    canceled = events[-1].workflow_execution_canceled_event_attributes
    assert canceled.workflow_task_completed_event_id == events[-2].event_id
    status = (await describe(client, wid)).workflow_execution_info.status
    assert status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CANCELED


async def test_workflow_may_complete_instead_of_accepting_cancellation(client: Client, task_queue: str) -> None:
    wid = unique_id("wf-cancel-complete")
    async with failure_worker(client, task_queue):
        handle = await client.start_workflow(WaitWorkflow.run, "complete", id=wid, task_queue=task_queue)
        await wait_for_event(client, wid, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
        await handle.cancel()
        assert await handle.result() == "cleaned up after cancellation"
    events = await history_events(client, wid)
    one_event(events, E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED)
    assert events[-1].event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED


async def test_repeated_cancellation_requests_record_one_event(client: Client, task_queue: str) -> None:
    wid = unique_id("wf-cancel-twice")
    # No worker: the workflow cannot react, so both requests find it running.
    handle = await client.start_workflow(WaitWorkflow.run, "raise", id=wid, task_queue=task_queue)
    await handle.cancel()
    await handle.cancel()
    events = await history_events(client, wid)
    assert len(events_of(events, E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED)) == 1, type_names(events)
    await handle.terminate(reason="cleanup")


async def test_cancelling_a_closed_workflow_is_accepted_but_terminating_it_is_not_found(
    client: Client, task_queue: str
) -> None:
    wid = unique_id("wf-cancel-closed")
    handle = await client.start_workflow(WaitWorkflow.run, "raise", id=wid, task_queue=task_queue)
    await handle.terminate(reason="closing it first")
    before = await history_events(client, wid)
    # The reference answers a cancellation request for a closed run with success, and records nothing.
    await handle.cancel()
    await client.get_workflow_handle(wid).cancel()
    assert len(await history_events(client, wid)) == len(before)
    await expect_rpc_error(handle.terminate(), RPCStatusCode.NOT_FOUND)
    await expect_rpc_error(handle.signal(WaitWorkflow.finish), RPCStatusCode.NOT_FOUND)


async def test_termination_records_reason_details_and_identity(
    client: Client, task_queue: str, activities: FailureActivities
) -> None:
    wid = unique_id("terminate")
    call = ActivityCall("stall", [None], start_to_close=30)
    async with failure_worker(client, task_queue, activities):
        handle = await client.start_workflow(
            CancelActivityWorkflow.run, args=[call, False], id=wid, task_queue=task_queue
        )
        await activities.started.wait()
        await handle.terminate("first", 2, reason="enough of this")
        with pytest.raises(WorkflowFailureError) as info:
            await handle.result()
    assert isinstance(info.value.cause, TerminatedError)
    assert info.value.cause.message == "enough of this"
    events = await history_events(client, wid)
    last = events[-1]
    assert last.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED, type_names(events)
    attrs = last.workflow_execution_terminated_event_attributes
    assert attrs.reason == "enough of this"
    assert [decode(client, p) for p in attrs.details.payloads] == ["first", 2]
    assert attrs.identity == client.identity
    # The running activity's attempt is not written on termination.
    assert not events_of(events, E.EVENT_TYPE_ACTIVITY_TASK_STARTED)
    desc = await describe(client, wid)
    assert desc.workflow_execution_info.status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED
