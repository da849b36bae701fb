"""The workflow and the load of ``test_long_lived_server.py``: a server that has run a while.

The workflow sandbox imports this module (it defines a workflow), so it only defines things
at import time, and imports the client through the sandbox's pass-through.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

from tests.failures.workflows import (
    ActivityCall,
    ActivityWorkflow,
    CancelActivityWorkflow,
    ChildSpec,
    ContinueAsNewOnceWorkflow,
    FailUntilAttemptWorkflow,
    ParentWorkflow,
    Retry,
    WaitWorkflow,
)

with workflow.unsafe.imports_passed_through():
    from temporalio.client import Client, WorkflowHandle


@workflow.defn
class CancelThenWaitWorkflow:
    """Starts a heartbeating activity, cancels it, then waits: each ``poke`` signal brings a
    workflow task, ``finish`` ends the run. The ``state`` query says what it saw so far."""

    def __init__(self) -> None:
        self.outcome = "activity pending"
        self.pokes = 0
        self.finished = False

    @workflow.run
    async def run(self, cancellation_type: str) -> str:
        handle = workflow.start_activity(
            "heartbeat_until_cancelled",
            "cancel",
            start_to_close_timeout=timedelta(seconds=30),
            heartbeat_timeout=timedelta(seconds=2),
            cancellation_type=workflow.ActivityCancellationType[cancellation_type],
        )
        await workflow.sleep(0.2)
        handle.cancel()
        try:
            self.outcome = f"activity completed: {await handle}"
        except (ActivityError, asyncio.CancelledError):
            self.outcome = "activity cancelled"
        await workflow.wait_condition(lambda: self.finished)
        return self.state()

    @workflow.signal
    def poke(self) -> None:
        self.pokes += 1

    @workflow.signal
    def finish(self) -> None:
        self.finished = True

    @workflow.query
    def state(self) -> str:
        return f"{self.outcome}, {self.pokes} pokes"


@workflow.defn
class ChattyWorkflow:
    """Sleeps on a timer, then takes ``note`` updates and answers ``notes`` queries until ``finish``."""

    def __init__(self) -> None:
        self.notes: list[str] = []
        self.finished = False

    @workflow.run
    async def run(self, sleep_seconds: float) -> list[str]:
        await workflow.sleep(sleep_seconds)
        await workflow.wait_condition(lambda: self.finished)
        return self.notes

    @workflow.update
    def note(self, text: str) -> int:
        self.notes.append(text)
        return len(self.notes)

    @workflow.query
    def read(self) -> list[str]:
        return self.notes

    @workflow.signal
    def finish(self) -> None:
        self.finished = True


@dataclass
class Load:
    """What a round of varied workflows left behind."""

    closed: int = 0
    left_open: list[WorkflowHandle[Any, Any]] = field(default_factory=list)


def _id(kind: str) -> str:
    return f"ll-{kind}-{uuid.uuid4().hex[:10]}"


async def varied_workflows(client: Client, task_queue: str, count: int) -> Load:
    """Run ``count`` workflows of a dozen kinds on ``task_queue`` (a worker with the failure
    suite's workflows, ``ChattyWorkflow`` and the failure suite's activities polls it): activities
    that succeed, retry or fail, timers, signals, queries, updates, cancellations, children,
    continue-as-new, workflow retries, activity cancellations. Some are left open: sleeping on a
    long timer, waiting for a signal, with an activity or a first workflow task on a queue nobody
    polls."""
    load = Load()
    nobody = f"{task_queue}-nobody"

    async def closes(handle: WorkflowHandle[Any, Any]) -> None:
        with contextlib.suppress(Exception):  # failed workflows are part of the load
            await handle.result()
        load.closed += 1

    async def one(i: int) -> None:
        start = client.start_workflow
        kind = i % 14
        if kind == 0:
            await closes(
                await start(ActivityWorkflow.run, ActivityCall("succeed", ["x"]), id=_id("act"), task_queue=task_queue)
            )
        elif kind == 1:
            call = ActivityCall("flaky", [2], retry=Retry(maximum_attempts=3))
            await closes(await start(ActivityWorkflow.run, call, id=_id("act-retry"), task_queue=task_queue))
        elif kind == 2:
            call = ActivityCall("fail_with_type", ["Boom"])
            await closes(await start(ActivityWorkflow.run, call, id=_id("act-fail"), task_queue=task_queue))
        elif kind == 3:
            handle = await start(WaitWorkflow.run, id=_id("signalled"), task_queue=task_queue)
            await handle.signal(WaitWorkflow.finish)
            await closes(handle)
        elif kind == 4:
            handle = await start(WaitWorkflow.run, id=_id("cancelled"), task_queue=task_queue)
            await handle.cancel()
            await closes(handle)
        elif kind == 5:
            spec = ChildSpec(child_id=_id("child"), kind="fail")
            await closes(await start(ParentWorkflow.run, spec, id=_id("parent"), task_queue=task_queue))
        elif kind == 6:
            await closes(await start(ContinueAsNewOnceWorkflow.run, 2, id=_id("continued"), task_queue=task_queue))
        elif kind == 7:
            retry = Retry(maximum_attempts=3).policy()
            handle = await start(
                FailUntilAttemptWorkflow.run, 2, id=_id("wf-retry"), task_queue=task_queue, retry_policy=retry
            )
            await closes(handle)
        elif kind == 8:
            call = ActivityCall("heartbeat_until_cancelled", ["cancel"], heartbeat=2, start_to_close=30)
            handle = await start(
                CancelActivityWorkflow.run, args=[call, False], id=_id("act-cancel"), task_queue=task_queue
            )
            await asyncio.sleep(0.3)
            await handle.signal(CancelActivityWorkflow.cancel_activity)
            await closes(handle)
        elif kind == 9:
            handle = await start(ChattyWorkflow.run, 0.1, id=_id("chatty"), task_queue=task_queue)
            await handle.execute_update(ChattyWorkflow.note, "hello")
            assert await handle.query(ChattyWorkflow.read) == ["hello"]
            await handle.signal(ChattyWorkflow.finish)
            await closes(handle)
        elif kind == 10:
            load.left_open.append(await start(ChattyWorkflow.run, 3600.0, id=_id("sleeping"), task_queue=task_queue))
        elif kind == 11:
            load.left_open.append(await start(WaitWorkflow.run, id=_id("waiting"), task_queue=task_queue))
        elif kind == 12:
            call = ActivityCall("succeed", ["x"], task_queue=nobody, start_to_close=3600)
            load.left_open.append(await start(ActivityWorkflow.run, call, id=_id("act-nobody"), task_queue=task_queue))
        else:
            load.left_open.append(await start(WaitWorkflow.run, id=_id("wf-nobody"), task_queue=nobody))

    for first in range(0, count, 50):
        await asyncio.gather(*(one(i) for i in range(first, min(first + 50, count))))
    return load
