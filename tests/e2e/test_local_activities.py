"""Local activities: recorded as markers, kept alive past the workflow task timeout by
workflow task heartbeats (force_create_new_workflow_task / return_new_workflow_task)."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType as E
from temporalio.client import Client
from temporalio.worker import Worker

from tests.e2e.helpers import events_of, history_events, seconds, unique_id
from tests.e2e.local_activity_workflows import (
    RetriedLocalActivityWorkflow,
    SlowLocalActivityWorkflow,
    flaky_local,
    slow_local,
)


def _worker(client: Client, task_queue: str) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[SlowLocalActivityWorkflow, RetriedLocalActivityWorkflow],
        activities=[slow_local, flaky_local],
    )


async def test_local_activity_longer_than_the_workflow_task_timeout(client: Client, task_queue: str) -> None:
    async with _worker(client, task_queue):
        handle = await client.start_workflow(
            SlowLocalActivityWorkflow.run,
            2.5,
            id=unique_id("la-slow"),
            task_queue=task_queue,
            task_timeout=seconds(1),
        )
        assert await handle.result() == "slept 2.5"
    events = await history_events(client, handle.id)
    assert len(events_of(events, E.EVENT_TYPE_MARKER_RECORDED)) == 1
    # The worker heartbeated its workflow task instead of letting it time out.
    assert not events_of(events, E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT)
    assert len(events_of(events, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)) >= 2


async def test_local_activity_retries_past_the_workflow_task_timeout(client: Client, task_queue: str) -> None:
    async with _worker(client, task_queue):
        handle = await client.start_workflow(
            RetriedLocalActivityWorkflow.run,
            4,
            id=unique_id("la-retry"),
            task_queue=task_queue,
            task_timeout=seconds(1),
        )
        assert await handle.result() == 5
    events = await history_events(client, handle.id)
    assert len(events_of(events, E.EVENT_TYPE_MARKER_RECORDED)) == 1
    assert not events_of(events, E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT)
    assert not events_of(events, E.EVENT_TYPE_WORKFLOW_TASK_FAILED)
