"""Durability acceptance: an RPC that answered OK survives ``kill -9`` of the server.

Each test runs workflows (timers, activities, signals) with the official SDK worker in
this process against a Gnomon server on a SQLite file, SIGKILLs the server at an awkward
moment, starts a new server process on the same file and the same port (the SDK client
and worker reconnect on their own; they log connection errors meanwhile, as expected),
and checks that every workflow completes with the right result and a valid history.
"""

from __future__ import annotations

import asyncio
import inspect
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHandle
from temporalio.converter import DataConverter
from temporalio.service import RPCError
from temporalio.worker import Worker

from tests.durability.activities import CrashActivities
from tests.durability.crashable import CrashableServer
from tests.durability.workflows import (
    ALL_WORKFLOWS,
    ActivityChainWorkflow,
    SignalCollectorWorkflow,
    TimerInput,
    TimerThenActivityWorkflow,
)

E = EventType

pytestmark = pytest.mark.timeout(60)

#: A workflow task lost in a crash is retried after this, so keep it short.
WORKFLOW_TASK_TIMEOUT = timedelta(seconds=2)
#: Upper bound for "the server gets there" waits and for results after a restart.
SETTLE_TIMEOUT = 15.0

CLOSE_EVENTS = {
    E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
}


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture
async def client(crashable_server: CrashableServer) -> Client:
    return await Client.connect(crashable_server.address, namespace="default")


@pytest.fixture
def activities() -> CrashActivities:
    return CrashActivities()


@asynccontextmanager
async def running_worker(client: Client, task_queue: str, activities: CrashActivities) -> AsyncIterator[Worker]:
    """One SDK worker for the whole test: it keeps polling across crashes and restarts."""
    worker = Worker(client, task_queue=task_queue, workflows=ALL_WORKFLOWS, activities=activities.all())
    async with worker:
        yield worker


# -- helpers ------------------------------------------------------------------------------


async def wait_until(
    probe: Callable[[], bool | Awaitable[bool]], *, what: str, timeout: float = SETTLE_TIMEOUT
) -> None:
    """Call ``probe`` (plain or async) until it returns True; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def start(client: Client, workflow: Any, arg: Any, task_queue: str, prefix: str) -> WorkflowHandle[Any, Any]:
    """Start a workflow with a short workflow task timeout (a task lost in a crash comes back soon)."""
    args = [] if arg is None else [arg]
    return await client.start_workflow(
        workflow, args=args, id=new_id(prefix), task_queue=task_queue, task_timeout=WORKFLOW_TASK_TIMEOUT
    )


async def history(handle: WorkflowHandle[Any, Any]) -> list[HistoryEvent]:
    return list((await handle.fetch_history()).events)


async def has_event(handle: WorkflowHandle[Any, Any], event_type: int) -> bool:
    return any(e.event_type == event_type for e in await history(handle))


async def results_within(handles: Sequence[WorkflowHandle[Any, Any]], timeout: float) -> list[Any]:
    """Every workflow's result, failing if they do not all arrive within ``timeout`` seconds."""
    tasks = [asyncio.create_task(handle.result()) for handle in handles]
    _, pending = await asyncio.wait(tasks, timeout=timeout)
    for task in pending:
        task.cancel()
    if pending:
        late = [handle.id for handle, task in zip(handles, tasks, strict=True) if task in pending]
        raise AssertionError(f"{len(late)} of {len(tasks)} workflows not done within {timeout}s: {late}")
    return [task.result() for task in tasks]


def decode(payloads: Any) -> list[Any]:
    return DataConverter.default.payload_converter.from_payloads(list(payloads.payloads))


def count(events: Sequence[HistoryEvent], event_type: int) -> int:
    return sum(1 for e in events if e.event_type == event_type)


def assert_valid_history(events: Sequence[HistoryEvent]) -> None:
    """Event ids 1..N without gap, started first, exactly one close event and it is the last: completed."""
    ids = [e.event_id for e in events]
    assert ids == list(range(1, len(events) + 1)), f"event ids not contiguous: {ids}"
    assert events[0].event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
    closes = [e for e in events if e.event_type in CLOSE_EVENTS]
    assert len(closes) == 1, f"close events: {[E.Name(e.event_type) for e in closes]}"
    assert events[-1].event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, E.Name(events[-1].event_type)


def assert_activities_completed_once(events: Sequence[HistoryEvent], expected_results: Sequence[int]) -> None:
    """Each scheduled activity started and completed exactly once, with these results in order."""
    scheduled = [e.event_id for e in events if e.event_type == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED]
    completed = [e for e in events if e.event_type == E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED]
    started = [e for e in events if e.event_type == E.EVENT_TYPE_ACTIVITY_TASK_STARTED]
    assert [c.activity_task_completed_event_attributes.scheduled_event_id for c in completed] == scheduled
    assert [s.activity_task_started_event_attributes.scheduled_event_id for s in started] == scheduled
    assert [decode(c.activity_task_completed_event_attributes.result)[0] for c in completed] == list(expected_results)


def signals_in(events: Sequence[HistoryEvent], name: str) -> list[str]:
    """The argument of every ``name`` signal, in history order."""
    return [
        decode(e.workflow_execution_signaled_event_attributes.input)[0]
        for e in events
        if e.event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
        and e.workflow_execution_signaled_event_attributes.signal_name == name
    ]


