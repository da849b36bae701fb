"""Child and external workflows: a child that cannot start, child completed / failed / canceled /
timed out / terminated events in the parent, parent close policies, and signalling or cancelling
a missing or closed external workflow."""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import (
    CancelExternalWorkflowExecutionFailedCause,
    EventType,
    RetryState,
    SignalExternalWorkflowExecutionFailedCause,
    StartChildWorkflowExecutionFailedCause,
    WorkflowExecutionStatus,
)
from temporalio.client import Client

from tests.e2e.helpers import (
    decode_all,
    describe,
    events_of,
    history_events,
    one_event,
    type_names,
    unique_id,
    wait_for,
    wait_for_event,
)
from tests.failures.helpers import closed_history, failure_worker, terminate_quietly
from tests.failures.workflows import (
    CancelExternalWorkflow,
    ChildSpec,
    ParentWorkflow,
    SignalExternalWorkflow,
    WaitWorkflow,
)

E = EventType
Status = WorkflowExecutionStatus


ALREADY_EXISTS = (
    StartChildWorkflowExecutionFailedCause.START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_WORKFLOW_ALREADY_EXISTS
)


async def status_of(client: Client, workflow_id: str) -> WorkflowExecutionStatus.ValueType:
    return (await describe(client, workflow_id)).workflow_execution_info.status


async def test_child_that_is_already_running_fails_to_start(client: Client, task_queue: str) -> None:
    wid, child_id = unique_id("parent"), unique_id("taken")
    squatter = await client.start_workflow(WaitWorkflow.run, id=child_id, task_queue=f"{task_queue}-nobody")
    try:
        async with failure_worker(client, task_queue):
            result = await client.execute_workflow(
                ParentWorkflow.run, ChildSpec(child_id), id=wid, task_queue=task_queue
            )
        assert result[0] == "start failed"
        assert result[1].startswith("WorkflowAlreadyStartedError")
        events = await history_events(client, wid)
        initiated = one_event(events, E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED)
        failed = one_event(events, E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED)
        attrs = failed.start_child_workflow_execution_failed_event_attributes
        assert attrs.cause == ALREADY_EXISTS
        assert attrs.workflow_id == child_id
        assert attrs.workflow_type.name == "WaitWorkflow"
        assert attrs.initiated_event_id == initiated.event_id
        # The running workflow is untouched.
        assert await status_of(client, child_id) == Status.WORKFLOW_EXECUTION_STATUS_RUNNING
        assert len(await history_events(client, child_id)) == 2
    finally:
        await terminate_quietly(squatter)


async def test_child_completed(client: Client, task_queue: str) -> None:
    wid, child_id = unique_id("parent"), unique_id("child")
    async with failure_worker(client, task_queue):
        parent = await client.start_workflow(ParentWorkflow.run, ChildSpec(child_id), id=wid, task_queue=task_queue)
        await wait_for_event(client, wid, E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED)
        await client.get_workflow_handle(child_id).signal(WaitWorkflow.finish)
        assert await parent.result() == ["child result: finished"]
    events = await history_events(client, wid)
    initiated = one_event(events, E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED)
    started = one_event(events, E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED)
    completed = one_event(events, E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED)
    attrs = completed.child_workflow_execution_completed_event_attributes
    assert attrs.initiated_event_id == initiated.event_id
    assert attrs.started_event_id == started.event_id
    assert attrs.workflow_execution.workflow_id == child_id
    assert decode_all(client, attrs.result) == ["finished"]
    child_started = (await history_events(client, child_id))[0].workflow_execution_started_event_attributes
    assert child_started.parent_workflow_execution.workflow_id == wid
    assert child_started.parent_initiated_event_id == initiated.event_id


async def test_child_failed(client: Client, task_queue: str) -> None:
    wid, child_id = unique_id("parent"), unique_id("child")
    async with failure_worker(client, task_queue):
        result = await client.execute_workflow(
            ParentWorkflow.run, ChildSpec(child_id, kind="fail"), id=wid, task_queue=task_queue
        )
    assert result == [
        "ChildWorkflowError: Child Workflow execution failed",
        "ApplicationError: ChildBroke: child broke",
    ]
    failed = one_event(await history_events(client, wid), E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED)
    attrs = failed.child_workflow_execution_failed_event_attributes
    assert attrs.failure.message == "child broke"
    assert attrs.failure.application_failure_info.type == "ChildBroke"
    # No retry policy on the child: that is the retry state, even for a non-retryable error.
    assert attrs.retry_state == RetryState.RETRY_STATE_RETRY_POLICY_NOT_SET
    assert await status_of(client, child_id) == Status.WORKFLOW_EXECUTION_STATUS_FAILED


