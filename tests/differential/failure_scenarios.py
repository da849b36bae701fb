"""Differential scenarios for failure semantics: timeouts, retries, cancellation, workflow task
failures, workflow retry and cron, children under each parent close policy, external workflows.

They follow the rules of ``scenarios.py`` (one possible history on a correct server): the
driver acts only on an idle workflow, or waits for the server-side state it needs (a pending
activity *started*, a workflow task *timed out*) through DescribeWorkflowExecution or history.
Deadlines are 1 s; whatever happens while a deadline runs is the only thing that can happen.

Like ``scenarios.py`` this module is imported by the workflow sandbox: it imports only the SDK,
the standard library and, passed through, the tiny counter module ``tests.failures.shared``.

``GNOMON_KNOWN_DIFFERENCES`` names the scenarios whose histories differ on Gnomon today, with
the first difference; ``test_differential.py`` marks them xfail (strict) on Gnomon only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError, FailureError

from tests.differential.scenarios import (
    ACTIVITY_TIMEOUT,
    POLL_INTERVAL_SECONDS,
    STEP_TIMEOUT_SECONDS,
    Scenario,
    ScenarioRun,
    outcome,
    wait_until_idle,
)

with workflow.unsafe.imports_passed_through():
    # "import a.b as c", not "from a import b": only the former passes the module through.
    from temporalio.api.command.v1 import (
        Command,
        CompleteWorkflowExecutionCommandAttributes,
        RequestCancelActivityTaskCommandAttributes,
        ScheduleActivityTaskCommandAttributes,
    )
    from temporalio.api.common.v1 import ActivityType, WorkflowExecution
    from temporalio.api.enums.v1 import CommandType, EventType, PendingActivityState
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import (
        PollActivityTaskQueueRequest,
        PollWorkflowTaskQueueRequest,
        RespondActivityTaskCompletedRequest,
        RespondWorkflowTaskCompletedRequest,
        SignalWorkflowExecutionRequest,
    )
    from temporalio.client import Client, WorkflowHandle
    from temporalio.service import RPCError
    from temporalio.worker import Worker

    import tests.failures.shared as shared

E = EventType
DEADLINE = timedelta(seconds=1)
#: Long enough never to fire during a scenario.
FOREVER = timedelta(hours=1)


# --------------------------------------------------------------------------- activities


@activity.defn
async def f_flaky(succeed_on_attempt: int) -> str:
    """Heartbeats ``hb-<attempt>``, then fails (retryably) until ``succeed_on_attempt``."""
    attempt = activity.info().attempt
    activity.heartbeat(f"hb-{attempt}")
    if attempt < succeed_on_attempt:
        raise ApplicationError(f"attempt {attempt} fails", f"detail-{attempt}", type="Flaky")
    return f"succeeded on attempt {attempt}"


@activity.defn
async def f_stall(details: str | None, stall_attempts: int) -> list[Any]:
    """Attempts up to ``stall_attempts`` heartbeat ``details`` (unless None) once and then hang
    (until the worker shuts down); a later attempt returns its attempt and inherited details."""
    info = activity.info()
    if info.attempt <= stall_attempts:
        if details is not None:
            activity.heartbeat(details)
        await asyncio.sleep(FOREVER.total_seconds())
    return [info.attempt, *info.heartbeat_details]


@activity.defn
async def f_heartbeat_until_cancelled() -> str:
    """Heartbeats every 0.1 s until the server asks it to stop, then acknowledges the cancellation."""
    while True:
        activity.heartbeat()
        await asyncio.sleep(0.1)


@activity.defn
async def f_succeed(value: str) -> str:
    return value


FAILURE_ACTIVITIES: Sequence[Callable[..., Any]] = (f_flaky, f_stall, f_heartbeat_until_cancelled, f_succeed)


# --------------------------------------------------------------------------- workflows


@dataclass
class FActivityCall:
    """One activity call; ``task_queue_suffix`` sends it to ``<workflow's queue><suffix>``."""

    name: str
    args: list[Any]
    task_queue_suffix: str = ""
    schedule_to_start: float | None = None
    schedule_to_close: float | None = None
    start_to_close: float | None = 10.0
    heartbeat: float | None = None
    initial_interval: float = 0.1
    maximum_attempts: int = 1
    cancellation_type: str = "TRY_CANCEL"

    def options(self) -> dict[str, Any]:
        def secs(value: float | None) -> timedelta | None:
            return None if value is None else timedelta(seconds=value)

        return {
            "task_queue": workflow.info().task_queue + self.task_queue_suffix if self.task_queue_suffix else None,
            "schedule_to_start_timeout": secs(self.schedule_to_start),
            "schedule_to_close_timeout": secs(self.schedule_to_close),
            "start_to_close_timeout": secs(self.start_to_close),
            "heartbeat_timeout": secs(self.heartbeat),
            "retry_policy": RetryPolicy(
                initial_interval=timedelta(seconds=self.initial_interval), maximum_attempts=self.maximum_attempts
            ),
            "cancellation_type": workflow.ActivityCancellationType[self.cancellation_type],
        }


