"""Differential scenarios: workflows, activities and the client-side drivers that exercise them.

Every scenario is written to produce exactly one possible history on a correct server:

* one worker per run, eager activity dispatch off (eager dispatch is a server-side option, and
  whether it happens changes nothing a workflow can observe but does change event batching);
* anything the client sends to a running workflow (signal, cancel) is sent only once the
  workflow is *idle*: the events the step depends on are in history and no workflow task is
  outstanding, so it can never race a workflow task in flight (which would move the event
  from before ``WorkflowTaskStarted`` to after ``WorkflowTaskCompleted``);
* nothing depends on wall-clock timing except one short timer, whose firing is the only
  thing that can happen while the workflow waits for it.

A driver returns a :class:`ScenarioRun`: the histories it wants compared (several for
child workflows and continue-as-new) and client-visible *observations* (results, query
answers, errors), which are compared too.

This module is imported by the workflow sandbox, so it imports only the SDK and the
standard library and does nothing at import time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from temporalio.api.enums.v1 import EventType
    from temporalio.client import Client, WorkflowFailureError, WorkflowHandle, WorkflowHistory
    from temporalio.worker import Worker

# Short enough to keep the suite fast, long enough to be clearly a timer.
TIMER_SECONDS = 1.0
ACTIVITY_TIMEOUT = timedelta(seconds=10)
# How long a driver waits for a server to reach the next step before giving up.
STEP_TIMEOUT_SECONDS = 10.0
POLL_INTERVAL_SECONDS = 0.05


# --------------------------------------------------------------------------- activities


@activity.defn
async def greet(name: str) -> str:
    """The happy path: one attempt, one result."""
    return f"Hello, {name}!"


@activity.defn
async def fail_retryable() -> None:
    """A retryable failure; the workflow limits it to one attempt with its retry policy."""
    raise ApplicationError("transient trouble", "detail", type="Transient")


@activity.defn
async def fail_non_retryable() -> None:
    """A failure the server must not retry whatever the retry policy says."""
    raise ApplicationError("bad input", type="BadInput", non_retryable=True)


ACTIVITIES: Sequence[Callable[..., Any]] = (greet, fail_retryable, fail_non_retryable)


# --------------------------------------------------------------------------- workflows


@workflow.defn
class OneActivityWorkflow:
    """Schedules one activity with the server-default retry policy and returns its result."""

    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(greet, name, start_to_close_timeout=ACTIVITY_TIMEOUT)


@workflow.defn
class TimerWorkflow:
    """Sleeps on one short durable timer."""

    @workflow.run
    async def run(self) -> str:
        await workflow.sleep(TIMER_SECONDS)
        return "timer fired"


@workflow.defn
class SignalQueryWorkflow:
    """Waits for one signal; answers a query about its state before and after it."""

    def __init__(self) -> None:
        self._value: str | None = None

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self._value is not None)
        return f"got {self._value}"

    @workflow.signal
    def proceed(self, value: str) -> None:
        self._value = value

    @workflow.query
    def state(self) -> str:
        return "waiting" if self._value is None else f"signalled with {self._value}"


@workflow.defn
class ChildWorkflow:
    """Blocks until the driver signals it, so the parent's history order is fixed (see driver)."""

    def __init__(self) -> None:
        self._finished = False

    @workflow.run
    async def run(self, name: str) -> str:
        await workflow.wait_condition(lambda: self._finished)
        return f"child {name} done"

    @workflow.signal
    def finish(self) -> None:
        self._finished = True


@workflow.defn
class ParentWorkflow:
    """Starts one child workflow (id derived from its own) and returns the child's result."""

    @workflow.run
    async def run(self) -> str:
        child_id = f"{workflow.info().workflow_id}-child"
        result = await workflow.execute_child_workflow(ChildWorkflow.run, "kid", id=child_id)
        return f"parent saw: {result}"


@workflow.defn
class ContinueAsNewWorkflow:
    """Continues as new once (iteration 0 -> 1), then completes."""

    @workflow.run
    async def run(self, iteration: int) -> str:
        if iteration == 0:
            workflow.continue_as_new(iteration + 1)
        return f"finished at iteration {iteration}"


@workflow.defn
class CancellableWorkflow:
    """Sleeps on a long timer until cancelled, then lets the cancellation end the workflow.

    Cancelling the timer and re-raising ``CancelledError`` is what the SDK expects: it turns
    into a ``CancelTimer`` command followed by ``CancelWorkflowExecution`` in one task.
    """

    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.sleep(timedelta(hours=1))
        except asyncio.CancelledError:
            workflow.logger.info("cancelled while sleeping")
            raise
        return "never reached"