async def test_child_canceled_by_its_parent(client: Client, task_queue: str) -> None:
    wid, child_id = unique_id("parent"), unique_id("child")
    async with failure_worker(client, task_queue):
        result = await client.execute_workflow(
            ParentWorkflow.run, ChildSpec(child_id, action="cancel"), id=wid, task_queue=task_queue
        )
    assert result == ["ChildWorkflowError: Child Workflow execution cancelled", "CancelledError: Cancelled"]
    events = await history_events(client, wid)
    initiated = one_event(events, E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED)
    assert initiated.request_cancel_external_workflow_execution_initiated_event_attributes.child_workflow_only
    requested = one_event(events, E.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED)
    assert requested.external_workflow_execution_cancel_requested_event_attributes.initiated_event_id == (
        initiated.event_id
    )
    canceled = one_event(events, E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED)
    assert canceled.child_workflow_execution_canceled_event_attributes.workflow_execution.workflow_id == child_id
    child_events = await history_events(client, child_id)
    request = one_event(child_events, E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED)
    attrs = request.workflow_execution_cancel_requested_event_attributes
    assert attrs.external_initiated_event_id == initiated.event_id
    assert attrs.external_workflow_execution.workflow_id == wid
    assert child_events[-1].event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED


async def test_child_timed_out(client: Client, task_queue: str) -> None:
    wid, child_id = unique_id("parent"), unique_id("child")
    async with failure_worker(client, task_queue):
        result = await client.execute_workflow(
            ParentWorkflow.run, ChildSpec(child_id, kind="hang", run_timeout=1), id=wid, task_queue=task_queue
        )
    assert result == ["ChildWorkflowError: Child Workflow execution timed out", "TimeoutError: Timed out"]
    timed_out = one_event(await history_events(client, wid), E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT)
    attrs = timed_out.child_workflow_execution_timed_out_event_attributes
    assert attrs.workflow_execution.workflow_id == child_id
    assert attrs.retry_state == RetryState.RETRY_STATE_RETRY_POLICY_NOT_SET
    child_events = await history_events(client, child_id)
    assert child_events[-1].event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT


async def test_child_terminated(client: Client, task_queue: str) -> None:
    wid, child_id = unique_id("parent"), unique_id("child")
    async with failure_worker(client, task_queue):
        parent = await client.start_workflow(ParentWorkflow.run, ChildSpec(child_id), id=wid, task_queue=task_queue)
        await wait_for_event(client, wid, E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED)
        await client.get_workflow_handle(child_id).terminate(reason="stop the child")
        result = await parent.result()
    assert result == ["ChildWorkflowError: Child Workflow execution terminated", "TerminatedError: Terminated"]
    terminated = one_event(await history_events(client, wid), E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED)
    assert terminated.child_workflow_execution_terminated_event_attributes.workflow_execution.workflow_id == child_id


# ------------------------------------------------------------------------ parent close policy