def _chain(err: BaseException) -> list[str]:
    out: list[str] = []
    current: BaseException | None = err
    while current is not None:
        out.append(f"{type(current).__name__}: {current}")
        current = current.__cause__
    return out


@workflow.defn
class FActivityWorkflow:
    """Runs one activity and returns its result, or what the failure looked like."""

    @workflow.run
    async def run(self, call: FActivityCall) -> Any:
        try:
            return await workflow.execute_activity(call.name, args=call.args, **call.options())
        except ActivityError as err:
            return _chain(err)


@workflow.defn
class FCancelActivityWorkflow:
    """Starts an activity; on ``cancel_activity`` cancels it and records (memo upsert) what it
    saw, at the moment it saw it; returns on ``finish``."""

    def __init__(self) -> None:
        self.cancel = False
        self.finished = False
        self.seen = "not cancelled yet"

    @workflow.run
    async def run(self, call: FActivityCall) -> list[str]:
        handle = workflow.start_activity(call.name, args=call.args, **call.options())
        await workflow.wait_condition(lambda: self.cancel)
        handle.cancel()
        try:
            seen = [f"result: {await handle}"]
        except (ActivityError, asyncio.CancelledError) as err:
            seen = _chain(err)
        self.seen = seen[0]
        workflow.upsert_memo({"seen": seen[0]})
        await workflow.wait_condition(lambda: self.finished)
        return seen

    @workflow.query
    def outcome(self) -> str:
        return self.seen

    @workflow.signal
    def cancel_activity(self) -> None:
        self.cancel = True

    @workflow.signal
    def finish(self) -> None:
        self.finished = True


@workflow.defn
class FWaitWorkflow:
    """Waits for ``finish``; a cancellation request cancels it."""

    def __init__(self) -> None:
        self.finished = False

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.finished)
        return "finished"

    @workflow.signal
    def finish(self) -> None:
        self.finished = True


@workflow.defn
class FRetryWorkflow:
    """Fails (attempt < ``succeed_on``, mode "fail") or hangs until its run timeout (mode "hang")."""

    @workflow.run
    async def run(self, succeed_on: int, mode: str) -> str:
        attempt = workflow.info().attempt
        if attempt < succeed_on:
            if mode == "hang":
                await workflow.wait_condition(lambda: False)
            raise ApplicationError(f"workflow attempt {attempt} fails", type="WorkflowFlaky")
        return f"workflow succeeded on attempt {attempt}"


@workflow.defn
class FCronWorkflow:
    """Counts its cron runs through the last completion result."""

    @workflow.run
    async def run(self) -> int:
        last = workflow.get_last_completion_result(type_hint=int)
        return (last or 0) + 1