@workflow.defn
class ActivityFailureWorkflow:
    """Two activity failures surfaced to the workflow, which then fails itself.

    The first is retryable but limited to one attempt (retry state MAXIMUM_ATTEMPTS_REACHED),
    the second is non-retryable (retry state NON_RETRYABLE_FAILURE); the workflow's own
    failure carries the second as its cause, so the whole failure chain lands in history.
    """

    @workflow.run
    async def run(self) -> str:
        try:
            await workflow.execute_activity(
                fail_retryable,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
        except ActivityError as err:
            first_cause = type(err.cause).__name__
        else:
            raise ApplicationError("fail_retryable unexpectedly succeeded")
        try:
            await workflow.execute_activity(fail_non_retryable, start_to_close_timeout=ACTIVITY_TIMEOUT)
        except ActivityError as err:
            raise ApplicationError(f"gave up after {first_cause}", type="WorkflowGaveUp") from err
        raise ApplicationError("fail_non_retryable unexpectedly succeeded")


@workflow.defn
class SignalWithStartWorkflow:
    """Collects two ``add`` signals: one delivered by signal-with-start, one sent later."""

    def __init__(self) -> None:
        self._items: list[str] = []

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: len(self._items) >= 2)
        return self._items

    @workflow.signal
    def add(self, item: str) -> None:
        self._items.append(item)


WORKFLOWS: Sequence[type] = (
    OneActivityWorkflow,
    TimerWorkflow,
    SignalQueryWorkflow,
    ChildWorkflow,
    ParentWorkflow,
    ContinueAsNewWorkflow,
    CancellableWorkflow,
    ActivityFailureWorkflow,
    SignalWithStartWorkflow,
)


# --------------------------------------------------------------------------- driver plumbing


@dataclass
class ScenarioRun:
    """What one run of a scenario produced: histories to compare, in a fixed order, and
    client-visible observations (JSON-able values) to compare as well."""

    histories: list[WorkflowHistory] = field(default_factory=list)
    observations: dict[str, Any] = field(default_factory=dict)


Driver = Callable[[Client, str, str], Awaitable[ScenarioRun]]


@dataclass(frozen=True)
class Scenario:
    """A named driver: ``run(client, task_queue, workflow_id)``, called with a worker running.

    ``workflows`` and ``activities`` are registered on that worker on top of this module's
    (see ``failure_scenarios.py``); ``worker_options`` are extra ``Worker`` keyword arguments.
    """

    name: str
    run: Driver
    workflows: Sequence[type] = ()
    activities: Sequence[Callable[..., Any]] = ()
    worker_options: tuple[tuple[str, Any], ...] = ()

    def __str__(self) -> str:  # used by pytest as the parameter id
        return self.name


_WORKFLOW_TASK_CLOSED = (
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
)


def _is_idle(event_types: list[EventType.ValueType], required: Sequence[EventType.ValueType]) -> bool:
    """All ``required`` event types are present, a workflow task has completed, and none is outstanding."""
    scheduled = event_types.count(EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)
    closed = sum(event_types.count(t) for t in _WORKFLOW_TASK_CLOSED)
    return (
        EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED in event_types
        and scheduled == closed
        and all(t in event_types for t in required)
    )


async def wait_until_idle(handle: WorkflowHandle[Any, Any], *required: EventType.ValueType) -> None:
    """Poll the history until the workflow is blocked with ``required`` events recorded.

    This is how drivers avoid racing a workflow task: only an idle workflow gets signalled
    or cancelled, so the resulting event lands at a single possible position.
    """
    deadline = asyncio.get_running_loop().time() + STEP_TIMEOUT_SECONDS
    while True:
        history = await handle.fetch_history()
        event_types = [event.event_type for event in history.events]
        if _is_idle(event_types, required):
            return
        if asyncio.get_running_loop().time() > deadline:
            seen, wanted = ([EventType.Name(t) for t in types] for types in (event_types, required))
            raise TimeoutError(f"{handle.id} never became idle with {wanted} recorded; history: {seen}")
        await asyncio.sleep(POLL_INTERVAL_SECONDS)


async def outcome(handle: WorkflowHandle[Any, Any]) -> dict[str, Any]:
    """Wait for the workflow to close; its result, or its failure as a ``Type: message`` cause chain."""
    try:
        return {"result": await handle.result()}
    except WorkflowFailureError as failure:
        chain: list[str] = []
        err: BaseException | None = failure
        while err is not None:
            chain.append(f"{type(err).__name__}: {err}")
            err = err.__cause__
        return {"error": chain}