async def run_parent_then_close(client: Client, task_queue: str, policy: str) -> tuple[str, str]:
    """Start a parent whose child (WaitWorkflow) has ``policy``; complete the parent; return the ids."""
    wid, child_id = unique_id("pcp-parent"), unique_id("pcp-child")
    spec = ChildSpec(child_id, action="start", parent_close_policy=policy)
    parent = await client.start_workflow(ParentWorkflow.run, spec, id=wid, task_queue=task_queue)
    await wait_for_event(client, wid, E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED)
    await wait_for_event(client, child_id, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
    await parent.signal(ParentWorkflow.finish)
    assert await parent.result() == ["parent done"]
    return wid, child_id


async def test_parent_close_policy_terminate(client: Client, task_queue: str) -> None:
    async with failure_worker(client, task_queue):
        wid, child_id = await run_parent_then_close(client, task_queue, "TERMINATE")
        events = await closed_history(client, child_id)
    terminated = events[-1]
    assert terminated.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED, type_names(events)
    attrs = terminated.workflow_execution_terminated_event_attributes
    assert attrs.reason == "by parent close policy"
    assert attrs.identity == "history-service"
    initiated = one_event(await history_events(client, wid), E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED)
    assert initiated.start_child_workflow_execution_initiated_event_attributes.parent_close_policy == 1


async def test_parent_close_policy_request_cancel(client: Client, task_queue: str) -> None:
    async with failure_worker(client, task_queue):
        wid, child_id = await run_parent_then_close(client, task_queue, "REQUEST_CANCEL")
        events = await closed_history(client, child_id)
    assert events[-1].event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED, type_names(events)
    request = one_event(events, E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED)
    attrs = request.workflow_execution_cancel_requested_event_attributes
    assert attrs.cause == ""  # unlike termination, no reason is given
    assert attrs.external_initiated_event_id == 0
    assert attrs.identity == "history-service"
    assert attrs.external_workflow_execution.workflow_id == wid
    # The parent's history records nothing about it: the parent was already closed.
    parent_events = await history_events(client, wid)
    assert parent_events[-1].event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
    assert not events_of(parent_events, E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED)


async def test_parent_close_policy_abandon(client: Client, task_queue: str) -> None:
    async with failure_worker(client, task_queue):
        wid, child_id = await run_parent_then_close(client, task_queue, "ABANDON")
        assert await status_of(client, child_id) == Status.WORKFLOW_EXECUTION_STATUS_RUNNING
        child = client.get_workflow_handle(child_id)
        await child.signal(WaitWorkflow.finish)
        assert await child.result() == "finished"
    events = await history_events(client, child_id)
    assert not events_of(events, E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED)
    assert events[0].workflow_execution_started_event_attributes.parent_workflow_execution.workflow_id == wid


# ----------------------------------------------------------------------- external workflows


SIGNAL_NOT_FOUND = SignalExternalWorkflowExecutionFailedCause.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND  # noqa: E501
CANCEL_NOT_FOUND = CancelExternalWorkflowExecutionFailedCause.CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND  # noqa: E501


SIGNAL_NOT_FOUND_ERROR = (
    "ApplicationError: ExternalWorkflowExecutionNotFound: Unable to signal external workflow because it was not found"
)
CANCEL_NOT_FOUND_ERROR = (
    "ApplicationError: ExternalWorkflowExecutionNotFound: Unable to cancel external workflow because not found"
)


async def closed_target(client: Client, task_queue: str) -> str:
    target = unique_id("closed-target")
    handle = await client.start_workflow(WaitWorkflow.run, id=target, task_queue=task_queue)
    await handle.signal(WaitWorkflow.finish)
    assert await handle.result() == "finished"
    return target


@pytest.mark.parametrize("target_state", ["missing", "closed"])
async def test_signal_external_workflow_that_is_missing_or_closed(
    client: Client, task_queue: str, target_state: str
) -> None:
    wid = unique_id("signaller")
    async with failure_worker(client, task_queue):
        target = unique_id("no-such") if target_state == "missing" else await closed_target(client, task_queue)
        result = await client.execute_workflow(
            SignalExternalWorkflow.run, args=[target, None], id=wid, task_queue=task_queue
        )
    assert result == [SIGNAL_NOT_FOUND_ERROR]
    events = await history_events(client, wid)
    initiated = one_event(events, E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED)
    failed = one_event(events, E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED)
    attrs = failed.signal_external_workflow_execution_failed_event_attributes
    assert attrs.cause == SIGNAL_NOT_FOUND
    assert attrs.initiated_event_id == initiated.event_id
    assert attrs.workflow_execution.workflow_id == target
    assert attrs.control == initiated.signal_external_workflow_execution_initiated_event_attributes.control


async def test_signal_external_workflow_with_a_wrong_run_id(client: Client, task_queue: str) -> None:
    wid, target = unique_id("signaller"), unique_id("target")
    async with failure_worker(client, task_queue):
        handle = await client.start_workflow(WaitWorkflow.run, id=target, task_queue=task_queue)
        try:
            result = await client.execute_workflow(
                SignalExternalWorkflow.run,
                args=[target, "00000000-0000-0000-0000-000000000000"],
                id=wid,
                task_queue=task_queue,
            )
            assert result == [SIGNAL_NOT_FOUND_ERROR]
            assert not events_of(await history_events(client, target), E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
        finally:
            await terminate_quietly(handle)


@pytest.mark.parametrize("target_state", ["missing", "closed"])
async def test_cancel_external_workflow_that_is_missing_or_closed(
    client: Client, task_queue: str, target_state: str
) -> None:
    wid = unique_id("canceller")
    async with failure_worker(client, task_queue):
        target = unique_id("no-such") if target_state == "missing" else await closed_target(client, task_queue)
        result = await client.execute_workflow(
            CancelExternalWorkflow.run, args=[target, None], id=wid, task_queue=task_queue
        )
    events = await history_events(client, wid)
    initiated = one_event(events, E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED)
    if target_state == "missing":
        assert result == [CANCEL_NOT_FOUND_ERROR]
        failed = one_event(events, E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED)
        attrs = failed.request_cancel_external_workflow_execution_failed_event_attributes
        assert attrs.cause == CANCEL_NOT_FOUND
        assert attrs.initiated_event_id == initiated.event_id
        assert attrs.workflow_execution.workflow_id == target
    else:
        # As with RequestCancelWorkflowExecution, a closed target accepts the request and ignores it.
        assert result == ["cancel requested"]
        one_event(events, E.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED)
        target_events = await history_events(client, target)
        assert target_events[-1].event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED


async def test_cancel_external_running_workflow(client: Client, task_queue: str) -> None:
    wid, target = unique_id("canceller"), unique_id("target")
    async with failure_worker(client, task_queue):
        handle = await client.start_workflow(WaitWorkflow.run, "complete", id=target, task_queue=task_queue)
        await wait_for_event(client, target, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
        result = await client.execute_workflow(
            CancelExternalWorkflow.run, args=[target, None], id=wid, task_queue=task_queue
        )
        assert result == ["cancel requested"]
        assert await handle.result() == "cleaned up after cancellation"
    request = one_event(await history_events(client, target), E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED)
    attrs = request.workflow_execution_cancel_requested_event_attributes
    assert attrs.external_workflow_execution.workflow_id == wid
    assert attrs.external_initiated_event_id > 0

    async def recorded() -> bool:
        return bool(
            events_of(await history_events(client, wid), E.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED)
        )

    await wait_for(recorded, what="ExternalWorkflowExecutionCancelRequested in the canceller")