@workflow.defn
class FFailFirstTasksWorkflow:
    """Its first ``failures`` workflow tasks raise; then it completes."""

    @workflow.run
    async def run(self, failures: int) -> str:
        seen = shared.bump(f"diff-wft:{workflow.info().workflow_id}")
        if seen <= failures:
            raise RuntimeError(f"workflow task failure {seen} of {failures}")
        return f"completed after {failures} failed tasks"


@workflow.defn
class FNondeterministicWorkflow:
    """A timer when first run, an activity when replayed (the worker caches nothing)."""

    @workflow.run
    async def run(self) -> str:
        if not workflow.unsafe.is_replaying():
            await workflow.sleep(0.1)
        else:
            await workflow.execute_activity(f_succeed, "never", start_to_close_timeout=DEADLINE)
        return "unreachable"


@workflow.defn
class FContinueAsNewWorkflow:
    """Continues as new once with no overrides, then returns."""

    @workflow.run
    async def run(self, remaining: int) -> str:
        if remaining > 0:
            workflow.continue_as_new(remaining - 1)
        return "done"


@dataclass
class FChildSpec:
    #: "wait" (FWaitWorkflow), "hang" / "fail" (FRetryWorkflow that hangs / fails)
    kind: str = "wait"
    #: "start" (start, wait for ``finish``, return), "await", "cancel" (cancel it, then await)
    action: str = "start"
    parent_close_policy: str = "TERMINATE"
    run_timeout: float | None = None


@workflow.defn
class FParentWorkflow:
    """Starts the child ``<own id>-child`` as the spec says; returns what it saw."""

    def __init__(self) -> None:
        self.finished = False

    @workflow.run
    async def run(self, spec: FChildSpec) -> list[str]:
        options: dict[str, Any] = {
            "id": f"{workflow.info().workflow_id}-child",
            "parent_close_policy": workflow.ParentClosePolicy[spec.parent_close_policy],
            "run_timeout": timedelta(seconds=spec.run_timeout) if spec.run_timeout else None,
        }
        try:
            if spec.kind in ("hang", "fail"):
                handle = await workflow.start_child_workflow(FRetryWorkflow.run, args=[99, spec.kind], **options)
            else:
                handle = await workflow.start_child_workflow(FWaitWorkflow.run, **options)
        except Exception as err:  # noqa: BLE001 - the start failure is the observation
            return ["start failed", *_chain(err)]
        if spec.action == "start":
            await workflow.wait_condition(lambda: self.finished)
            return ["parent done"]
        if spec.action == "cancel":
            handle.cancel()
        try:
            return [f"child result: {await handle}"]
        except (ChildWorkflowError, asyncio.CancelledError) as err:
            return _chain(err)

    @workflow.signal
    def finish(self) -> None:
        self.finished = True


@workflow.defn
class FExternalWorkflow:
    """Signals (``signal``) or cancels (``cancel``) ``<own id><target_suffix>``; returns what happened."""

    @workflow.run
    async def run(self, action: str, target_suffix: str) -> list[str]:
        # The target's id is derived here: ids inside payloads are not normalised.
        handle = workflow.get_external_workflow_handle(workflow.info().workflow_id + target_suffix)
        try:
            if action == "signal":
                await handle.signal("finish")
            else:
                await handle.cancel()
        except FailureError as err:
            return _chain(err)
        return ["ok"]


FAILURE_WORKFLOWS: Sequence[type] = (
    FActivityWorkflow,
    FCancelActivityWorkflow,
    FWaitWorkflow,
    FRetryWorkflow,
    FCronWorkflow,
    FFailFirstTasksWorkflow,
    FNondeterministicWorkflow,
    FContinueAsNewWorkflow,
    FParentWorkflow,
    FExternalWorkflow,
)


# --------------------------------------------------------------------------- driver helpers