# -- tests --------------------------------------------------------------------------------


async def test_timer_due_during_downtime_fires_promptly_after_restart(
    crashable_server: CrashableServer, client: Client, task_queue: str, activities: CrashActivities
) -> None:
    async with running_worker(client, task_queue, activities):
        handles = [
            await start(client, TimerThenActivityWorkflow, TimerInput(seconds=2, value=i), task_queue, "timer")
            for i in range(5)
        ]
        for handle in handles:
            await wait_until(partial(has_event, handle, E.EVENT_TYPE_TIMER_STARTED), what="timer started")

        crashable_server.crash()
        await crashable_server.restart_after(3.0)  # every timer falls due while the server is down
        restarted, restarted_wall = time.monotonic(), time.time()

        assert await results_within(handles, SETTLE_TIMEOUT) == [2 * i for i in range(5)]
        assert time.monotonic() - restarted < SETTLE_TIMEOUT

    for i, handle in enumerate(handles):
        events = await history(handle)
        assert_valid_history(events)
        assert count(events, E.EVENT_TYPE_TIMER_STARTED) == count(events, E.EVENT_TYPE_TIMER_FIRED) == 1
        fired = next(e for e in events if e.event_type == E.EVENT_TYPE_TIMER_FIRED)
        assert fired.event_time.ToNanoseconds() / 1e9 >= restarted_wall - 1.0, "fired before the crash"
        assert_activities_completed_once(events, [2 * i])


async def test_signals_acknowledged_before_a_crash_are_kept_exactly_once(
    crashable_server: CrashableServer, client: Client, task_queue: str, activities: CrashActivities
) -> None:
    async with running_worker(client, task_queue, activities):
        handle = await start(client, SignalCollectorWorkflow, None, task_queue, "signals")
        acknowledged: list[str] = []
        unanswered: list[str] = []

        async def send(item: str) -> None:
            try:
                await handle.signal(SignalCollectorWorkflow.add, item)
            except RPCError:
                unanswered.append(item)  # may or may not have been applied
            else:
                acknowledged.append(item)

        # Round 1: kill the very moment the last signal is acknowledged.
        for i in range(10):
            await send(f"a-{i}")
        crashable_server.crash()
        await crashable_server.restart_after(1.0)

        # Round 2: kill while a stream of signals is being sent.
        async def stream() -> None:
            for i in range(40):
                await send(f"b-{i}")
                await asyncio.sleep(0.01)

        streaming = asyncio.create_task(stream())
        await wait_until(lambda: sum(x.startswith("b-") for x in acknowledged) >= 15, what="acks of the stream")
        crashable_server.crash()
        await crashable_server.restart_after(1.0)
        await streaming

        await handle.signal(SignalCollectorWorkflow.finish)
        result = await results_within([handle], SETTLE_TIMEOUT)

    events = await history(handle)
    assert_valid_history(events)
    in_history = signals_in(events, "add")
    assert len(in_history) == len(set(in_history)), f"a signal was applied twice: {in_history}"
    assert set(acknowledged) <= set(in_history), f"acknowledged but lost: {set(acknowledged) - set(in_history)}"
    assert set(in_history) <= set(acknowledged) | set(unanswered), "a signal nobody sent"
    assert [x for x in in_history if x in acknowledged] == acknowledged, "acknowledged signals out of order"
    assert result == [in_history]
    assert count(events, E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) == len(in_history) + 1  # + finish


async def test_activities_in_flight_and_a_batch_of_starts_survive_crashes(
    crashable_server: CrashableServer, client: Client, task_queue: str, activities: CrashActivities
) -> None:
    chains = [[i, i + 1, i + 2] for i in range(10)]
    async with running_worker(client, task_queue, activities):
        handles = [await start(client, ActivityChainWorkflow, values, task_queue, "chain") for values in chains]

        # Crash 1: mid-way through the chains, with activities running in this process.
        await wait_until(lambda: activities.finished >= 10 and activities.in_flight > 0, what="activities in flight")
        crashable_server.crash()
        await crashable_server.restart_after(1.0)

        # Crash 2: mid-way through starting a second batch of workflows.
        more: list[tuple[int, WorkflowHandle[Any, Any]]] = []
        failed_starts = 0

        async def start_batch() -> None:
            nonlocal failed_starts
            for i in range(20):
                try:
                    handle = await start(client, TimerThenActivityWorkflow, TimerInput(0.2, i), task_queue, "batch")
                    more.append((i, handle))
                except RPCError:
                    failed_starts += 1

        starting = asyncio.create_task(start_batch())
        await wait_until(lambda: len(more) >= 8, what="first starts of the batch")
        crashable_server.crash()
        await crashable_server.restart_after(1.0)
        await starting

        results = await results_within(handles, SETTLE_TIMEOUT)
        more_results = await results_within([h for _, h in more], SETTLE_TIMEOUT)

    assert results == [[v * v for v in values] for values in chains]
    for handle, values in zip(handles, chains, strict=True):
        events = await history(handle)
        assert_valid_history(events)
        assert_activities_completed_once(events, [v * v for v in values])
    assert len(more) + failed_starts == 20
    assert more_results == [2 * i for i, _ in more]
    for _, handle in more:
        events = await history(handle)
        assert_valid_history(events)
        assert count(events, E.EVENT_TYPE_TIMER_FIRED) == 1
