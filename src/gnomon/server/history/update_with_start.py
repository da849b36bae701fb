"""Update-with-start (ExecuteMultiOperation): start a workflow unless it runs, and update it.

The order of the checks is the reference's, and it is what makes the operation safe to
retry: an update id the current run already knows is attached to whatever the id
conflict policy says (a completed one answers with its outcome even once the run has
closed); only otherwise does the start follow its policies. If the update is aborted
because the run it was admitted to closed, and this request did not start that run, the
whole operation is tried once more (it now starts a new run); a second such abort
answers ABORTED, which the SDKs retry.
"""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.api.enums.v1 import UpdateWorkflowExecutionLifecycleStage as Stage
from temporalio.api.enums.v1 import WorkflowIdConflictPolicy
from temporalio.api.history.v1 import WorkflowExecutionStartedEventAttributes
from temporalio.api.update.v1 import Outcome, Request

from gnomon.server.errors import AbortedError, ServiceError
from gnomon.server.history import lifecycle, updates
from gnomon.server.history.engine import HistoryEngine, RunContext


class OperationFailed(Exception):
    """One of the two operations failed: ``index`` 0 is the start, 1 the update."""

    def __init__(self, index: int, error: ServiceError) -> None:
        super().__init__(error.message)
        self.index = index
        self.error = error


@dataclass
class UpdateWithStartResult:
    run_id: str
    started: bool
    status: int  # of the run the update went to
    ctx: RunContext
    stage: int
    outcome: Outcome | None


async def update_with_start(
    engine: HistoryEngine,
    options: lifecycle.StartOptions,
    attrs: WorkflowExecutionStartedEventAttributes,
    request: Request,
    *,
    run_id: str,
    wanted: int,
    timeout: float,
) -> UpdateWithStartResult:
    """Start (or reuse) the workflow and wait for the update to reach ``wanted``."""
    try:
        return await _attempt(engine, options, attrs, request, run_id, wanted, timeout)
    except _AbortedByClose:
        pass
    try:
        return await _attempt(engine, options, attrs, request, run_id, wanted, timeout)
    except _AbortedByClose as aborted:
        raise OperationFailed(1, AbortedError(aborted.error.message)) from aborted.error


class _AbortedByClose(Exception):
    def __init__(self, error: updates.UpdateAbortedByCloseError) -> None:
        super().__init__(error.message)
        self.error = error


async def _attempt(
    engine: HistoryEngine,
    options: lifecycle.StartOptions,
    attrs: WorkflowExecutionStartedEventAttributes,
    request: Request,
    run_id: str,
    wanted: int,
    timeout: float,
) -> UpdateWithStartResult:
    existing = await _existing_run(engine, options, request.meta.update_id)
    if isinstance(existing, UpdateWithStartResult):
        return existing
    if existing is not None:
        return await _update(engine, existing, request, wanted, timeout, started=False)
    try:
        start = await lifecycle.start_workflow(engine, options, attrs, run_id=run_id, update=request)
    except ServiceError as error:
        raise OperationFailed(0, error) from error
    try:
        ctx = await engine.resolve(options.namespace_id, options.workflow_id, start.run_id)
    except ServiceError as error:
        raise OperationFailed(1, error) from error
    # A run this request started (or a retry of it) is not retried: its update went there.
    return await _update(engine, ctx, request, wanted, timeout, started=start.started, retry=not start.started)


async def _existing_run(
    engine: HistoryEngine, options: lifecycle.StartOptions, update_id: str
) -> RunContext | UpdateWithStartResult | None:
    """The current run to attach the update to, the update's result if it is done, or None: start."""
    current = await engine.persistence.get_current(options.namespace_id, options.workflow_id)
    if current is None:
        return None
    ctx = await engine.context_or_none(options.namespace_id, current.run_id)
    if ctx is None:
        return None
    ms = ctx.ms
    record = ms.updates.get(update_id)
    if record is not None and record.completed_event_id:
        outcome = await updates.outcome_of(engine, ms, record)
        stage = Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED
        return UpdateWithStartResult(ms.run_id, False, ms.status, ctx, stage, outcome)
    if not ms.is_open:
        return None
    if (
        options.request_id == ms.start_request_id
        or updates.known(ctx, update_id)
        or options.conflict_policy == WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
    ):
        return ctx
    return None


async def _update(
    engine: HistoryEngine,
    ctx: RunContext,
    request: Request,
    wanted: int,
    timeout: float,
    *,
    started: bool,
    retry: bool = True,
) -> UpdateWithStartResult:
    try:
        ctx, stage, outcome = await updates.update_workflow(engine, ctx, request, wanted, timeout)
    except updates.UpdateAbortedByCloseError as error:
        if retry:
            raise _AbortedByClose(error) from error
        raise OperationFailed(1, error) from error
    except ServiceError as error:
        raise OperationFailed(1, error) from error
    return UpdateWithStartResult(ctx.ms.run_id, started, ctx.ms.status, ctx, stage, outcome)
