"""Workflow definitions for the end-to-end suite.

This module is imported inside the SDK's workflow sandbox, so it only imports the
standard library and ``temporalio``. Activities are referred to by *name* so that the
tests can register per-test activity implementations (see ``tests/e2e/activities.py``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    ChildWorkflowError,
    WorkflowAlreadyStartedError,
)

#: Custom search attributes the suite registers (see ``tests/e2e/conftest.py``).
KEYWORD_SA = SearchAttributeKey.for_keyword("GnomonE2EKeyword")
INT_SA = SearchAttributeKey.for_int("GnomonE2EInt")


@dataclass
class ActivityCall:
    """How :class:`ActivityWorkflow` should call one activity."""

    name: str
    args: list[Any] = field(default_factory=list)
    task_queue: str | None = None
    activity_id: str | None = None
    start_to_close_seconds: float = 10.0
    heartbeat_timeout_seconds: float | None = None
    max_attempts: int = 1


def _activity_options(call: ActivityCall) -> dict[str, Any]:
    return {
        "task_queue": call.task_queue,
        "activity_id": call.activity_id,
        "start_to_close_timeout": timedelta(seconds=call.start_to_close_seconds),
        "heartbeat_timeout": (
            timedelta(seconds=call.heartbeat_timeout_seconds) if call.heartbeat_timeout_seconds else None
        ),
        "retry_policy": RetryPolicy(maximum_attempts=call.max_attempts, initial_interval=timedelta(milliseconds=100)),
    }


@workflow.defn
class EchoWorkflow:
    """Returns its argument: the smallest workflow that completes."""

    @workflow.run
    async def run(self, value: str) -> str:
        return value


@workflow.defn
class SignalWorkflow:
    """Collects ``add`` signals until ``finish``; answers queries about what it holds."""

    def __init__(self) -> None:
        self.values: list[str] = []
        self.finished = False

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: self.finished)
        return self.values

    @workflow.signal
    def add(self, value: str) -> None:
        self.values.append(value)

    @workflow.signal
    def finish(self) -> None:
        self.finished = True

    @workflow.query
    def state(self) -> list[str]:
        return self.values

    @workflow.query
    def failing_query(self) -> str:
        raise ApplicationError("query refused on purpose")


@workflow.defn
class ActivityWorkflow:
    """Runs one activity (by name) and returns its result."""

    @workflow.run
    async def run(self, call: ActivityCall) -> Any:
        return await workflow.execute_activity(call.name, args=call.args, **_activity_options(call))


@workflow.defn
class LocalActivityWorkflow:
    """Runs one local activity (by name) and returns its result."""

    @workflow.run
    async def run(self, call: ActivityCall) -> Any:
        return await workflow.execute_local_activity(
            call.name, args=call.args, start_to_close_timeout=timedelta(seconds=call.start_to_close_seconds)
        )


@workflow.defn
class CancelActivityWorkflow:
    """Starts an activity, cancels it when signalled, and reports how the activity ended."""

    def __init__(self) -> None:
        self.cancel_requested = False

    @workflow.run
    async def run(self, call: ActivityCall) -> str:
        handle = workflow.start_activity(
            call.name,
            args=call.args,
            cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            **_activity_options(call),
        )
        await workflow.wait_condition(lambda: self.cancel_requested)
        handle.cancel()
        try:
            await handle
        except ActivityError as err:
            if isinstance(err.cause, CancelledError):
                return "activity-cancelled"
            raise
        return "activity-completed"

    @workflow.signal
    def cancel_activity(self) -> None:
        self.cancel_requested = True


@workflow.defn
class TimerWorkflow:
    """Sleeps (a durable timer) and returns."""

    @workflow.run
    async def run(self, seconds: float) -> str:
        await asyncio.sleep(seconds)
        return "timer-fired"


@workflow.defn
class FailingWorkflow:
    """Fails with a non-retryable application error."""

    @workflow.run
    async def run(self, message: str) -> str:
        raise ApplicationError(message, "detail-1", type="E2EFailure", non_retryable=True)


@dataclass
class ChildCall:
    """Which child :class:`ParentWorkflow` starts."""

    child_id: str
    value: str
    task_queue: str | None = None


@workflow.defn
class ParentWorkflow:
    """Runs :class:`EchoWorkflow` as a child and returns the child's result."""

    @workflow.run
    async def run(self, call: ChildCall) -> str:
        result = await workflow.execute_child_workflow(
            EchoWorkflow.run, call.value, id=call.child_id, task_queue=call.task_queue
        )
        return f"child said {result}"


@workflow.defn
class ContinueAsNewWorkflow:
    """Continues as new ``remaining`` times, then returns how many runs it took."""

    @workflow.run
    async def run(self, remaining: int, runs: int = 1) -> int:
        if remaining > 0:
            workflow.continue_as_new(args=[remaining - 1, runs + 1])
        return runs


@workflow.defn
class SignalExternalWorkflow:
    """Signals another workflow (``add``) and returns."""

    @workflow.run
    async def run(self, target_id: str, value: str) -> str:
        await workflow.get_external_workflow_handle(target_id).signal("add", value)
        return "signalled"


@workflow.defn
class CancelExternalWorkflow:
    """Requests cancellation of another workflow and returns."""

    @workflow.run
    async def run(self, target_id: str) -> str:
        await workflow.get_external_workflow_handle(target_id).cancel()
        return "cancel-requested"


