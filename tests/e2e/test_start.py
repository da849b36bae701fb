"""StartWorkflowExecution: idempotency, id reuse and conflict policies, memo/search attributes,
start delay, timeouts, and signal-with-start."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import pytest
from temporalio.api.command.v1 import Command, CompleteWorkflowExecutionCommandAttributes
from temporalio.api.common.v1 import WorkflowType
from temporalio.api.enums.v1 import CommandType, EventType, WorkflowExecutionStatus, WorkflowIdConflictPolicy
from temporalio.api.errordetails.v1 import WorkflowExecutionAlreadyStartedFailure
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    RespondWorkflowTaskCompletedRequest,
    StartWorkflowExecutionRequest,
    StartWorkflowExecutionResponse,
)
from temporalio.client import Client, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCStatusCode

from tests.e2e.helpers import (
    NAMESPACE,
    decode,
    describe,
    event_types,
    expect_rpc_error,
    history_events,
    one_event,
    running_worker,
    seconds,
    status_of,
    type_names,
    unique_id,
)
from tests.e2e.workflows import INT_SA, KEYWORD_SA, EchoWorkflow, SignalWorkflow

Status = WorkflowExecutionStatus


async def _raw_start(
    client: Client, workflow_id: str, task_queue: str, request_id: str, **fields: Any
) -> StartWorkflowExecutionResponse:
    return await client.workflow_service.start_workflow_execution(
        StartWorkflowExecutionRequest(
            namespace=NAMESPACE,
            workflow_id=workflow_id,
            workflow_type=WorkflowType(name="SignalWorkflow"),
            task_queue=TaskQueue(name=task_queue),
            request_id=request_id,
            **fields,
        )
    )


async def _start_idle(client: Client, workflow_id: str, task_queue: str, **options: Any) -> WorkflowHandle:
    """Start a SignalWorkflow (it waits for ``finish``); no worker needs to be running."""
    return await client.start_workflow(SignalWorkflow.run, id=workflow_id, task_queue=task_queue, **options)


async def _completed_echo(client: Client, workflow_id: str, task_queue: str) -> str:
    """Run an EchoWorkflow to completion; return its run id."""
    async with running_worker(client, task_queue):
        handle = await client.start_workflow(EchoWorkflow.run, "done", id=workflow_id, task_queue=task_queue)
        assert await handle.result() == "done"
    assert handle.result_run_id
    return handle.result_run_id


async def _terminated(client: Client, workflow_id: str, task_queue: str) -> str:
    """Start and terminate a workflow; return its run id."""
    handle = await _start_idle(client, workflow_id, task_queue)
    await handle.terminate("e2e")
    assert handle.result_run_id
    return handle.result_run_id


# --- request id idempotency -------------------------------------------------------------


async def test_same_request_id_returns_same_run(client: Client, task_queue: str) -> None:
    wid, rid = unique_id("idem"), str(uuid.uuid4())
    first = await _raw_start(client, wid, task_queue, rid)
    second = await _raw_start(client, wid, task_queue, rid)
    assert first.run_id
    assert second.run_id == first.run_id
    events = await history_events(client, wid)
    assert len([e for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED]) == 1


async def test_different_request_id_while_running_is_already_exists(client: Client, task_queue: str) -> None:
    wid = unique_id("idem-diff")
    first = await _raw_start(client, wid, task_queue, str(uuid.uuid4()))
    second_rid = str(uuid.uuid4())
    err = await expect_rpc_error(_raw_start(client, wid, task_queue, second_rid), RPCStatusCode.ALREADY_EXISTS)
    assert wid in err.message
    assert err.grpc_status.details, "ALREADY_EXISTS must carry WorkflowExecutionAlreadyStartedFailure"
    details = WorkflowExecutionAlreadyStartedFailure()
    assert err.grpc_status.details[0].Unpack(details)
    assert details.run_id == first.run_id
    assert details.start_request_id and details.start_request_id != second_rid
    # Nothing changed: the first run is still the current, running one.
    info = (await describe(client, wid)).workflow_execution_info
    assert info.execution.run_id == first.run_id
    assert info.status == Status.WORKFLOW_EXECUTION_STATUS_RUNNING


# --- id reuse policies ------------------------------------------------------------------


async def test_reuse_allow_duplicate_after_completion(client: Client, task_queue: str) -> None:
    wid = unique_id("reuse-dup")
    first_run = await _completed_echo(client, wid, task_queue)
    handle = await _start_idle(client, wid, task_queue, id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE)
    assert handle.first_execution_run_id != first_run
    assert await status_of(client, wid) == Status.WORKFLOW_EXECUTION_STATUS_RUNNING
    assert await status_of(client, wid, first_run) == Status.WORKFLOW_EXECUTION_STATUS_COMPLETED


async def test_reuse_failed_only_rejects_after_completion(client: Client, task_queue: str) -> None:
    wid = unique_id("reuse-fo-c")
    first_run = await _completed_echo(client, wid, task_queue)
    with pytest.raises(WorkflowAlreadyStartedError) as info:
        await _start_idle(client, wid, task_queue, id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY)
    assert info.value.run_id == first_run
    assert (await describe(client, wid)).workflow_execution_info.execution.run_id == first_run


async def test_reuse_failed_only_allows_after_termination(client: Client, task_queue: str) -> None:
    wid = unique_id("reuse-fo-t")
    first_run = await _terminated(client, wid, task_queue)
    handle = await _start_idle(
        client, wid, task_queue, id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY
    )
    assert handle.first_execution_run_id != first_run
    assert await status_of(client, wid) == Status.WORKFLOW_EXECUTION_STATUS_RUNNING


async def test_reuse_reject_duplicate(client: Client, task_queue: str) -> None:
    wid = unique_id("reuse-rej")
    first_run = await _terminated(client, wid, task_queue)
    with pytest.raises(WorkflowAlreadyStartedError) as info:
        await _start_idle(client, wid, task_queue, id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
    assert info.value.workflow_id == wid
    assert info.value.run_id == first_run
    assert await status_of(client, wid) == Status.WORKFLOW_EXECUTION_STATUS_TERMINATED


async def test_reuse_terminate_if_running(client: Client, task_queue: str) -> None:
    wid = unique_id("reuse-tir")
    first = await _start_idle(client, wid, task_queue)
    second = await _start_idle(client, wid, task_queue, id_reuse_policy=WorkflowIDReusePolicy.TERMINATE_IF_RUNNING)
    assert second.first_execution_run_id != first.first_execution_run_id
    assert (
        await status_of(client, wid, first.first_execution_run_id or "") == Status.WORKFLOW_EXECUTION_STATUS_TERMINATED
    )
    assert await status_of(client, wid) == Status.WORKFLOW_EXECUTION_STATUS_RUNNING


# --- id conflict policies ---------------------------------------------------------------


async def test_conflict_fail_raises_already_started(client: Client, task_queue: str) -> None:
    wid = unique_id("conf-fail")
    first = await _start_idle(client, wid, task_queue)
    with pytest.raises(WorkflowAlreadyStartedError) as info:
        await _start_idle(client, wid, task_queue, id_conflict_policy=WorkflowIDConflictPolicy.FAIL)
    assert info.value.workflow_id == wid
    assert info.value.workflow_type == "SignalWorkflow"
    assert info.value.run_id == first.first_execution_run_id


async def test_conflict_use_existing_returns_running_run(client: Client, task_queue: str) -> None:
    wid = unique_id("conf-use")
    first = await _raw_start(client, wid, task_queue, str(uuid.uuid4()))
    second = await _raw_start(
        client,
        wid,
        task_queue,
        str(uuid.uuid4()),
        workflow_id_conflict_policy=WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
    )
    assert second.run_id == first.run_id
    assert first.started is True
    assert second.started is False
    # Through the SDK too.
    handle = await _start_idle(client, wid, task_queue, id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)
    assert handle.first_execution_run_id == first.run_id
    assert await status_of(client, wid) == Status.WORKFLOW_EXECUTION_STATUS_RUNNING


async def test_conflict_terminate_existing(client: Client, task_queue: str) -> None:
    wid = unique_id("conf-term")
    first = await _start_idle(client, wid, task_queue)
    second = await _start_idle(client, wid, task_queue, id_conflict_policy=WorkflowIDConflictPolicy.TERMINATE_EXISTING)
    assert second.first_execution_run_id != first.first_execution_run_id
    old = first.first_execution_run_id or ""
    assert await status_of(client, wid, old) == Status.WORKFLOW_EXECUTION_STATUS_TERMINATED
    assert await status_of(client, wid) == Status.WORKFLOW_EXECUTION_STATUS_RUNNING
    old_events = await history_events(client, wid, old)
    assert old_events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED


# --- memo, search attributes, start delay, timeouts -------------------------------------


async def test_memo_and_search_attributes_at_start(
    client: Client, task_queue: str, search_attributes: Mapping[str, object]
) -> None:
    wid = unique_id("memo-sa")
    handle = await _start_idle(
        client,
        wid,
        task_queue,
        memo={"owner": "e2e", "count": 3},
        search_attributes=TypedSearchAttributes(
            [SearchAttributePair(KEYWORD_SA, "kw-start"), SearchAttributePair(INT_SA, 7)]
        ),
    )
    desc = await handle.describe()
    assert await desc.memo() == {"owner": "e2e", "count": 3}
    assert desc.typed_search_attributes.get(KEYWORD_SA) == "kw-start"
    assert desc.typed_search_attributes.get(INT_SA) == 7

    started = (await history_events(client, wid))[0].workflow_execution_started_event_attributes
    assert decode(client, started.memo.fields["owner"]) == "e2e"
    assert decode(client, started.memo.fields["count"]) == 3
    assert decode(client, started.search_attributes.indexed_fields[KEYWORD_SA.name]) == "kw-start"
    assert decode(client, started.search_attributes.indexed_fields[INT_SA.name]) == 7


async def test_start_delay_backs_off_first_workflow_task(client: Client, task_queue: str) -> None:
    wid = unique_id("delay")
    await _start_idle(client, wid, task_queue, start_delay=seconds(30))
    events = await history_events(client, wid)
    started = events[0].workflow_execution_started_event_attributes
    assert started.first_workflow_task_backoff.ToTimedelta() == seconds(30)
    # No workflow task is scheduled until the delay passes.
    assert event_types(events) == [EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED], type_names(events)
    info = (await describe(client, wid)).workflow_execution_info
    delta = info.execution_time.ToDatetime() - info.start_time.ToDatetime()
    assert seconds(29) <= delta <= seconds(31), delta


async def test_short_start_delay_then_runs(client: Client, task_queue: str) -> None:
    wid = unique_id("delay-run")
    async with running_worker(client, task_queue):
        handle = await client.start_workflow(
            EchoWorkflow.run, "late", id=wid, task_queue=task_queue, start_delay=seconds(0.5)
        )
        assert await handle.result() == "late"
    events = await history_events(client, wid)
    scheduled = one_event(events, EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)
    assert scheduled.event_time.ToDatetime() - events[0].event_time.ToDatetime() >= seconds(0.4)


async def test_timeouts_recorded_in_started_event(client: Client, task_queue: str) -> None:
    wid = unique_id("timeouts")
    await _start_idle(
        client,
        wid,
        task_queue,
        execution_timeout=seconds(600),
        run_timeout=seconds(300),
        task_timeout=seconds(7),
    )
    attrs = (await history_events(client, wid))[0].workflow_execution_started_event_attributes
    assert attrs.workflow_execution_timeout.ToTimedelta() == seconds(600)
    assert attrs.workflow_run_timeout.ToTimedelta() == seconds(300)
    assert attrs.workflow_task_timeout.ToTimedelta() == seconds(7)
    assert attrs.task_queue.name == task_queue
    assert attrs.workflow_type.name == "SignalWorkflow"
    assert attrs.attempt == 1
    assert attrs.original_execution_run_id == attrs.first_execution_run_id
    info = (await describe(client, wid)).workflow_execution_info
    assert info.execution_time == info.start_time


async def test_default_timeouts(client: Client, task_queue: str) -> None:
    wid = unique_id("timeouts-default")
    await _start_idle(client, wid, task_queue, execution_timeout=seconds(120))
    attrs = (await history_events(client, wid))[0].workflow_execution_started_event_attributes
    assert attrs.workflow_execution_timeout.ToTimedelta() == seconds(120)
    # The run timeout defaults to the execution timeout, the task timeout to 10 s.
    assert attrs.workflow_run_timeout.ToTimedelta() == seconds(120)
    assert attrs.workflow_task_timeout.ToTimedelta() == seconds(10)


# --- signal-with-start ------------------------------------------------------------------


async def test_signal_with_start_new_workflow(client: Client, task_queue: str) -> None:
    wid = unique_id("sws-new")
    handle = await _start_idle(client, wid, task_queue, start_signal="add", start_signal_args=["first"])
    events = await history_events(client, wid)
    assert event_types(events)[:2] == [
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
    ], type_names(events)
    signalled = events[1].workflow_execution_signaled_event_attributes
    assert signalled.signal_name == "add"
    assert [decode(client, p) for p in signalled.input.payloads] == ["first"]
    async with running_worker(client, task_queue):
        await handle.signal(SignalWorkflow.finish)
        assert await handle.result() == ["first"]


async def test_signal_with_start_existing_workflow(client: Client, task_queue: str) -> None:
    wid = unique_id("sws-existing")
    first = await _start_idle(client, wid, task_queue)
    second = await _start_idle(client, wid, task_queue, start_signal="add", start_signal_args=["again"])
    assert second.result_run_id == first.first_execution_run_id
    events = await history_events(client, wid)
    assert len([e for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED]) == 1
    signalled = one_event(events, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
    assert signalled.workflow_execution_signaled_event_attributes.signal_name == "add"
    async with running_worker(client, task_queue):
        await first.signal(SignalWorkflow.finish)
        assert await first.result() == ["again"]


async def test_signal_with_start_on_closed_workflow_starts_new_run(client: Client, task_queue: str) -> None:
    wid = unique_id("sws-closed")
    first_run = await _terminated(client, wid, task_queue)
    handle = await _start_idle(client, wid, task_queue, start_signal="add", start_signal_args=["fresh"])
    assert handle.result_run_id != first_run
    events = await history_events(client, wid)
    assert event_types(events)[:2] == [
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
    ], type_names(events)
    assert await status_of(client, wid, first_run) == Status.WORKFLOW_EXECUTION_STATUS_TERMINATED


# --- eager workflow start ---------------------------------------------------------------


async def test_eager_workflow_start_returns_first_task(client: Client, task_queue: str) -> None:
    wid = unique_id("eager")
    resp = await _raw_start(
        client, wid, task_queue, str(uuid.uuid4()), request_eager_execution=True, identity="eager-starter"
    )
    task = resp.eager_workflow_task
    assert task.task_token, "the reference hands the first workflow task back on an eager start"
    assert task.workflow_execution.workflow_id == wid
    assert task.workflow_execution.run_id == resp.run_id
    assert task.workflow_type.name == "SignalWorkflow"
    assert [e.event_type for e in task.history.events] == [
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    ]
    complete = Command(
        command_type=CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
        complete_workflow_execution_command_attributes=CompleteWorkflowExecutionCommandAttributes(),
    )
    await client.workflow_service.respond_workflow_task_completed(
        RespondWorkflowTaskCompletedRequest(
            namespace=NAMESPACE, task_token=task.task_token, commands=[complete], identity="eager-starter"
        )
    )
    assert await status_of(client, wid) == Status.WORKFLOW_EXECUTION_STATUS_COMPLETED


async def test_eager_start_through_the_sdk(client: Client, task_queue: str) -> None:
    wid = unique_id("eager-sdk")
    async with running_worker(client, task_queue):
        handle = await client.start_workflow(
            EchoWorkflow.run, "eager", id=wid, task_queue=task_queue, request_eager_start=True
        )
        assert await handle.result() == "eager"
    events = await history_events(client, wid)
    assert events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