async def run_scenario(scenario: Scenario, client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
    """Run ``scenario`` with a single fresh worker on ``task_queue``."""
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[*WORKFLOWS, *scenario.workflows],
        activities=[*ACTIVITIES, *scenario.activities],
        # Eager dispatch is optional server behaviour that changes batching; keep it out.
        disable_eager_activity_execution=True,
        **dict(scenario.worker_options),
    )
    timeout = 3 * STEP_TIMEOUT_SECONDS
    async with worker:
        try:
            return await asyncio.wait_for(scenario.run(client, task_queue, workflow_id), timeout=timeout)
        except TimeoutError:
            # A stuck server is the usual cause; say where the workflow got to.
            history = await client.get_workflow_handle(workflow_id).fetch_history()
            seen = [EventType.Name(event.event_type) for event in history.events]
            raise TimeoutError(
                f"{scenario.name} did not finish within {timeout}s; {workflow_id} history: {seen}"
            ) from None


# --------------------------------------------------------------------------- drivers


def start_and_wait(workflow_run: Callable[..., Awaitable[Any]], *args: Any) -> Driver:
    """A driver for workflows that need nothing from the client once started."""

    async def drive(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
        handle = await client.start_workflow(workflow_run, args=args, id=workflow_id, task_queue=task_queue)
        observations = await outcome(handle)
        return ScenarioRun([await handle.fetch_history()], observations)

    return drive


async def _signal_then_query(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
    handle = await client.start_workflow(SignalQueryWorkflow.run, id=workflow_id, task_queue=task_queue)
    await wait_until_idle(handle)
    before = await handle.query(SignalQueryWorkflow.state)
    await handle.signal(SignalQueryWorkflow.proceed, "green light")
    observations = {"query_before_signal": before, **await outcome(handle)}
    # A query on a closed workflow is answered by replaying it on the worker.
    observations["query_after_completion"] = await handle.query(SignalQueryWorkflow.state)
    return ScenarioRun([await handle.fetch_history()], observations)


async def _child_workflow(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
    parent = await client.start_workflow(ParentWorkflow.run, id=workflow_id, task_queue=task_queue)
    child = client.get_workflow_handle(f"{workflow_id}-child")
    # Release the child only once the parent has processed ChildWorkflowExecutionStarted and
    # the child is blocked: otherwise ChildWorkflowExecutionCompleted could land before or
    # after the parent's next workflow task, and the child's signal before or after its first.
    await wait_until_idle(parent, EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED)
    await wait_until_idle(child)
    await child.signal(ChildWorkflow.finish)
    observations = await outcome(parent)
    return ScenarioRun([await parent.fetch_history(), await child.fetch_history()], observations)


async def _continue_as_new(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
    handle = await client.start_workflow(ContinueAsNewWorkflow.run, 0, id=workflow_id, task_queue=task_queue)
    observations = await outcome(handle)  # result() follows the chain of runs
    first_run = client.get_workflow_handle(workflow_id, run_id=handle.first_execution_run_id)
    latest_run = client.get_workflow_handle(workflow_id)
    histories = [await first_run.fetch_history(), await latest_run.fetch_history()]
    observations["distinct_runs"] = len({history.run_id for history in histories})
    return ScenarioRun(histories, observations)


async def _cancel(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
    handle = await client.start_workflow(CancellableWorkflow.run, id=workflow_id, task_queue=task_queue)
    await wait_until_idle(handle, EventType.EVENT_TYPE_TIMER_STARTED)
    await handle.cancel()
    observations = await outcome(handle)
    return ScenarioRun([await handle.fetch_history()], observations)


async def _signal_with_start(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
    async def signal_with_start(item: str) -> WorkflowHandle[Any, Any]:
        return await client.start_workflow(
            SignalWithStartWorkflow.run,
            id=workflow_id,
            task_queue=task_queue,
            start_signal="add",
            start_signal_args=[item],
        )

    first = await signal_with_start("first")
    await wait_until_idle(first, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
    # The second signal-with-start must find the running workflow and only signal it.
    second = await signal_with_start("second")
    observations = await outcome(first)
    observations["second_call_reused_run"] = second.result_run_id == first.result_run_id
    return ScenarioRun([await first.fetch_history()], observations)


SCENARIOS: Sequence[Scenario] = (
    Scenario("one_activity", start_and_wait(OneActivityWorkflow.run, "Gnomon")),
    Scenario("timer", start_and_wait(TimerWorkflow.run)),
    Scenario("signal_then_query", _signal_then_query),
    Scenario("child_workflow", _child_workflow),
    Scenario("continue_as_new", _continue_as_new),
    Scenario("cancel", _cancel),
    Scenario("activity_failure", start_and_wait(ActivityFailureWorkflow.run)),
    Scenario("signal_with_start", _signal_with_start),
)
