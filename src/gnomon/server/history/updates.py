"""Workflow updates: admission, delivery as protocol messages, acceptance and completion.

An update lives in memory (on the run's context) until the workflow accepts it; only
then does it reach history (WorkflowExecutionUpdateAccepted, later ...Completed). It
travels to the worker as a protocol message inside a workflow task. When nothing else
needs a workflow task, a *speculative* one is scheduled: its scheduled/started events
are not written, and if the worker only rejects the update the task vanishes from
history (the worker is told to roll back with ``reset_history_event_id``).

Like the reference, admitted updates are lost if the server restarts before the
workflow accepts them; the caller's wait then ends and the SDK retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from dataclasses import dataclass, field

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import UpdateWorkflowExecutionLifecycleStage as Stage
from temporalio.api.errordetails.v1 import WorkflowNotReadyFailure
from temporalio.api.failure.v1 import ApplicationFailureInfo, Failure
from temporalio.api.history.v1 import (
    WorkflowExecutionUpdateAcceptedEventAttributes,
    WorkflowExecutionUpdateCompletedEventAttributes,
)
from temporalio.api.protocol.v1 import Message
from temporalio.api.update.v1 import Acceptance, Outcome, Rejection, Request, Response, UpdateRef

from gnomon.server.errors import FailedPreconditionError, InvalidArgumentError, NotFoundError, UnavailableError
from gnomon.server.history.engine import HistoryEngine, RunContext, Transition
from gnomon.server.history.events import read_events
from gnomon.server.history.mutable_state import MutableState, UpdateRecord
from gnomon.server.history.update_registry import PendingUpdate
from gnomon.server.history.update_registry import registry as _registry
from gnomon.server.history.workflow_task import schedule_workflow_task

logger = logging.getLogger(__name__)


def _server_failure(message: str, failure_type: str) -> Failure:
    return Failure(
        message=message,
        source="Server",
        application_failure_info=ApplicationFailureInfo(type=failure_type, non_retryable=True),
    )


ABORTED_BY_CLOSE = "workflow update was aborted by closing workflow"
WORKFLOW_TASK_FAILED = "Unable to perform workflow execution update due to unexpected workflow task failure."
# The outcome of an accepted update whose run closed first.
RUN_CLOSED_FIRST = Outcome(
    failure=_server_failure(
        "Workflow Update failed because the Workflow completed before the Update completed.",
        "AcceptedUpdateCompletedWorkflow",
    )
)
# The outcome of an update a worker was sent and did not answer.
UNPROCESSED = Outcome(
    failure=_server_failure(
        "Workflow Update is rejected because it wasn't processed by worker. "
        "Probably, Workflow Update is not supported by the worker.",
        "UnprocessedUpdate",
    )
)


class RetryUpdate(UnavailableError):
    """The update must be admitted again: the run it waited in will never deliver it.

    Either the run closed into a successor before accepting it (``follow_chain``: it goes to
    the new run), or the run's in-memory state, with its registry of updates, was dropped
    after a failed commit (it goes to the same run, reloaded). Waiters retry within their
    own deadline; should one escape, UNAVAILABLE tells the caller to retry too.
    """

    def __init__(self, *, follow_chain: bool) -> None:
        super().__init__("workflow update was aborted, please retry")
        self.follow_chain = follow_chain


class UpdateAbortedByCloseError(NotFoundError):
    """The run closed, without a successor, before the workflow accepted the update."""

    def __init__(self) -> None:
        super().__init__(ABORTED_BY_CLOSE)


# -- admission -------------------------------------------------------------------------------


async def admit(engine: HistoryEngine, ctx: RunContext, request: Request) -> PendingUpdate | UpdateRecord:
    """Admit the update (or find the one with the same id); schedule a task to deliver it."""
    update_id = request.meta.update_id
    if not update_id:
        raise InvalidArgumentError("Update id is not set on request.")
    if not request.input.name:
        raise InvalidArgumentError("Update name is not set on request.")
    async with engine.transition(ctx) as tx:
        ms = tx.ms
        record = ms.updates.get(update_id)
        if record is not None:
            return record  # accepted before: deduplicated
        pending = _registry(ctx).get(update_id)
        if pending is not None:
            return pending
        if not ms.is_open:
            raise NotFoundError("workflow execution already completed")
        pending = PendingUpdate(request=request)
        _registry(ctx)[update_id] = pending
        if ms.workflow_task is None and schedule_workflow_task(engine, ms, speculative=True) is not None:
            tx.dirty = True
        return pending


# -- the worker's answers --------------------------------------------------------------------


@dataclass
class MessageProcessor:
    """Applies the protocol messages of one workflow task completion.

    What the messages promise the update callers (accepted, completed, rejected) is queued
    on the transition and happens only once the completion is committed.
    """

    tx: Transition
    messages: dict[str, Message]
    processed: set[str] = field(default_factory=set)
    # The updates the worker answered for in this completion.
    answered: set[str] = field(default_factory=set)

    @property
    def only_rejections(self) -> bool:
        return all(m.body.Is(Rejection.DESCRIPTOR) for m in self.messages.values())

    def apply(self, message_id: str) -> None:
        """Apply one message (where a PROTOCOL_MESSAGE command puts it, or after the commands)."""
        if message_id in self.processed:
            return
        self.processed.add(message_id)
        message = self.messages[message_id]
        ms, ctx = self.tx.ms, self.tx.ctx
        update_id = message.protocol_instance_id
        self.answered.add(update_id)
        pending = _registry(ctx).get(update_id)
        on_commit = self.tx.on_commit
        if message.body.Is(Acceptance.DESCRIPTOR):
            acceptance = Acceptance()
            message.body.Unpack(acceptance)
            event = ms.add_event(
                WorkflowExecutionUpdateAcceptedEventAttributes(
                    protocol_instance_id=update_id,
                    accepted_request_message_id=acceptance.accepted_request_message_id,
                    accepted_request_sequencing_event_id=acceptance.accepted_request_sequencing_event_id,
                    accepted_request=acceptance.accepted_request,
                )
            )
            ms.updates[update_id] = UpdateRecord(accepted_event_id=event.event_id)
            if pending is not None:
                on_commit.append(functools.partial(_settle, pending.accepted, None))
        elif message.body.Is(Response.DESCRIPTOR):
            response = Response()
            message.body.Unpack(response)
            record = ms.updates.get(update_id)
            accepted_id = record.accepted_event_id if record else 0
            event = ms.add_event(
                WorkflowExecutionUpdateCompletedEventAttributes(
                    meta=response.meta, accepted_event_id=accepted_id, outcome=response.outcome
                )
            )
            ms.updates[update_id] = UpdateRecord(accepted_event_id=accepted_id, completed_event_id=event.event_id)
            if pending is not None:
                on_commit.append(functools.partial(_complete, ctx, pending, response.outcome))
        elif message.body.Is(Rejection.DESCRIPTOR):
            rejection = Rejection()
            message.body.Unpack(rejection)
            if pending is not None:
                on_commit.append(functools.partial(_complete, ctx, pending, Outcome(failure=rejection.failure)))

    def apply_remaining(self, heartbeat: bool) -> None:
        """Messages no command placed (rejections, mostly) come after all commands, in order.

        Then, as on the reference, an update the worker was sent with this task but did not
        answer is rejected on its behalf (an SDK that does not know updates would otherwise be
        sent it again and again) — unless the run just closed, which ends it anyway, or the
        completion only heartbeats a task that is still running.
        """
        for message_id in self.messages:
            self.apply(message_id)
        if heartbeat or not self.tx.ms.is_open:
            return
        ctx = self.tx.ctx
        for pending in _registry(ctx).values():
            if pending.sent and not pending.accepted.done() and pending.update_id not in self.answered:
                logger.warning(
                    "workflow task completed without answering update %s: rejected",
                    pending.update_id,
                    extra={"workflow_id": ctx.ms.workflow_id, "run_id": ctx.ms.run_id},
                )
                self.tx.on_commit.append(functools.partial(_complete, ctx, pending, UNPROCESSED))


def abort_sent_updates(ctx: RunContext) -> None:
    """The server refuses the completion of the task the worker was completing: end the updates it had seen.

    As on the reference, an update the workflow saw is not retried (the failed task will be
    attempted again, and so would the update, endlessly); its caller is told the workflow was
    not ready. Updates the workflow never saw stay admitted and go out with the next attempt.
    """
    error = FailedPreconditionError(WORKFLOW_TASK_FAILED, details=WorkflowNotReadyFailure())
    for pending in list(_registry(ctx).values()):
        if pending.sent and not pending.accepted.done():
            _abort(ctx, pending, error)


def _settle(future: asyncio.Future[None], value: None) -> None:
    if not future.done():
        future.set_result(value)


def _complete(ctx: RunContext, pending: PendingUpdate, outcome: Outcome) -> None:
    _settle(pending.accepted, None)
    if not pending.completed.done():
        pending.completed.set_result(outcome)
    _registry(ctx).pop(pending.update_id, None)


def _abort(ctx: RunContext, pending: PendingUpdate, error: Exception) -> None:
    """End an update the workflow never accepted: its callers get ``error``."""
    for future in (pending.accepted, pending.completed):
        if not future.done():
            future.set_exception(error)
            future.exception()  # retrieved here; waiters re-raise it
    _registry(ctx).pop(pending.update_id, None)


def settle_on_close(engine: HistoryEngine, ctx: RunContext) -> None:
    """When the run closes, end every update still in flight, as the reference does.

    Runs after the closing change's own update outcomes were settled (see
    ``Transition.on_commit``), so only what the workflow left undone is left here: an
    accepted update fails with ``AcceptedUpdateCompletedWorkflow``; one never accepted is
    retried on the run that continues this one, or, if none does, refused as aborted.
    """
    del engine
    ms = ctx.ms
    if ms.is_open or not _registry(ctx):
        return
    for pending in list(_registry(ctx).values()):
        if pending.accepted.done():
            _complete(ctx, pending, RUN_CLOSED_FIRST)
        else:
            error = RetryUpdate(follow_chain=True) if ms.result_run_id else UpdateAbortedByCloseError()
            _abort(ctx, pending, error)


# -- waiting ---------------------------------------------------------------------------------


async def outcome_of(engine: HistoryEngine, ms: MutableState, record: UpdateRecord) -> Outcome | None:
    """The outcome of an update the workflow accepted (None while it is still running).

    An accepted update of a closed run that never completed has the failure the reference
    gives it: the run closed before the update did.
    """
    if not record.completed_event_id:
        return None if ms.is_open else RUN_CLOSED_FIRST
    events = await read_events(engine.persistence, ms.namespace_id, ms.run_id, record.completed_event_id)
    return events[0].workflow_execution_update_completed_event_attributes.outcome if events else None


async def wait(
    engine: HistoryEngine,
    ctx: RunContext,
    found: PendingUpdate | UpdateRecord,
    wanted: int,
    timeout: float,
) -> tuple[int, Outcome | None]:
    """Wait until the update reaches ``wanted`` (or time runs out); the stage reached and outcome."""
    if isinstance(found, UpdateRecord):
        # Accepted earlier (perhaps before a restart): its outcome, if any, is in history.
        return await _wait_for_record(engine, ctx, found.accepted_event_id, wanted, timeout)
    future = found.completed if wanted == Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED else found.accepted
    if wanted > Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(future), timeout)
    if found.completed.done():
        return Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED, found.completed.result()
    if found.accepted.done():
        found.accepted.result()  # raises if the update was aborted
        return Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED, None
    return Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED, None


async def _wait_for_record(
    engine: HistoryEngine, ctx: RunContext, accepted_event_id: int, wanted: int, timeout: float
) -> tuple[int, Outcome | None]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if ctx.evicted:  # a failed transition dropped the cached copy: follow the reloaded one
            ctx = await engine.resolve_key(*ctx.key)
        changed = engine.changed(ctx.key)
        record = next(r for r in ctx.ms.updates.values() if r.accepted_event_id == accepted_event_id)
        outcome = await outcome_of(engine, ctx.ms, record)
        if outcome is not None:
            return Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED, outcome
        remaining = deadline - loop.time()
        if remaining <= 0 or wanted <= Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED:
            return Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED, None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), remaining)


def on_evict(ctx: RunContext) -> None:
    """The run's cached state is dropped: its waiting updates are admitted again to the reloaded run."""
    for pending in list(_registry(ctx).values()):
        _abort(ctx, pending, RetryUpdate(follow_chain=False))


