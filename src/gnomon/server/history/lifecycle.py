"""Starting, signalling, cancelling, terminating and deleting workflow runs."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

from temporalio.api.common.v1 import Header, Payloads, WorkflowExecution
from temporalio.api.enums.v1 import (
    ContinueAsNewInitiator,
    WorkflowExecutionStatus,
    WorkflowIdConflictPolicy,
    WorkflowIdReusePolicy,
)
from temporalio.api.errordetails.v1 import WorkflowExecutionAlreadyStartedFailure
from temporalio.api.history.v1 import (
    WorkflowExecutionCancelRequestedEventAttributes,
    WorkflowExecutionSignaledEventAttributes,
    WorkflowExecutionStartedEventAttributes,
    WorkflowExecutionTerminatedEventAttributes,
)
from temporalio.api.sdk.v1 import UserMetadata
from temporalio.api.update.v1 import Request
from temporalio.api.workflowservice.v1 import PollWorkflowTaskQueueResponse

from gnomon.server.errors import AlreadyExistsError, NotFoundError
from gnomon.server.history import cron
from gnomon.server.history.engine import HistoryEngine, RunContext, Transition
from gnomon.server.history.mutable_state import MutableState
from gnomon.server.history.runs import close_run, new_run
from gnomon.server.history.update_registry import PendingUpdate, registry
from gnomon.server.history.workflow_task import build_poll_response, mark_started, schedule_workflow_task
from gnomon.server.persistence import CurrentRun
from gnomon.server.persistence.interface import CurrentChange

logger = logging.getLogger(__name__)

Status = WorkflowExecutionStatus
MAX_REMEMBERED_SIGNAL_REQUESTS = 100
COMPLETED_RUN = "workflow execution already completed"
FAILED_OUTCOMES = frozenset(
    {Status.WORKFLOW_EXECUTION_STATUS_FAILED, Status.WORKFLOW_EXECUTION_STATUS_CANCELED,
     Status.WORKFLOW_EXECUTION_STATUS_TERMINATED, Status.WORKFLOW_EXECUTION_STATUS_TIMED_OUT}
)  # fmt: skip


@dataclass
class StartOptions:
    """What a start needs beyond the started event's attributes."""

    namespace_id: str
    namespace: str
    workflow_id: str
    request_id: str
    reuse_policy: int = 0
    conflict_policy: int = 0
    start_delay: float = 0.0
    # The start's summary and details.
    user_metadata: UserMetadata | None = None


@dataclass
class SignalInput:
    """A signal to deliver."""

    name: str
    input: Payloads | None
    identity: str
    request_id: str
    header: Header | None = None
    external: WorkflowExecution | None = None


@dataclass
class StartOutcome:
    run_id: str
    started: bool
    ctx: RunContext | None = None
    eager_task: PollWorkflowTaskQueueResponse | None = None


async def already_started(
    engine: HistoryEngine, options: StartOptions, current: CurrentRun, message: str
) -> AlreadyExistsError:
    """ALREADY_EXISTS with the details the SDKs turn into WorkflowAlreadyStartedError."""
    ctx = await engine.context_or_none(options.namespace_id, current.run_id)
    first_run_id = ctx.ms.started.first_execution_run_id if ctx else current.run_id
    return AlreadyExistsError(
        f"{message} WorkflowId: {options.workflow_id}, RunId: {current.run_id}.",
        details=WorkflowExecutionAlreadyStartedFailure(
            start_request_id=current.start_request_id, run_id=current.run_id, first_execution_run_id=first_run_id
        ),
    )


