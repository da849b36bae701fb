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
from collections.abc import Callable
from dataclasses import dataclass, field

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import UpdateWorkflowExecutionLifecycleStage as Stage
from temporalio.api.failure.v1 import ApplicationFailureInfo, Failure
from temporalio.api.history.v1 import (
    WorkflowExecutionUpdateAcceptedEventAttributes,
    WorkflowExecutionUpdateCompletedEventAttributes,
)
from temporalio.api.protocol.v1 import Message
from temporalio.api.update.v1 import Acceptance, Outcome, Rejection, Request, Response, UpdateRef

from gnomon.server.errors import InvalidArgumentError, NotFoundError
from gnomon.server.history.engine import HistoryEngine, RunContext
from gnomon.server.history.events import read_events
from gnomon.server.history.mutable_state import MutableState, UpdateRecord
from gnomon.server.history.update_registry import PendingUpdate
from gnomon.server.history.update_registry import registry as _registry
from gnomon.server.history.workflow_task import schedule_workflow_task

logger = logging.getLogger(__name__)

COMPLETED_BEFORE_UPDATE = "Workflow Update failed because the Workflow completed before the Update completed."


class RetryOnNewRun(Exception):
    """The run closed into a successor before accepting the update: try the new run."""


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
    """Applies the protocol messages of one workflow task completion."""

    ctx: RunContext
    messages: dict[str, Message]
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    processed: set[str] = field(default_factory=set)

    @property
    def only_rejections(self) -> bool:
        return all(m.body.Is(Rejection.DESCRIPTOR) for m in self.messages.values())

    def apply(self, ms: MutableState, message_id: str) -> None:
        """Apply one message (where a PROTOCOL_MESSAGE command puts it, or after the commands)."""
        if message_id in self.processed:
            return
        self.processed.add(message_id)
        message = self.messages[message_id]
        update_id = message.protocol_instance_id
        pending = _registry(self.ctx).get(update_id)
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
                self.after_commit.append(functools.partial(_settle, pending.accepted, None))
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
                self.after_commit.append(functools.partial(_complete, self.ctx, pending, response.outcome))
        elif message.body.Is(Rejection.DESCRIPTOR):
            rejection = Rejection()
            message.body.Unpack(rejection)
            if pending is not None:
                outcome = Outcome(failure=rejection.failure)
                self.after_commit.append(functools.partial(_complete, self.ctx, pending, outcome))

    def apply_remaining(self, ms: MutableState) -> None:
        """Messages no command placed (rejections, mostly) come after all commands, in order."""
        for message_id in self.messages:
            self.apply(ms, message_id)


def _settle(future: asyncio.Future[None], value: None) -> None:
    if not future.done():
        future.set_result(value)


def _complete(ctx: RunContext, pending: PendingUpdate, outcome: Outcome) -> None:
    _settle(pending.accepted, None)
    if not pending.completed.done():
        pending.completed.set_result(outcome)
    _registry(ctx).pop(pending.update_id, None)


def reconcile(engine: HistoryEngine, ctx: RunContext) -> None:
    """When the run closes, end every update still in flight, as the reference does."""
    del engine
    ms = ctx.ms
    if ms.is_open or not _registry(ctx):
        return
    for pending in list(_registry(ctx).values()):
        if pending.accepted.done():
            failure = Failure(message=COMPLETED_BEFORE_UPDATE, application_failure_info=ApplicationFailureInfo())
            _complete(ctx, pending, Outcome(failure=failure))
        else:
            error: Exception = (
                RetryOnNewRun() if ms.result_run_id else NotFoundError("workflow execution already completed")
            )
            for future in (pending.accepted, pending.completed):
                if not future.done():
                    future.set_exception(error)
                    future.exception()  # retrieved here; waiters re-raise it
    _registry(ctx).clear()


# -- waiting ---------------------------------------------------------------------------------


async def outcome_of(engine: HistoryEngine, ms: MutableState, record: UpdateRecord) -> Outcome | None:
    """The outcome recorded in history for a completed update (None if not completed)."""
    if not record.completed_event_id:
        return None
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
        outcome = await outcome_of(engine, ctx.ms, found)
        if outcome is not None or wanted <= Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED:
            stage = (
                Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED
                if outcome
                else Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED
            )
            return stage, outcome
        # Accepted earlier (perhaps before a restart) but not completed: watch history.
        return await _wait_for_record(engine, ctx, found.accepted_event_id, timeout)
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
    engine: HistoryEngine, ctx: RunContext, accepted_event_id: int, timeout: float
) -> tuple[int, Outcome | None]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        for record in ctx.ms.updates.values():
            if record.accepted_event_id == accepted_event_id and record.completed_event_id:
                return Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED, await outcome_of(
                    engine, ctx.ms, record
                )
        remaining = deadline - loop.time()
        if remaining <= 0 or not ctx.ms.is_open:
            return Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED, None
        try:
            async with asyncio.timeout(remaining):
                await engine.changed(ctx.key).wait()
        except TimeoutError:
            pass


async def update_workflow(
    engine: HistoryEngine, ctx: RunContext, request: Request, wanted: int, timeout: float
) -> tuple[RunContext, int, Outcome | None]:
    """Admit an update and wait for the stage asked for; follows the chain to a new run."""
    while True:
        found = await admit(engine, ctx, request)
        try:
            stage, outcome = await wait(engine, ctx, found, wanted, timeout)
            return ctx, stage, outcome
        except RetryOnNewRun:
            # The run closed into a successor before seeing the update: it goes there.
            ctx = await engine.resolve(ctx.ms.namespace_id, ctx.ms.workflow_id, "")


def update_ref(ctx: RunContext, update_id: str) -> UpdateRef:
    return UpdateRef(
        workflow_execution=WorkflowExecution(workflow_id=ctx.ms.workflow_id, run_id=ctx.ms.run_id),
        update_id=update_id,
    )


def find(ctx: RunContext, update_id: str) -> PendingUpdate | UpdateRecord:
    """An update known to the run (in flight or recorded); NotFoundError otherwise."""
    found = _registry(ctx).get(update_id) or ctx.ms.updates.get(update_id)
    if found is None:
        raise NotFoundError(f"update {update_id} not found")
    return found