async def _retry_target(engine: HistoryEngine, ctx: RunContext, retry: RetryUpdate) -> RunContext:
    if retry.follow_chain:
        return await engine.resolve(ctx.ms.namespace_id, ctx.ms.workflow_id, "")
    return await engine.resolve_key(*ctx.key)


async def update_workflow(
    engine: HistoryEngine, ctx: RunContext, request: Request, wanted: int, timeout: float
) -> tuple[RunContext, int, Outcome | None]:
    """Admit an update and wait for the stage asked for; follows the chain to a new run."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found = await admit(engine, ctx, request)
        try:
            stage, outcome = await wait(engine, ctx, found, wanted, max(deadline - loop.time(), 0.0))
            return ctx, stage, outcome
        except RetryUpdate as retry:
            ctx = await _retry_target(engine, ctx, retry)


async def poll_update(
    engine: HistoryEngine, ctx: RunContext, update_id: str, wanted: int, timeout: float
) -> tuple[RunContext, int, Outcome | None]:
    """Wait for an update already sent to the run (PollWorkflowExecutionUpdate)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found = find(ctx, update_id)
        try:
            stage, outcome = await wait(engine, ctx, found, wanted, max(deadline - loop.time(), 0.0))
            return ctx, stage, outcome
        except RetryUpdate as retry:
            # Its caller's retry may not have arrived yet: the update is not found until it does.
            ctx = await _retry_target(engine, ctx, retry)


def update_ref(ctx: RunContext, update_id: str) -> UpdateRef:
    return UpdateRef(
        workflow_execution=WorkflowExecution(workflow_id=ctx.ms.workflow_id, run_id=ctx.ms.run_id),
        update_id=update_id,
    )


def known(ctx: RunContext, update_id: str) -> bool:
    """Whether the run has this update (in flight or recorded)."""
    return update_id in _registry(ctx) or update_id in ctx.ms.updates


def find(ctx: RunContext, update_id: str) -> PendingUpdate | UpdateRecord:
    """An update known to the run (in flight or recorded); NotFoundError otherwise."""
    found = _registry(ctx).get(update_id) or ctx.ms.updates.get(update_id)
    if found is None:
        raise NotFoundError(f'update "{update_id}" not found')
    return found