async def start_workflow(
    engine: HistoryEngine,
    options: StartOptions,
    attrs: WorkflowExecutionStartedEventAttributes,
    *,
    signal: SignalInput | None = None,
    run_id: str,
    eager_identity: str = "",
    update: Request | None = None,
) -> StartOutcome:
    """Create a run unless the workflow id's policies say otherwise (the caller holds no lock)."""
    async with engine.workflow_id_lock(options.namespace_id, options.workflow_id):
        current = await engine.persistence.get_current(options.namespace_id, options.workflow_id)
        if current is not None:
            reused = await _apply_id_policies(engine, options, current)
            if reused is not None:
                return reused
        backoff = options.start_delay
        if attrs.cron_schedule:
            # A cron workflow's first run waits for the schedule's first time.
            attrs.initiator = ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE
            backoff = cron.parse(attrs.cron_schedule).backoff(engine.now())
        ms = new_run(
            engine,
            namespace_id=options.namespace_id,
            namespace=options.namespace,
            workflow_id=options.workflow_id,
            run_id=run_id,
            request_id=options.request_id,
            attrs=attrs,
            backoff=backoff,
            before_first_task=(lambda ms: _add_signal(ms, signal)) if signal is not None else None,
            user_metadata=options.user_metadata,
        )
        eager = bool(eager_identity) and ms.workflow_task is not None
        if eager:
            # Eager start: the caller's own worker takes the first task in this same commit.
            ms.started.eager_execution_accepted = True
            ms.pending_events[0].workflow_execution_started_event_attributes.eager_execution_accepted = True
            assert ms.workflow_task is not None
            mark_started(engine, ms, ms.workflow_task, eager_identity)
        change = CurrentChange(expected_run_id=current.run_id if current else None, start_request_id=options.request_id)
        ctx = await engine.create_run(ms, change)
        if update is not None:
            # Registered before any poller can take the first task, so it carries the update.
            registry(ctx)[update.meta.update_id] = PendingUpdate(request=update)
        if eager:
            task = await build_poll_response(engine, ctx, sticky_poll=False)
            return StartOutcome(run_id=run_id, started=True, ctx=ctx, eager_task=task)
        logger.info(
            "started workflow",
            extra={"namespace": options.namespace, "workflow_id": options.workflow_id, "run_id": run_id},
        )
        return StartOutcome(run_id=run_id, started=True, ctx=ctx)


async def _apply_id_policies(engine: HistoryEngine, options: StartOptions, current: CurrentRun) -> StartOutcome | None:
    """Decide about an existing run of the workflow id: reuse it, reject, or make way."""
    if options.request_id and current.start_request_id == options.request_id:
        return StartOutcome(run_id=current.run_id, started=True)  # a retried request
    if current.status == Status.WORKFLOW_EXECUTION_STATUS_RUNNING:
        conflict = options.conflict_policy
        if options.reuse_policy == WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING:
            conflict = WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING
        if conflict == WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING:
            return StartOutcome(run_id=current.run_id, started=False)
        if conflict != WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING:
            raise await already_started(engine, options, current, "Workflow execution is already running.")
        ctx = await engine.resolve(options.namespace_id, options.workflow_id, current.run_id)
        await terminate(engine, ctx, reason="terminated by new workflow start", details=None, identity="")
        return None
    policy = options.reuse_policy
    if policy == WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE:
        raise await already_started(
            engine,
            options,
            current,
            "Workflow execution already finished and WorkflowIdReusePolicy is REJECT_DUPLICATE.",
        )
    if (
        policy == WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY
        and current.status not in FAILED_OUTCOMES
    ):
        raise await already_started(
            engine,
            options,
            current,
            "Workflow execution already finished successfully and "
            "WorkflowIdReusePolicy is ALLOW_DUPLICATE_FAILED_ONLY.",
        )
    return None


def _add_signal(ms: MutableState, signal: SignalInput) -> None:
    attrs = WorkflowExecutionSignaledEventAttributes(signal_name=signal.name, identity=signal.identity)
    if signal.input is not None:
        attrs.input.CopyFrom(signal.input)
    if signal.header is not None:
        attrs.header.CopyFrom(signal.header)
    if signal.external is not None:
        attrs.external_workflow_execution.CopyFrom(signal.external)
    ms.add_or_buffer_event(attrs)
    if signal.request_id:
        ms.signal_request_ids = [*ms.signal_request_ids[-MAX_REMEMBERED_SIGNAL_REQUESTS + 1 :], signal.request_id]