@workflow.defn
class UpsertWorkflow:
    """Upserts search attributes and memo, then waits for ``finish``."""

    def __init__(self) -> None:
        self.finished = False

    @workflow.run
    async def run(self, keyword: str, memo_value: str) -> str:
        workflow.upsert_search_attributes([KEYWORD_SA.value_set(keyword), INT_SA.value_set(42)])
        workflow.upsert_memo({"e2e-memo": memo_value})
        await workflow.wait_condition(lambda: self.finished)
        return "upserted"

    @workflow.signal
    def finish(self) -> None:
        self.finished = True


@workflow.defn
class PatchedWorkflow:
    """Takes the new branch of a patch, which records a marker."""

    @workflow.run
    async def run(self) -> str:
        if workflow.patched("e2e-patch"):
            return "patched"
        return "unpatched"


@workflow.defn
class InfoWorkflow:
    """Returns facts about its own execution, then optionally waits for ``finish``."""

    def __init__(self) -> None:
        self.finished = False

    @workflow.run
    async def run(self, wait: bool) -> dict[str, Any]:
        if wait:
            await workflow.wait_condition(lambda: self.finished)
        info = workflow.info()
        return {"workflow_id": info.workflow_id, "run_id": info.run_id, "attempt": info.attempt}

    @workflow.signal
    def finish(self) -> None:
        self.finished = True


@workflow.defn
class BrokenWorkflow:
    """Raises a non-application error, which fails the workflow *task* (not the workflow)."""

    @workflow.run
    async def run(self) -> str:
        raise RuntimeError("broken on purpose")


@workflow.defn
class FlakyWorkflow:
    """Fails (retryably) on its first attempt and succeeds on the next one."""

    @workflow.run
    async def run(self) -> str:
        attempt = workflow.info().attempt
        if attempt < 2:
            raise ApplicationError(f"workflow attempt {attempt} fails", type="FlakyWorkflow")
        return f"workflow succeeded on attempt {attempt}"


@workflow.defn
class TimerCancelWorkflow:
    """Waits for ``finish`` with a long timeout; the signal cancels the timeout's timer."""

    def __init__(self) -> None:
        self.finished = False

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.finished, timeout=timedelta(seconds=60))
        return "finished before timeout"

    @workflow.signal
    def finish(self) -> None:
        self.finished = True


@workflow.defn
class FailingChildWorkflow:
    """Runs :class:`FailingWorkflow` as a child and reports how the child failed."""

    @workflow.run
    async def run(self, child_id: str) -> str:
        try:
            await workflow.execute_child_workflow(FailingWorkflow.run, "child broke", id=child_id)
        except ChildWorkflowError as err:
            cause = err.cause
            return f"child failed: {cause.message if isinstance(cause, ApplicationError) else cause}"
        return "child succeeded"


@workflow.defn
class AbandoningParentWorkflow:
    """Starts a long-running child with the given parent close policy, then returns at once."""

    @workflow.run
    async def run(self, child_id: str, abandon: bool) -> str:
        policy = workflow.ParentClosePolicy.ABANDON if abandon else workflow.ParentClosePolicy.TERMINATE
        await workflow.start_child_workflow(SignalWorkflow.run, id=child_id, parent_close_policy=policy)
        return "parent done"


@workflow.defn
class UpdateWorkflow:
    """Accepts ``append`` updates (validated: no empty values) until ``finish``."""

    def __init__(self) -> None:
        self.values: list[str] = []
        self.finished = False

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: self.finished)
        return self.values

    @workflow.update
    def append(self, value: str) -> list[str]:
        self.values.append(value)
        return list(self.values)

    @append.validator
    def validate_append(self, value: str) -> None:
        if not value:
            raise ValueError("empty values are rejected")

    @workflow.update
    async def failing_update(self, message: str) -> str:
        raise ApplicationError(message, type="UpdateFailure")

    @workflow.signal
    def finish(self) -> None:
        self.finished = True


@workflow.defn
class ChildConflictWorkflow:
    """Tries to start a child whose id is already running, and reports the outcome."""

    @workflow.run
    async def run(self, child_id: str) -> str:
        try:
            await workflow.start_child_workflow(EchoWorkflow.run, "never", id=child_id)
        except WorkflowAlreadyStartedError:
            return "child already running"
        return "child started"


@workflow.defn
class SignalMissingWorkflow:
    """Signals a workflow that does not exist, and reports the failure."""

    @workflow.run
    async def run(self, target_id: str) -> str:
        try:
            await workflow.get_external_workflow_handle(target_id).signal("add", "lost")
        except Exception as err:  # noqa: BLE001 - the point is to report whatever the SDK raised
            return f"signal failed: {type(err).__name__}"
        return "signal delivered"


ALL_WORKFLOWS: list[type] = [
    ChildConflictWorkflow,
    SignalMissingWorkflow,
    UpdateWorkflow,
    BrokenWorkflow,
    FlakyWorkflow,
    TimerCancelWorkflow,
    FailingChildWorkflow,
    AbandoningParentWorkflow,
    EchoWorkflow,
    SignalWorkflow,
    ActivityWorkflow,
    LocalActivityWorkflow,
    CancelActivityWorkflow,
    TimerWorkflow,
    FailingWorkflow,
    ParentWorkflow,
    ContinueAsNewWorkflow,
    SignalExternalWorkflow,
    CancelExternalWorkflow,
    UpsertWorkflow,
    PatchedWorkflow,
    InfoWorkflow,
]