async def _poll_until(probe: Callable[[], Awaitable[Any]], what: str) -> Any:
    deadline = asyncio.get_running_loop().time() + STEP_TIMEOUT_SECONDS
    while True:
        value = await probe()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(POLL_INTERVAL_SECONDS)


async def wait_activity_started(handle: WorkflowHandle[Any, Any]) -> None:
    """Until the workflow's pending activity is *started* (a worker holds it) and the workflow idle."""

    async def started() -> bool:
        pending = (await handle.describe()).raw_description.pending_activities
        return bool(pending) and pending[0].state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED

    await _poll_until(started, f"{handle.id}'s activity to start")
    await wait_until_idle(handle)


async def wait_event(handle: WorkflowHandle[Any, Any], event_type: EventType.ValueType) -> None:
    async def present() -> bool:
        return any(e.event_type == event_type for e in (await handle.fetch_history()).events)

    await _poll_until(present, f"{E.Name(event_type)} in {handle.id}")


async def wait_closed(handle: WorkflowHandle[Any, Any]) -> None:
    async def closed() -> bool:
        return (await handle.describe()).status.name != "RUNNING"  # type: ignore[union-attr]

    await _poll_until(closed, f"{handle.id} to close")


async def histories(client: Client, workflow_id: str, run_ids: Sequence[str]) -> list[Any]:
    return [await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history() for run_id in run_ids]


# --------------------------------------------------------------------------- drivers