def signal_in_transition(engine: HistoryEngine, tx: Transition, signal: SignalInput) -> None:
    """Deliver a signal to the run under transition (deduplicated by request id)."""
    ms = tx.ms
    if not ms.is_open:
        raise NotFoundError(COMPLETED_RUN)
    if signal.request_id and signal.request_id in ms.signal_request_ids:
        return
    _add_signal(ms, signal)
    tx.dirty = True
    schedule_workflow_task(engine, ms)


async def signal_workflow(engine: HistoryEngine, ctx: RunContext, signal: SignalInput) -> None:
    async with engine.transition(ctx) as tx:
        signal_in_transition(engine, tx, signal)


async def signal_with_start(
    engine: HistoryEngine,
    options: StartOptions,
    attrs: WorkflowExecutionStartedEventAttributes,
    signal: SignalInput,
    run_id: str,
) -> StartOutcome:
    """Signal the running workflow of this id, or start one with the signal in it."""
    while True:
        current = await engine.persistence.get_current(options.namespace_id, options.workflow_id)
        running = current is not None and current.status == Status.WORKFLOW_EXECUTION_STATUS_RUNNING
        if (
            running
            and options.conflict_policy != WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING
        ):
            assert current is not None
            try:
                ctx = await engine.resolve(options.namespace_id, options.workflow_id, current.run_id)
                await signal_workflow(engine, ctx, signal)
                return StartOutcome(run_id=current.run_id, started=False)
            except NotFoundError:
                continue  # it closed in between: start a new one
        options.conflict_policy = options.conflict_policy or WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_FAIL
        try:
            return await start_workflow(engine, options, attrs, signal=signal, run_id=run_id)
        except AlreadyExistsError:
            if options.conflict_policy == WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING:
                raise
            continue  # another start won the race: signal that run


async def request_cancel(
    engine: HistoryEngine,
    ctx: RunContext,
    *,
    reason: str,
    identity: str,
    request_id: str,
    external_initiated_event_id: int = 0,
    external: WorkflowExecution | None = None,
) -> None:
    async with engine.transition(ctx) as tx:
        ms = tx.ms
        if not ms.is_open or ms.cancel_requested:
            # As on the reference: asking a closed run, or asking again, succeeds and changes nothing.
            return
        attrs = WorkflowExecutionCancelRequestedEventAttributes(
            cause=reason, identity=identity, external_initiated_event_id=external_initiated_event_id
        )
        if external is not None:
            attrs.external_workflow_execution.CopyFrom(external)
        ms.add_or_buffer_event(attrs)
        ms.cancel_requested = True
        ms.cancel_request_id = request_id
        tx.dirty = True
        schedule_workflow_task(engine, ms)


async def terminate(
    engine: HistoryEngine, ctx: RunContext, *, reason: str, details: Payloads | None, identity: str
) -> None:
    async with engine.transition(ctx) as tx:
        terminate_in_transition(engine, tx, reason=reason, details=details, identity=identity)


def terminate_in_transition(
    engine: HistoryEngine, tx: Transition, *, reason: str, details: Payloads | None, identity: str
) -> None:
    ms = tx.ms
    if not ms.is_open:
        raise NotFoundError(COMPLETED_RUN)
    # Events accepted while a workflow task ran were acknowledged: keep them in history.
    ms.flush_buffered_events()
    attrs = WorkflowExecutionTerminatedEventAttributes(reason=reason, identity=identity)
    if details is not None:
        attrs.details.CopyFrom(details)
    now = engine.now()
    ms.add_event(attrs, now=now)
    close_run(ms, Status.WORKFLOW_EXECUTION_STATUS_TERMINATED, now)


async def delete_workflow(engine: HistoryEngine, ctx: RunContext) -> None:
    """Terminate the run if it is running, then remove it and its history."""
    if ctx.ms.is_open:
        with contextlib.suppress(NotFoundError):  # it closed meanwhile
            await terminate(engine, ctx, reason="Delete workflow execution", details=None, identity="")
    ms = ctx.ms
    await engine.persistence.delete_run(ms.namespace_id, ms.workflow_id, ms.run_id)
    engine.forget(ctx)
