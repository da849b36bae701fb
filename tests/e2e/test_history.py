"""GetWorkflowExecutionHistory (paging, long poll, close-event filter), the reverse history,
and DescribeWorkflowExecution (pending workflow task, activities and children)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from temporalio.api.enums.v1 import (
    EventType,
    HistoryEventFilterType,
    PendingActivityState,
    PendingWorkflowTaskState,
    WorkflowExecutionStatus,
)
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflow.v1 import PendingChildExecutionInfo
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryReverseRequest
from temporalio.client import Client, WorkflowHandle

from tests.e2e.helpers import (
    NAMESPACE,
    describe,
    history_events,
    history_request,
    running_worker,
    type_names,
    unique_id,
    wait_for,
    wait_for_event,
)
from tests.e2e.invariants import history_problems
from tests.e2e.workflows import ActivityCall, ActivityWorkflow, ChildCall, EchoWorkflow, ParentWorkflow, SignalWorkflow

E = EventType
CLOSE_EVENT = HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT


async def _idle_with_signals(client: Client, task_queue: str, signals: int) -> WorkflowHandle:
    """A running workflow (no worker) whose history is Started, WorkflowTaskScheduled and ``signals`` signals."""
    handle = await client.start_workflow(SignalWorkflow.run, id=unique_id("hist"), task_queue=task_queue)
    for i in range(signals):
        await handle.signal(SignalWorkflow.add, f"s{i}")
    return handle


async def _paged(
    client: Client, workflow_id: str, page_size: int, *, reverse: bool = False
) -> list[list[HistoryEvent]]:
    """Every page of the (reverse) history, following next_page_token."""
    pages: list[list[HistoryEvent]] = []
    token = b""
    while True:
        resp: Any
        if reverse:
            resp = await client.workflow_service.get_workflow_execution_history_reverse(
                GetWorkflowExecutionHistoryReverseRequest(
                    namespace=NAMESPACE,
                    execution=history_request(workflow_id).execution,
                    maximum_page_size=page_size,
                    next_page_token=token,
                )
            )
        else:
            resp = await client.workflow_service.get_workflow_execution_history(
                history_request(workflow_id, maximum_page_size=page_size, next_page_token=token)
            )
        pages.append(list(resp.history.events))
        token = resp.next_page_token
        if not token:
            return pages
        assert len(pages) < 100, "history paging never ended"


async def test_history_paging(client: Client, task_queue: str) -> None:
    handle = await _idle_with_signals(client, task_queue, 10)
    full = await history_events(client, handle.id)
    assert len(full) == 12, type_names(full)

    pages = await _paged(client, handle.id, 3)
    assert len(pages) >= 3, [len(p) for p in pages]
    assert all(pages), f"empty page in {[len(p) for p in pages]}"
    assert [e.event_id for page in pages for e in page] == list(range(1, 13))
    assert [e for page in pages for e in page] == full


async def test_reverse_history_paging(client: Client, task_queue: str) -> None:
    handle = await _idle_with_signals(client, task_queue, 10)
    full = await history_events(client, handle.id)

    pages = await _paged(client, handle.id, 4, reverse=True)
    assert len(pages) >= 2, [len(p) for p in pages]
    assert all(pages)
    flat = [e for page in pages for e in page]
    assert [e.event_id for e in flat] == list(range(len(full), 0, -1))
    assert flat == list(reversed(full))


async def test_wait_new_event_long_polls(client: Client, task_queue: str) -> None:
    handle = await _idle_with_signals(client, task_queue, 2)
    first = await client.workflow_service.get_workflow_execution_history(
        history_request(handle.id, wait_new_event=True)
    )
    assert [e.event_id for e in first.history.events] == [1, 2, 3, 4]
    assert first.next_page_token, "a running workflow's history must hand out a token to wait on"

    async def signal_later() -> None:
        await asyncio.sleep(0.5)
        await handle.signal(SignalWorkflow.add, "late")

    signaller = asyncio.create_task(signal_later())
    begin = time.monotonic()
    second = await client.workflow_service.get_workflow_execution_history(
        history_request(handle.id, wait_new_event=True, next_page_token=first.next_page_token)
    )
    elapsed = time.monotonic() - begin
    await signaller
    assert elapsed >= 0.4, f"the long poll returned after {elapsed:.2f}s, before the new event existed"
    events = list(second.history.events)
    assert [e.event_id for e in events] == [5], type_names(events)
    assert events[0].event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    assert events[0].workflow_execution_signaled_event_attributes.signal_name == "add"


async def test_close_event_filter_waits_for_close(client: Client, task_queue: str) -> None:
    handle = await _idle_with_signals(client, task_queue, 1)

    async def terminate_later() -> None:
        await asyncio.sleep(0.5)
        await handle.terminate(reason="closing")

    terminator = asyncio.create_task(terminate_later())
    begin = time.monotonic()
    resp = await client.workflow_service.get_workflow_execution_history(
        history_request(handle.id, wait_new_event=True, history_event_filter_type=CLOSE_EVENT)
    )
    elapsed = time.monotonic() - begin
    await terminator
    assert elapsed >= 0.4, f"returned after {elapsed:.2f}s, before the workflow closed"
    events = list(resp.history.events)
    assert [e.event_type for e in events] == [E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED], type_names(events)
    assert events[0].event_id == 4
    assert not resp.next_page_token

    # On a closed workflow the filter answers at once, again with only the close event.
    again = await client.workflow_service.get_workflow_execution_history(
        history_request(handle.id, history_event_filter_type=CLOSE_EVENT)
    )
    assert [e.event_id for e in again.history.events] == [4]


async def test_wait_new_event_on_closed_workflow_returns_everything(client: Client, task_queue: str) -> None:
    handle = await _idle_with_signals(client, task_queue, 1)
    await handle.terminate(reason="done")
    resp = await client.workflow_service.get_workflow_execution_history(history_request(handle.id, wait_new_event=True))
    assert [e.event_id for e in resp.history.events] == [1, 2, 3, 4]
    assert resp.history.events[-1].event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED
    assert not resp.next_page_token


async def test_describe_pending_workflow_task(client: Client, task_queue: str) -> None:
    handle = await client.start_workflow(SignalWorkflow.run, id=unique_id("desc-wft"), task_queue=task_queue)
    desc = await describe(client, handle.id)
    info = desc.workflow_execution_info
    assert info.execution.workflow_id == handle.id
    assert info.execution.run_id == handle.first_execution_run_id
    assert info.type.name == "SignalWorkflow"
    assert info.status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
    assert info.task_queue == task_queue
    assert info.history_length == 2
    assert info.HasField("start_time")
    assert not info.HasField("close_time")
    assert desc.execution_config.task_queue.name == task_queue
    assert desc.pending_workflow_task.state == PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_SCHEDULED
    assert desc.pending_workflow_task.attempt == 1


async def test_describe_pending_activity(client: Client, task_queue: str) -> None:
    wid = unique_id("desc-act")
    nobody = unique_id("unpolled")
    call = ActivityCall("echo", ["x"], task_queue=nobody, activity_id="pending-act")
    async with running_worker(client, task_queue):
        await client.start_workflow(ActivityWorkflow.run, call, id=wid, task_queue=task_queue)
        await wait_for_event(client, wid, E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
        desc = await describe(client, wid)
    assert len(desc.pending_activities) == 1
    pending = desc.pending_activities[0]
    assert pending.activity_id == "pending-act"
    assert pending.activity_type.name == "echo"
    assert pending.state == PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED
    assert pending.attempt == 1
    assert pending.maximum_attempts == 1
    assert not desc.HasField("pending_workflow_task")


async def test_describe_pending_child(client: Client, task_queue: str) -> None:
    wid, child_id = unique_id("desc-parent"), unique_id("desc-child")
    nobody = unique_id("unpolled")
    async with running_worker(client, task_queue):
        await client.start_workflow(ParentWorkflow.run, ChildCall(child_id, "v", nobody), id=wid, task_queue=task_queue)
        events = await wait_for_event(client, wid, E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED)

        async def pending_children() -> list[PendingChildExecutionInfo]:
            return list((await describe(client, wid)).pending_children)

        children = await wait_for(pending_children, what="a pending child in describe")
    initiated = next(e for e in events if e.event_type == E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED)
    started = next(e for e in events if e.event_type == E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED)
    assert len(children) == 1
    child = children[0]
    assert child.workflow_id == child_id
    assert child.workflow_type_name == "EchoWorkflow"
    assert child.run_id == started.child_workflow_execution_started_event_attributes.workflow_execution.run_id
    assert child.initiated_id == initiated.event_id
    child_desc = await describe(client, child_id)
    assert child_desc.workflow_execution_info.parent_execution.workflow_id == wid
    assert child_desc.workflow_execution_info.task_queue == nobody


async def test_describe_closed_workflow(client: Client, task_queue: str) -> None:
    wid = unique_id("desc-closed")
    async with running_worker(client, task_queue):
        await client.execute_workflow(EchoWorkflow.run, "x", id=wid, task_queue=task_queue)
    events = await history_events(client, wid)
    desc = await describe(client, wid)
    info = desc.workflow_execution_info
    assert info.status == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED
    assert info.HasField("close_time")
    assert info.close_time.ToDatetime() >= info.start_time.ToDatetime()
    assert info.history_length == len(events)
    assert not desc.pending_activities
    assert not desc.pending_children
    assert not desc.HasField("pending_workflow_task")


async def test_history_invariant_checker_detects_problems(client: Client, task_queue: str) -> None:
    """The checker every test relies on flags a broken reference and a gap in event ids."""
    async with running_worker(client, task_queue):
        wid = unique_id("inv")
        await client.execute_workflow(EchoWorkflow.run, "x", id=wid, task_queue=task_queue)
    events = await history_events(client, wid)  # well formed, or this raises
    assert not history_problems(events)

    broken = [HistoryEvent() for _ in events]
    for copy, original in zip(broken, events, strict=True):
        copy.CopyFrom(original)
    started = next(e for e in broken if e.event_type == E.EVENT_TYPE_WORKFLOW_TASK_STARTED)
    started.workflow_task_started_event_attributes.scheduled_event_id = 1
    broken[-1].event_id += 1
    problems = history_problems(broken)
    assert any("scheduled_event_id=1" in p for p in problems), problems
    assert any("event ids" in p for p in problems), problems