def run_activity(call: FActivityCall) -> Callable[[Client, str, str], Awaitable[ScenarioRun]]:
    async def drive(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
        handle = await client.start_workflow(FActivityWorkflow.run, call, id=workflow_id, task_queue=task_queue)
        observations = await outcome(handle)
        return ScenarioRun([await handle.fetch_history()], observations)

    return drive


def cancel_activity(
    call: FActivityCall, *, started: bool, task_timeout: float | None = None, query: bool = False
) -> Callable[[Client, str, str], Awaitable[ScenarioRun]]:
    """Cancel the activity (started or not) with ``call.cancellation_type``, then finish the workflow
    once everything the cancellation causes is in history; with ``query``, query what the workflow
    saw just before finishing it."""

    async def drive(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
        handle = await client.start_workflow(
            FCancelActivityWorkflow.run,
            call,
            id=workflow_id,
            task_queue=task_queue,
            task_timeout=timedelta(seconds=task_timeout) if task_timeout else None,
        )
        if started:
            await wait_activity_started(handle)
        else:
            await wait_until_idle(handle, E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
        await handle.signal(FCancelActivityWorkflow.cancel_activity)
        # The workflow records what it saw; with TRY_CANCEL on a started activity the activity's
        # acknowledgement (ActivityTaskCanceled) comes later, so wait for it too.
        await wait_until_idle(handle, E.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED)
        if started and call.cancellation_type == "TRY_CANCEL":
            await wait_until_idle(handle, E.EVENT_TYPE_ACTIVITY_TASK_CANCELED)
        queried = {"query": await handle.query(FCancelActivityWorkflow.outcome)} if query else {}
        await handle.signal(FCancelActivityWorkflow.finish)
        observations = {**queried, **await outcome(handle)}
        return ScenarioRun([await handle.fetch_history()], observations)

    return drive


async def _workflow_retry(client: Client, task_queue: str, workflow_id: str, mode: str) -> ScenarioRun:
    handle = await client.start_workflow(
        FRetryWorkflow.run,
        args=[2, mode],
        id=workflow_id,
        task_queue=task_queue,
        retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3),
        run_timeout=DEADLINE if mode == "hang" else None,
    )
    observations = await outcome(handle)
    first = handle.first_execution_run_id
    assert first
    latest = await client.get_workflow_handle(workflow_id).fetch_history()
    return ScenarioRun([*await histories(client, workflow_id, [first]), latest], observations)


async def workflow_retry_on_failure(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
    return await _workflow_retry(client, task_queue, workflow_id, "fail")


async def workflow_retry_on_timeout(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
    return await _workflow_retry(client, task_queue, workflow_id, "hang")


async def cron_two_runs(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
    """``@every 2s``: the reference's cron parser accepts it, so two runs take at most ~4 s."""
    handle = await client.start_workflow(
        FCronWorkflow.run, id=workflow_id, task_queue=task_queue, cron_schedule="@every 2s"
    )
    run_ids = [handle.result_run_id or ""]
    for _ in range(2):
        run = client.get_workflow_handle(workflow_id, run_id=run_ids[-1])
        await wait_closed(run)
        last = (await run.fetch_history()).events[-1]
        run_ids.append(last.workflow_execution_completed_event_attributes.new_execution_run_id)
    await client.get_workflow_handle(workflow_id).terminate(reason="enough runs")
    runs = await histories(client, workflow_id, run_ids[:2])
    return ScenarioRun(runs, {"distinct_runs": len(set(run_ids))})


def parent_close_policy(policy: str) -> Callable[[Client, str, str], Awaitable[ScenarioRun]]:
    async def drive(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
        parent = await client.start_workflow(
            FParentWorkflow.run, FChildSpec(parent_close_policy=policy), id=workflow_id, task_queue=task_queue
        )
        child = client.get_workflow_handle(f"{workflow_id}-child")
        await wait_until_idle(parent, E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED)
        await wait_until_idle(child)
        await parent.signal(FParentWorkflow.finish)
        observations = {"parent": await outcome(parent)}
        if policy == "ABANDON":
            await wait_until_idle(child)
            await child.signal(FWaitWorkflow.finish)
        else:
            await wait_closed(child)
        observations["child"] = await outcome(child)
        observations["child_status"] = (await child.describe()).status.name  # type: ignore[union-attr]
        return ScenarioRun([await parent.fetch_history(), await child.fetch_history()], observations)

    return drive


def child_outcome(spec: FChildSpec) -> Callable[[Client, str, str], Awaitable[ScenarioRun]]:
    async def drive(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
        parent = await client.start_workflow(FParentWorkflow.run, spec, id=workflow_id, task_queue=task_queue)
        observations = await outcome(parent)
        child = client.get_workflow_handle(f"{workflow_id}-child")
        await wait_closed(child)
        return ScenarioRun([await parent.fetch_history(), await child.fetch_history()], observations)

    return drive


async def child_terminated(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
    parent = await client.start_workflow(
        FParentWorkflow.run, FChildSpec(action="await"), id=workflow_id, task_queue=task_queue
    )
    child = client.get_workflow_handle(f"{workflow_id}-child")
    await wait_until_idle(parent, E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED)
    await wait_until_idle(child)
    await child.terminate("detail", reason="stop the child")
    observations = await outcome(parent)
    return ScenarioRun([await parent.fetch_history(), await child.fetch_history()], observations)


async def child_already_started(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
    squatter = await client.start_workflow(
        FWaitWorkflow.run, id=f"{workflow_id}-child", task_queue=f"{task_queue}-nobody"
    )
    parent = await client.start_workflow(FParentWorkflow.run, FChildSpec(), id=workflow_id, task_queue=task_queue)
    observations = await outcome(parent)
    await squatter.terminate(reason="cleanup")
    return ScenarioRun([await parent.fetch_history(), await squatter.fetch_history()], observations)


def external_missing(action: str) -> Callable[[Client, str, str], Awaitable[ScenarioRun]]:
    async def drive(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
        handle = await client.start_workflow(
            FExternalWorkflow.run, args=[action, "-missing"], id=workflow_id, task_queue=task_queue
        )
        observations = await outcome(handle)
        return ScenarioRun([await handle.fetch_history()], observations)

    return drive


async def workflow_task_failures_then_fixed(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
    handle = await client.start_workflow(
        FFailFirstTasksWorkflow.run, 2, id=workflow_id, task_queue=task_queue, task_timeout=DEADLINE
    )
    observations = await outcome(handle)
    return ScenarioRun([await handle.fetch_history()], observations)


async def nondeterminism(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
    """The task fails with a nondeterminism error; the driver terminates the run once that failure
    is recorded and the server has moved on to (transient, unrecorded) attempt 2 or later."""
    handle = await client.start_workflow(
        FNondeterministicWorkflow.run, id=workflow_id, task_queue=task_queue, task_timeout=DEADLINE
    )
    await wait_event(handle, E.EVENT_TYPE_WORKFLOW_TASK_FAILED)

    async def retrying() -> bool:
        return (await handle.describe()).raw_description.pending_workflow_task.attempt >= 2

    await _poll_until(retrying, "workflow task attempt 2")
    await handle.terminate(reason="nondeterministic")
    return ScenarioRun([await handle.fetch_history()], await outcome(handle))


async def workflow_task_timeouts(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
    """A 'worker' polls the task twice and never answers; then a real worker completes attempt 3."""
    manual = f"{task_queue}-manual"
    handle = await client.start_workflow(
        FRetryWorkflow.run, args=[1, "fail"], id=workflow_id, task_queue=manual, task_timeout=DEADLINE
    )
    poll = PollWorkflowTaskQueueRequest(namespace="default", task_queue=TaskQueue(name=manual), identity="doomed")
    attempts = [(await client.workflow_service.poll_workflow_task_queue(poll)).attempt for _ in range(2)]
    async with Worker(client, task_queue=manual, workflows=list(FAILURE_WORKFLOWS)):
        observations = await outcome(handle)
    observations["polled_attempts"] = attempts
    return ScenarioRun([await handle.fetch_history()], observations)


async def cancel_of_an_activity_that_just_finished(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
    """A raw worker: the activity completes while the workflow task that cancels it is in flight.

    The reference accepts the RequestCancelActivityTask (the activity's outcome is buffered and
    written after the cancel request); no SDK worker can make this race happen on purpose.
    """
    C = CommandType  # noqa: N806 - the enum, short
    service = client.workflow_service
    queue = TaskQueue(name=f"{task_queue}-raw")
    handle = await client.start_workflow("RawCancelRace", id=workflow_id, task_queue=queue.name)

    async def next_workflow_task() -> Any:
        request = PollWorkflowTaskQueueRequest(namespace="default", task_queue=queue, identity="raw")
        return await service.poll_workflow_task_queue(request)

    async def complete(task: Any, command: Command) -> str:
        request = RespondWorkflowTaskCompletedRequest(
            namespace="default", task_token=task.task_token, identity="raw", commands=[command]
        )
        try:
            await service.respond_workflow_task_completed(request)
        except RPCError as err:
            return f"refused: {err.message}"
        return "accepted"

    schedule = ScheduleActivityTaskCommandAttributes(activity_id="a", activity_type=ActivityType(name="A"))
    schedule.task_queue.CopyFrom(queue)
    schedule.start_to_close_timeout.FromTimedelta(ACTIVITY_TIMEOUT)
    schedule_command = Command(
        command_type=C.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK, schedule_activity_task_command_attributes=schedule
    )
    await complete(await next_workflow_task(), schedule_command)
    activity_task = await service.poll_activity_task_queue(
        PollActivityTaskQueueRequest(namespace="default", task_queue=queue, identity="raw")
    )
    execution = WorkflowExecution(workflow_id=workflow_id)
    await service.signal_workflow_execution(
        SignalWorkflowExecutionRequest(namespace="default", workflow_execution=execution, signal_name="cancel")
    )
    cancelling = await next_workflow_task()
    await service.respond_activity_task_completed(
        RespondActivityTaskCompletedRequest(namespace="default", task_token=activity_task.task_token, identity="raw")
    )
    events = cancelling.history.events
    scheduled = next(e.event_id for e in events if e.event_type == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    cancel = RequestCancelActivityTaskCommandAttributes(scheduled_event_id=scheduled)
    cancel_command = Command(
        command_type=C.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK, request_cancel_activity_task_command_attributes=cancel
    )
    observations = {"cancel": await complete(cancelling, cancel_command)}
    finish = Command(
        command_type=C.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
        complete_workflow_execution_command_attributes=CompleteWorkflowExecutionCommandAttributes(),
    )
    await complete(await next_workflow_task(), finish)
    return ScenarioRun([await handle.fetch_history()], observations)


async def sticky_schedule_to_start_timeout(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
    """The sticky worker goes away; the next task times out on its sticky queue after 1 s and moves
    to the normal queue."""
    queue = f"{task_queue}-sticky"
    handle = await client.start_workflow(FWaitWorkflow.run, id=workflow_id, task_queue=queue)
    async with Worker(
        client, task_queue=queue, workflows=list(FAILURE_WORKFLOWS), sticky_queue_schedule_to_start_timeout=DEADLINE
    ):
        await wait_until_idle(handle)
    await handle.signal(FWaitWorkflow.finish)
    await wait_event(handle, E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT)
    async with Worker(client, task_queue=queue, workflows=list(FAILURE_WORKFLOWS)):
        observations = await outcome(handle)
    return ScenarioRun([await handle.fetch_history()], observations)


async def terminate_with_details(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
    handle = await client.start_workflow(FWaitWorkflow.run, id=workflow_id, task_queue=task_queue)
    await wait_until_idle(handle)
    await handle.terminate("detail-1", 2, reason="enough of this")
    return ScenarioRun([await handle.fetch_history()], await outcome(handle))


async def execution_timeout(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
    handle = await client.start_workflow(
        FWaitWorkflow.run, id=workflow_id, task_queue=task_queue, execution_timeout=DEADLINE
    )
    observations = await outcome(handle)
    return ScenarioRun([await handle.fetch_history()], observations)


async def continue_as_new_options(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
    handle = await client.start_workflow(
        FContinueAsNewWorkflow.run,
        1,
        id=workflow_id,
        task_queue=task_queue,
        run_timeout=timedelta(seconds=30),
        task_timeout=timedelta(seconds=3),
        execution_timeout=timedelta(seconds=60),
        retry_policy=RetryPolicy(initial_interval=timedelta(seconds=0.5), maximum_attempts=4),
        memo={"owner": "differential"},
    )
    observations = await outcome(handle)
    first = handle.first_execution_run_id
    assert first
    latest = await client.get_workflow_handle(workflow_id).fetch_history()
    return ScenarioRun([*await histories(client, workflow_id, [first]), latest], observations)


def _s(name: str, run: Callable[[Client, str, str], Awaitable[ScenarioRun]], **options: Any) -> Scenario:
    return Scenario(
        name,
        run,
        workflows=FAILURE_WORKFLOWS,
        activities=FAILURE_ACTIVITIES,
        worker_options=tuple(sorted(options.items())),
    )


def _cancellable(cancellation_type: str) -> FActivityCall:
    return FActivityCall(
        "f_heartbeat_until_cancelled", [], start_to_close=30, heartbeat=1, cancellation_type=cancellation_type
    )


FAILURE_SCENARIOS: Sequence[Scenario] = (
    # activity timeouts and retries
    _s("activity_retry_then_success", run_activity(FActivityCall("f_flaky", [3], maximum_attempts=5))),
    _s(
        "activity_heartbeat_timeout",
        run_activity(FActivityCall("f_stall", ["last-words", 9], start_to_close=30, heartbeat=1)),
    ),
    _s(
        "activity_heartbeat_timeout_retried",
        run_activity(FActivityCall("f_stall", ["progress", 1], start_to_close=30, heartbeat=1, maximum_attempts=3)),
    ),
    _s(
        "activity_start_to_close_timeout",
        run_activity(FActivityCall("f_stall", [None, 9], start_to_close=1, maximum_attempts=2)),
    ),
    _s(
        "activity_schedule_to_start_timeout",
        run_activity(FActivityCall("f_succeed", ["x"], task_queue_suffix="-nobody", schedule_to_start=1)),
    ),
    # Attempt 1 times out at 1 s and a retry 1 s later would pass the 1.5 s schedule-to-close
    # deadline. (A plain schedule-to-close timeout is racy on the reference: start-to-close is
    # capped to the same deadline and which timer it processes first changes the message.)
    _s(
        "activity_schedule_to_close_timeout",
        run_activity(
            FActivityCall(
                "f_stall", [None, 9], start_to_close=1, schedule_to_close=1.5, initial_interval=1, maximum_attempts=0
            )
        ),
    ),
    # activity cancellation
    _s("activity_cancel_try_cancel", cancel_activity(_cancellable("TRY_CANCEL"), started=True)),
    _s(
        "activity_cancel_wait_cancellation_completed",
        cancel_activity(_cancellable("WAIT_CANCELLATION_COMPLETED"), started=True),
    ),
    _s("activity_cancel_abandon", cancel_activity(_cancellable("ABANDON"), started=True)),
    _s("activity_cancel_of_an_activity_that_just_finished", cancel_of_an_activity_that_just_finished),
    # the compatibility report's workflow: a 1 s workflow task timeout, an activity cancelled, a query
    _s(
        "activity_cancel_then_query_task_timeout_1s",
        cancel_activity(_cancellable("TRY_CANCEL"), started=True, task_timeout=1, query=True),
    ),
    _s(
        "activity_cancel_wait_then_query_task_timeout_1s",
        cancel_activity(_cancellable("WAIT_CANCELLATION_COMPLETED"), started=True, task_timeout=1, query=True),
    ),
    _s(
        "activity_cancel_not_started",
        cancel_activity(FActivityCall("f_succeed", ["x"], task_queue_suffix="-nobody"), started=False),
    ),
    # workflow tasks
    _s("workflow_task_failures_then_fixed", workflow_task_failures_then_fixed),
    _s("workflow_task_nondeterminism", nondeterminism, max_cached_workflows=0),
    _s("workflow_task_start_to_close_timeouts", workflow_task_timeouts),
    _s("workflow_task_sticky_schedule_to_start_timeout", sticky_schedule_to_start_timeout),
    # workflows
    _s("workflow_execution_timeout", execution_timeout),
    _s("workflow_retry_on_failure", workflow_retry_on_failure),
    _s("workflow_retry_on_timeout", workflow_retry_on_timeout),
    _s("cron_two_runs", cron_two_runs),
    _s("terminate_with_details", terminate_with_details),
    _s("continue_as_new_options", continue_as_new_options),
    # children and external workflows
    _s("parent_close_terminate", parent_close_policy("TERMINATE")),
    _s("parent_close_request_cancel", parent_close_policy("REQUEST_CANCEL")),
    _s("parent_close_abandon", parent_close_policy("ABANDON")),
    _s("child_canceled", child_outcome(FChildSpec(action="cancel"))),
    _s("child_failed", child_outcome(FChildSpec(kind="fail", action="await"))),
    _s("child_terminated", child_terminated),
    _s("child_timed_out", child_outcome(FChildSpec(kind="hang", action="await", run_timeout=1))),
    _s("child_already_started", child_already_started),
    _s("signal_external_missing", external_missing("signal")),
    _s("cancel_external_missing", external_missing("cancel")),
)


#: Scenario name -> how Gnomon's histories differ today (xfail on Gnomon only, strict).
GNOMON_KNOWN_DIFFERENCES: dict[str, str] = {}
