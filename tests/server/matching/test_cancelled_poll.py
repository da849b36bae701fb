"""A poll cancelled after taking a task, but before starting it, gives the task back.

The run believes a dispatched task was handed out, so nothing dispatches it again: a task
dropped between matching and its start would be lost, and one started for a poller that is
gone leaves the workflow waiting for the task's start-to-close timeout (10 s by default).
Here the poll takes the task while the run's lock is held by a signal whose commit is held
open, and the client gives up; the next poll must get the task at once.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.api.enums.v1 import EventType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueRequest,
    SignalWorkflowExecutionRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from gnomon.server.frontend.base import MIN_POLL_SECONDS
from tests.server.conftest import HeldCommits, start_workflow


async def test_a_poll_cancelled_before_the_start_returns_the_task(held_server: tuple[HeldCommits, Client]) -> None:
    store, client = held_server
    service = client.workflow_service
    execution = await start_workflow(client, "cancelled-poll")
    queue = TaskQueue(name="tq-cancelled-poll")
    # The signal's transition holds the run's lock until its commit is released.
    store.armed = True
    signalling = asyncio.ensure_future(
        service.signal_workflow_execution(
            SignalWorkflowExecutionRequest(
                namespace="default",
                workflow_execution=execution,
                signal_name="go",
                request_id="cancelled-poll-signal",
            )
        )
    )
    await store.entered.wait()
    poll = PollWorkflowTaskQueueRequest(namespace="default", task_queue=queue)
    try:
        await service.poll_workflow_task_queue(poll, timeout=timedelta(seconds=MIN_POLL_SECONDS + 0.5))
    except RPCError as error:
        # The SDK reports its own deadline as CANCELLED ("Timeout expired").
        assert error.status in (RPCStatusCode.CANCELLED, RPCStatusCode.DEADLINE_EXCEEDED), error
    else:
        raise AssertionError("the poll was answered while the run was locked")
    store.release.set()
    await signalling

    task = await service.poll_workflow_task_queue(poll, timeout=timedelta(seconds=10))
    assert task.task_token, "the task taken by the cancelled poll was lost"
    assert [e.event_type for e in task.history.events] == [
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    ]
