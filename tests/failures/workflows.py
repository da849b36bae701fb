"""Workflow definitions for the failure-semantics suite.

This module is imported inside the SDK's workflow sandbox, so it imports only the standard
library and ``temporalio`` (plus :mod:`tests.failures.shared`, passed through the sandbox on
purpose: it holds the per-workflow counters that let a workflow fail its first tasks).
Activities are referred to by *name* (see ``tests/failures/activities.py``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError, FailureError

with workflow.unsafe.imports_passed_through():
    # "import a.b as c", not "from a import b": only the former passes the submodule through.
    import tests.failures.shared as shared


def _seconds(value: float | None) -> timedelta | None:
    return None if value is None else timedelta(seconds=value)


@dataclass
class Retry:
    """A retry policy, in seconds."""

    initial_interval: float = 0.1
    backoff_coefficient: float = 2.0
    maximum_interval: float | None = None
    maximum_attempts: int = 0
    non_retryable_error_types: list[str] = field(default_factory=list)

    def policy(self) -> RetryPolicy:
        return RetryPolicy(
            initial_interval=timedelta(seconds=self.initial_interval),
            backoff_coefficient=self.backoff_coefficient,
            maximum_interval=_seconds(self.maximum_interval),
            maximum_attempts=self.maximum_attempts,
            non_retryable_error_types=self.non_retryable_error_types or None,
        )


@dataclass
class ActivityCall:
    """How a workflow should call one activity. ``retry=None`` means no retry policy at all
    (the server applies its default)."""

    name: str
    args: list[Any] = field(default_factory=list)
    task_queue: str | None = None
    schedule_to_close: float | None = None
    schedule_to_start: float | None = None
    start_to_close: float | None = 10.0
    heartbeat: float | None = None
    retry: Retry | None = field(default_factory=lambda: Retry(maximum_attempts=1))
    cancellation_type: str = "TRY_CANCEL"

    def options(self) -> dict[str, Any]:
        return {
            "task_queue": self.task_queue,
            "schedule_to_close_timeout": _seconds(self.schedule_to_close),
            "schedule_to_start_timeout": _seconds(self.schedule_to_start),
            "start_to_close_timeout": _seconds(self.start_to_close),
            "heartbeat_timeout": _seconds(self.heartbeat),
            "retry_policy": self.retry.policy() if self.retry is not None else None,
            "cancellation_type": workflow.ActivityCancellationType[self.cancellation_type],
        }


def describe_error(err: BaseException) -> list[str]:
    """An error and its causes as ``Type: message`` strings (what a workflow saw)."""
    chain: list[str] = []
    current: BaseException | None = err
    while current is not None:
        chain.append(f"{type(current).__name__}: {current}")
        current = current.__cause__
    return chain


@workflow.defn
class ActivityWorkflow:
    """Runs one activity (by name) and returns its result; an activity failure fails the workflow."""

    @workflow.run
    async def run(self, call: ActivityCall) -> Any:
        return await workflow.execute_activity(call.name, args=call.args, **call.options())


@workflow.defn
class CancelActivityWorkflow:
    """Starts an activity, cancels it when signalled ``cancel_activity``, and returns what the
    workflow saw. With ``wait_finish`` it then waits for ``finish`` before returning, so late
    activity events (an ActivityTaskCanceled after TRY_CANCEL) still land in this run."""

    def __init__(self) -> None:
        self.cancel_requested = False
        self.finished = False

    @workflow.run
    async def run(self, call: ActivityCall, wait_finish: bool) -> list[str]:
        handle = workflow.start_activity(call.name, args=call.args, **call.options())
        await workflow.wait_condition(lambda: self.cancel_requested or handle.done())
        handle.cancel()
        try:
            outcome = [f"result: {await handle}"]
        except ActivityError as err:
            outcome = describe_error(err)
        except asyncio.CancelledError as err:  # what ABANDON / TRY_CANCEL raise before any failure
            outcome = describe_error(err)
        # Make the moment the workflow saw the outcome visible in history (a properties-modified event).
        workflow.upsert_memo({"activity_outcome": outcome[0]})
        if wait_finish:
            await workflow.wait_condition(lambda: self.finished)
        return outcome

    @workflow.signal
    def cancel_activity(self) -> None:
        self.cancel_requested = True

    @workflow.signal
    def finish(self) -> None:
        self.finished = True


@workflow.defn
class WaitWorkflow:
    """Waits for ``finish``. Cancellation: ``on_cancel="raise"`` lets it cancel the workflow,
    ``"complete"`` catches it and completes normally, ``"fail"`` fails the workflow."""

    def __init__(self) -> None:
        self.finished = False

    @workflow.run
    async def run(self, on_cancel: str = "raise") -> str:
        try:
            await workflow.wait_condition(lambda: self.finished)
        except asyncio.CancelledError:
            if on_cancel == "complete":
                return "cleaned up after cancellation"
            if on_cancel == "fail":
                raise ApplicationError("refused to be cancelled", type="CancelRefused") from None
            raise
        return "finished"

    @workflow.signal
    def finish(self) -> None:
        self.finished = True


@workflow.defn
class FailUntilAttemptWorkflow:
    """Fails (with ``error_type``) on every run attempt below ``succeed_on``; then reports its info."""

    @workflow.run
    async def run(self, succeed_on: int, error_type: str = "WorkflowFlaky") -> dict[str, Any]:
        info = workflow.info()
        if info.attempt < succeed_on:
            raise ApplicationError(f"workflow attempt {info.attempt} fails", type=error_type)
        return {
            "attempt": info.attempt,
            "run_id": info.run_id,
            "first_execution_run_id": info.first_execution_run_id,
            "continued_run_id": info.continued_run_id,
        }


@workflow.defn
class HangUntilAttemptWorkflow:
    """Blocks forever (so a run timeout ends it) on every attempt below ``succeed_on``."""

    @workflow.run
    async def run(self, succeed_on: int) -> int:
        attempt = workflow.info().attempt
        if attempt < succeed_on:
            await workflow.wait_condition(lambda: False)
        return attempt


@workflow.defn
class CronWorkflow:
    """Counts its cron runs through the last completion result."""

    @workflow.run
    async def run(self) -> dict[str, Any]:
        last = workflow.get_last_completion_result(type_hint=dict)
        runs = 1 if not last else int(last["runs"]) + 1
        return {"runs": runs, "cron_schedule": workflow.info().cron_schedule}


@workflow.defn
class ContinueAsNewOnceWorkflow:
    """Continues as new once with no overrides; the second run reports what it inherited."""

    @workflow.run
    async def run(self, remaining: int, hang_at_end: bool = False) -> dict[str, Any]:
        if remaining > 0:
            workflow.continue_as_new(args=[remaining - 1, hang_at_end])
        if hang_at_end:
            await workflow.wait_condition(lambda: False)
        info = workflow.info()
        retry = info.retry_policy
        return {
            "task_queue": info.task_queue,
            "run_timeout": info.run_timeout.total_seconds() if info.run_timeout else None,
            "task_timeout": info.task_timeout.total_seconds(),
            "execution_timeout": info.execution_timeout.total_seconds() if info.execution_timeout else None,
            "retry_maximum_attempts": retry.maximum_attempts if retry else None,
            "memo": workflow.memo_value("owner", default=None),
            "attempt": info.attempt,
            "continued_run_id": info.continued_run_id,
            "first_execution_run_id": info.first_execution_run_id,
        }


@workflow.defn
class NondeterministicWorkflow:
    """Sleeps on its first execution but schedules an activity when replayed: with a worker that
    caches nothing, its second workflow task always fails with a nondeterminism error."""

    @workflow.run
    async def run(self) -> str:
        if not workflow.unsafe.is_replaying():
            await workflow.sleep(0.1)
        else:
            await workflow.execute_activity("succeed", "never", start_to_close_timeout=timedelta(seconds=5))
        return "unreachable"


@workflow.defn
class FailFirstTasksWorkflow:
    """Its first ``failures`` workflow tasks raise (a workflow *task* failure: the SDK retries),
    then it completes. The count is kept per workflow id in :mod:`tests.failures.shared`."""

    @workflow.run
    async def run(self, failures: int) -> str:
        seen = shared.bump(f"wft:{workflow.info().workflow_id}")
        if seen <= failures:
            raise RuntimeError(f"workflow task failure {seen} of {failures}")
        return f"completed after {failures} failed tasks"


@dataclass
class ChildSpec:
    """What :class:`ParentWorkflow` does with one child."""

    child_id: str
    #: "wait" (a WaitWorkflow), "fail" (fails at once), "hang" (blocks forever)
    kind: str = "wait"
    #: "await": await the result; "cancel": start, then cancel and await; "start": start, then
    #: wait for the parent's own ``finish`` signal and return (the child keeps running)
    action: str = "await"
    parent_close_policy: str = "TERMINATE"
    run_timeout: float | None = None
    on_cancel: str = "raise"


@workflow.defn
class ChildFailWorkflow:
    """A child that fails at once with a non-retryable application error."""

    @workflow.run
    async def run(self) -> str:
        raise ApplicationError("child broke", "child-detail", type="ChildBroke", non_retryable=True)


@workflow.defn
class ChildHangWorkflow:
    """A child that never finishes on its own."""

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: False)
        return "unreachable"


@workflow.defn
class ParentWorkflow:
    """Starts one child as ``spec`` says and returns what the parent observed."""

    def __init__(self) -> None:
        self.finished = False

    @workflow.run
    async def run(self, spec: ChildSpec) -> list[str]:
        options: dict[str, Any] = {
            "id": spec.child_id,
            "parent_close_policy": workflow.ParentClosePolicy[spec.parent_close_policy],
            "run_timeout": _seconds(spec.run_timeout),
        }
        try:
            if spec.kind == "fail":
                handle = await workflow.start_child_workflow(ChildFailWorkflow.run, **options)
            elif spec.kind == "hang":
                handle = await workflow.start_child_workflow(ChildHangWorkflow.run, **options)
            else:
                handle = await workflow.start_child_workflow(WaitWorkflow.run, spec.on_cancel, **options)
        except Exception as err:  # noqa: BLE001 - the start failure is what the test looks at
            return ["start failed", *describe_error(err)]
        if spec.action == "start":
            await workflow.wait_condition(lambda: self.finished)
            return ["parent done"]
        if spec.action == "cancel":
            handle.cancel()
        try:
            return [f"child result: {await handle}"]
        except ChildWorkflowError as err:
            return describe_error(err)
        except asyncio.CancelledError as err:
            return describe_error(err)

    @workflow.signal
    def finish(self) -> None:
        self.finished = True


@workflow.defn
class SignalExternalWorkflow:
    """Signals another workflow (``finish``) and returns what happened."""

    @workflow.run
    async def run(self, target_id: str, target_run_id: str | None) -> list[str]:
        try:
            await workflow.get_external_workflow_handle(target_id, run_id=target_run_id).signal("finish")
        except FailureError as err:
            return describe_error(err)
        return ["signalled"]


@workflow.defn
class CancelExternalWorkflow:
    """Requests cancellation of another workflow and returns what happened."""

    @workflow.run
    async def run(self, target_id: str, target_run_id: str | None) -> list[str]:
        try:
            await workflow.get_external_workflow_handle(target_id, run_id=target_run_id).cancel()
        except FailureError as err:
            return describe_error(err)
        return ["cancel requested"]


ALL_WORKFLOWS: list[type] = [
    ActivityWorkflow,
    CancelActivityWorkflow,
    WaitWorkflow,
    FailUntilAttemptWorkflow,
    HangUntilAttemptWorkflow,
    CronWorkflow,
    ContinueAsNewOnceWorkflow,
    NondeterministicWorkflow,
    FailFirstTasksWorkflow,
    ChildFailWorkflow,
    ChildHangWorkflow,
    ParentWorkflow,
    SignalExternalWorkflow,
    CancelExternalWorkflow,
]
