"""Workers and task queues: sticky queues, ResetStickyTaskQueue, several workers sharing a queue,
a worker going away, and DescribeTaskQueue pollers."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, TaskQueueKind, TaskQueueType, WorkflowExecutionStatus
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeTaskQueueRequest,
    PollActivityTaskQueueRequest,
    PollWorkflowTaskQueueRequest,
    ResetStickyTaskQueueRequest,
)
from temporalio.client import Client, WorkflowHandle

from tests.e2e.helpers import (
    NAMESPACE,
    another_client,
    describe,
    events_of,
    history_events,
    running_worker,
    seconds,
    unique_id,
    wait_for,
    wait_for_event,
)
from tests.e2e.workflows import EchoWorkflow, SignalWorkflow

E = EventType
WORKFLOW_TQ = TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW
ACTIVITY_TQ = TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY


async def _poller_identities(
    client: Client,
    name: str,
    tq_type: TaskQueueType.ValueType = WORKFLOW_TQ,
    kind: TaskQueueKind.ValueType = TaskQueueKind.TASK_QUEUE_KIND_NORMAL,
) -> set[str]:
    resp = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=NAMESPACE, task_queue=TaskQueue(name=name, kind=kind), task_queue_type=tq_type
        )
    )
    return {p.identity for p in resp.pollers}


async def _wait_pollers(client: Client, name: str, identities: set[str], **kwargs: Any) -> None:
    async def present() -> bool:
        return identities <= await _poller_identities(client, name, **kwargs)

    await wait_for(present, what=f"pollers {sorted(identities)} on {name}")


def _scheduled_queues(events: list[HistoryEvent]) -> list[tuple[str, int]]:
    """(task queue name, kind) of every WorkflowTaskScheduled event."""
    return [
        (
            e.workflow_task_scheduled_event_attributes.task_queue.name,
            e.workflow_task_scheduled_event_attributes.task_queue.kind,
        )
        for e in events_of(events, E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)
    ]


def _task_identities(events: list[HistoryEvent]) -> list[str]:
    """Identity of the worker that completed each workflow task."""
    return [
        e.workflow_task_completed_event_attributes.identity
        for e in events_of(events, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
    ]


async def _signal_and_wait_task(
    client: Client, handle: WorkflowHandle, value: str, completed_tasks: int
) -> list[HistoryEvent]:
    """Signal ``add`` and wait until the workflow has completed ``completed_tasks`` workflow tasks."""
    await handle.signal(SignalWorkflow.add, value)
    return await wait_for_event(client, handle.id, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, count=completed_tasks)


async def test_second_workflow_task_goes_to_sticky_queue(client: Client, task_queue: str) -> None:
    async with running_worker(client, task_queue, identity="sticky-worker"):
        handle = await client.start_workflow(SignalWorkflow.run, id=unique_id("sticky"), task_queue=task_queue)
        await wait_for_event(client, handle.id, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
        events = await _signal_and_wait_task(client, handle, "a", 2)

        queues = _scheduled_queues(events)
        assert queues[0] == (task_queue, TaskQueueKind.TASK_QUEUE_KIND_NORMAL)
        sticky_name, sticky_kind = queues[1]
        assert sticky_kind == TaskQueueKind.TASK_QUEUE_KIND_STICKY
        assert sticky_name and sticky_name != task_queue
        # The worker polls its sticky queue.
        await _wait_pollers(client, sticky_name, {"sticky-worker"}, kind=TaskQueueKind.TASK_QUEUE_KIND_STICKY)
        await handle.signal(SignalWorkflow.finish)
        assert await handle.result() == ["a"]


async def test_reset_sticky_task_queue(client: Client, task_queue: str) -> None:
    async with running_worker(client, task_queue):
        handle = await client.start_workflow(SignalWorkflow.run, id=unique_id("reset-sticky"), task_queue=task_queue)
        await wait_for_event(client, handle.id, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
        events = await _signal_and_wait_task(client, handle, "a", 2)
        assert _scheduled_queues(events)[1][1] == TaskQueueKind.TASK_QUEUE_KIND_STICKY

        await client.workflow_service.reset_sticky_task_queue(
            ResetStickyTaskQueueRequest(namespace=NAMESPACE, execution=WorkflowExecution(workflow_id=handle.id))
        )
        events = await _signal_and_wait_task(client, handle, "b", 3)
        assert _scheduled_queues(events)[2] == (task_queue, TaskQueueKind.TASK_QUEUE_KIND_NORMAL)

        # The worker re-attaches its sticky queue on the next completion.
        events = await _signal_and_wait_task(client, handle, "c", 4)
        assert _scheduled_queues(events)[3][1] == TaskQueueKind.TASK_QUEUE_KIND_STICKY
        await handle.signal(SignalWorkflow.finish)
        assert await handle.result() == ["a", "b", "c"]


async def test_workers_share_a_task_queue(client: Client, task_queue: str) -> None:
    identities = {"share-worker-a", "share-worker-b"}
    second = await another_client(client)
    async with (
        running_worker(client, task_queue, identity="share-worker-a"),
        running_worker(second, task_queue, identity="share-worker-b"),
    ):
        await _wait_pollers(client, task_queue, identities)
        handles = [
            await client.start_workflow(EchoWorkflow.run, f"v{i}", id=unique_id(f"share{i}"), task_queue=task_queue)
            for i in range(20)
        ]
        results = await asyncio.gather(*(h.result() for h in handles))
    assert results == [f"v{i}" for i in range(20)]
    used: list[str] = []
    for handle in handles:
        used += _task_identities(await history_events(client, handle.id))
    assert len(used) == 20
    assert set(used) == identities, f"work was not shared: {sorted(used)}"


async def test_workflow_waits_for_a_worker(client: Client, task_queue: str) -> None:
    handle = await client.start_workflow(EchoWorkflow.run, "later", id=unique_id("no-worker"), task_queue=task_queue)
    await asyncio.sleep(0.3)
    assert (await describe(client, handle.id)).workflow_execution_info.status == (
        WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
    )
    async with running_worker(client, task_queue):
        assert await handle.result() == "later"


async def test_stopped_worker_only_delays_work(client: Client, task_queue: str) -> None:
    async with running_worker(
        client, task_queue, identity="first-worker", sticky_queue_schedule_to_start_timeout=seconds(1)
    ):
        handle = await client.start_workflow(SignalWorkflow.run, id=unique_id("worker-gone"), task_queue=task_queue)
        await wait_for_event(client, handle.id, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
    # The first worker is gone; work sent now waits for another worker.
    await handle.signal(SignalWorkflow.add, "while-down")
    await handle.signal(SignalWorkflow.finish)
    assert (await describe(client, handle.id)).workflow_execution_info.status == (
        WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
    )
    async with running_worker(client, task_queue, identity="second-worker"):
        assert await handle.result() == ["while-down"]
    identities = _task_identities(await history_events(client, handle.id))
    assert identities[0] == "first-worker"
    assert identities[-1] == "second-worker"


async def test_describe_task_queue_lists_pollers(client: Client, task_queue: str) -> None:
    async with running_worker(client, task_queue, identity="described-worker"):
        await _wait_pollers(client, task_queue, {"described-worker"}, tq_type=WORKFLOW_TQ)
        await _wait_pollers(client, task_queue, {"described-worker"}, tq_type=ACTIVITY_TQ)
        resp = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=NAMESPACE, task_queue=TaskQueue(name=task_queue), task_queue_type=WORKFLOW_TQ
            )
        )
        poller = next(p for p in resp.pollers if p.identity == "described-worker")
        assert poller.HasField("last_access_time")
    assert await _poller_identities(client, unique_id("never-polled")) == set()


@pytest.mark.parametrize("tq_type", [WORKFLOW_TQ, ACTIVITY_TQ])
async def test_empty_long_poll_returns_before_deadline(client: Client, tq_type: TaskQueueType.ValueType) -> None:
    """A poll on an empty queue answers with an empty task before the caller's deadline (as the reference does)."""
    queue = TaskQueue(name=unique_id("empty"))
    begin = time.monotonic()
    if tq_type == WORKFLOW_TQ:
        resp: Any = await client.workflow_service.poll_workflow_task_queue(
            PollWorkflowTaskQueueRequest(namespace=NAMESPACE, task_queue=queue), timeout=seconds(3)
        )
    else:
        resp = await client.workflow_service.poll_activity_task_queue(
            PollActivityTaskQueueRequest(namespace=NAMESPACE, task_queue=queue), timeout=seconds(3)
        )
    elapsed = time.monotonic() - begin
    assert not resp.task_token
    assert elapsed < 3.0, elapsed
