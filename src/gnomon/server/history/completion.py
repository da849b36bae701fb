"""RespondWorkflowTaskCompleted / RespondWorkflowTaskFailed: the end of a workflow task."""

from __future__ import annotations

import logging

from temporalio.api.enums.v1 import TaskQueueKind, WorkflowTaskFailedCause
from temporalio.api.failure.v1 import Failure, ServerFailureInfo
from temporalio.api.history.v1 import WorkflowTaskCompletedEventAttributes
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueResponse,
    RespondWorkflowTaskCompletedRequest,
    RespondWorkflowTaskCompletedResponse,
    RespondWorkflowTaskFailedRequest,
)

from gnomon.server.errors import InvalidArgumentError, NotFoundError
from gnomon.server.history import versioning
from gnomon.server.history.commands import (
    CLOSE_COMMANDS,
    CommandContext,
    CommandError,
    apply_commands,
    validate_commands,
)
from gnomon.server.history.engine import HistoryEngine, RunContext, Transition
from gnomon.server.history.mutable_state import MutableState, WorkflowTaskInfo
from gnomon.server.history.tokens import TaskToken
from gnomon.server.history.update_registry import has_undelivered
from gnomon.server.history.updates import MessageProcessor, abort_sent_updates
from gnomon.server.history.workflow_task import (
    fail_workflow_task_in_place,
    record_started,
    schedule_workflow_task,
    write_transient_events,
)
from gnomon.server.matching import TaskRef
from gnomon.server.protoutil import copy_fields, seconds, timestamp

logger = logging.getLogger(__name__)

TASK_NOT_FOUND = "Workflow task not found."
UNHANDLED_COMMAND = "UnhandledCommand"


def server_failure(message: str) -> Failure:
    """The failure the server records when it fails a workflow task itself (as the reference: no source)."""
    return Failure(message=message, server_failure_info=ServerFailureInfo())


def _current_task(ms: MutableState, token: TaskToken) -> WorkflowTaskInfo:
    """The in-flight workflow task the token names; NotFoundError if it is stale."""
    wft = ms.workflow_task
    if (
        not ms.is_open
        or wft is None
        or not wft.started
        or wft.scheduled_event_id != token.scheduled_event_id
        or wft.attempt != token.attempt
        or wft.started_event_id != token.started_event_id
        or wft.request_id != token.start_id
    ):
        raise NotFoundError(TASK_NOT_FOUND)
    return wft


async def _token_run(engine: HistoryEngine, token: TaskToken) -> RunContext:
    ctx = await engine.context_or_none(token.namespace_id, token.run_id)
    if ctx is None or ctx.ms.workflow_id != token.workflow_id:
        raise NotFoundError(TASK_NOT_FOUND)
    return ctx


async def complete_workflow_task(
    engine: HistoryEngine, token: TaskToken, request: RespondWorkflowTaskCompletedRequest
) -> RespondWorkflowTaskCompletedResponse:
    ctx = await _token_run(engine, token)
    response = RespondWorkflowTaskCompletedResponse()
    async with engine.transition(ctx) as tx:
        processor = MessageProcessor(tx, {m.id: m for m in request.messages})
        outcome = _apply_completion(engine, tx, token, request, processor, response)
    if isinstance(outcome, str):
        # The task was failed (and that is committed); the worker is told why, as on Temporal.
        raise InvalidArgumentError(outcome)
    return_new_task = outcome
    if return_new_task:
        started = await _start_returned_task(engine, ctx, request)
        if started is not None:
            response.workflow_task.CopyFrom(started)
    return response


def _apply_completion(
    engine: HistoryEngine,
    tx: Transition,
    token: TaskToken,
    request: RespondWorkflowTaskCompletedRequest,
    processor: MessageProcessor,
    response: RespondWorkflowTaskCompletedResponse,
) -> bool | str:
    """Apply the worker's commands and messages.

    Returns whether to hand a new task straight back, or, if the completion was refused and
    the task failed instead, the message to give the worker.
    """
    ms = tx.ms
    wft = _current_task(ms, token)
    commands = list(request.commands)
    if wft.speculative and not commands and processor.only_rejections and not request.force_create_new_workflow_task:
        _discard_speculative_task(engine, tx, processor, request, response)
        return False
    if ms.buffered_events and any(c.command_type in CLOSE_COMMANDS for c in commands):
        # New events arrived while the worker decided to close: it must see them first.
        cause = WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND
        abort_sent_updates(tx.ctx)
        fail_workflow_task_in_place(engine, tx, cause, server_failure(UNHANDLED_COMMAND), request.identity)
        return UNHANDLED_COMMAND
    cc = CommandContext(engine=engine, tx=tx, completed_event_id=0, identity=request.identity, messages=processor)
    try:
        validate_commands(cc, commands)
    except CommandError as error:
        logger.info(
            "workflow task failed: %s", error.message, extra={"workflow_id": ms.workflow_id, "run_id": ms.run_id}
        )
        abort_sent_updates(tx.ctx)
        if wft.attempt > 1:
            # As on the reference: a retry refused again is not failed once more (the worker would
            # loop as fast as it can); the task is left to time out, and is retried after that.
            raise InvalidArgumentError(error.message) from None
        fail_workflow_task_in_place(engine, tx, error.cause, server_failure(error.message), request.identity)
        return error.message
    if wft.transient:
        # Its started event is written only now: the reference stamps it with the completing worker's build.
        wft.worker_version = versioning.completion_stamp(request)
    write_transient_events(ms)
    attrs = WorkflowTaskCompletedEventAttributes(
        scheduled_event_id=wft.scheduled_event_id, started_event_id=wft.started_event_id, identity=request.identity
    )
    copy_fields(attrs, request, "sdk_metadata", "metering_metadata")
    versioning.record_completion(attrs, request)
    completed = ms.add_event(attrs)
    ms.most_recent_worker_version_stamp = attrs.worker_version if attrs.HasField("worker_version") else None
    ms.worker_deployment_name = attrs.worker_deployment_name
    ms.workflow_task = None
    ms.last_completed_started_event_id = wft.started_event_id
    _record_reset_point(engine, ms, request, completed.event_id)
    cc.completed_event_id = completed.event_id
    apply_commands(cc, commands)
    processor.apply_remaining(heartbeat=request.force_create_new_workflow_task)
    _update_sticky(ms, request)
    if not ms.is_open:
        return False
    flushed = ms.flush_buffered_events()
    if flushed or cc.new_workflow_task or request.force_create_new_workflow_task:
        schedule_workflow_task(engine, ms)
    elif has_undelivered(tx.ctx):
        # Updates that arrived while this task ran go out in a task of their own.
        schedule_workflow_task(engine, ms, speculative=True)
    return request.return_new_workflow_task and ms.workflow_task is not None


def _discard_speculative_task(
    engine: HistoryEngine,
    tx: Transition,
    processor: MessageProcessor,
    request: RespondWorkflowTaskCompletedRequest,
    response: RespondWorkflowTaskCompletedResponse,
) -> None:
    """The worker only rejected updates: the speculative task leaves no trace in history."""
    ms = tx.ms
    processor.apply_remaining(heartbeat=False)
    ms.workflow_task = None
    _update_sticky(ms, request)
    # The worker rolls its view back to the last task that really completed.
    response.reset_history_event_id = ms.last_completed_started_event_id
    if ms.flush_buffered_events():
        schedule_workflow_task(engine, ms)
    elif has_undelivered(tx.ctx):
        schedule_workflow_task(engine, ms, speculative=True)
    tx.dirty = True


async def _start_returned_task(
    engine: HistoryEngine, ctx: RunContext, request: RespondWorkflowTaskCompletedRequest
) -> PollWorkflowTaskQueueResponse | None:
    """Hand the newly scheduled task straight back to the completing worker."""
    wft = ctx.ms.workflow_task
    if wft is None or wft.started:
        return None
    ms = ctx.ms
    task = TaskRef(ms.namespace_id, ms.workflow_id, ms.run_id, wft.scheduled_event_id, wft.attempt)
    kind = TaskQueueKind.TASK_QUEUE_KIND_STICKY if wft.sticky else TaskQueueKind.TASK_QUEUE_KIND_NORMAL
    queue = TaskQueue(name=wft.task_queue, kind=kind)
    heartbeat = request.force_create_new_workflow_task
    stamp = versioning.completion_stamp(request)
    return await record_started(engine, task, request.identity, queue, stamp, resend_updates=not heartbeat)


MAX_RESET_POINTS = 20


def _record_reset_point(
    engine: HistoryEngine, ms: MutableState, request: RespondWorkflowTaskCompletedRequest, completed_event_id: int
) -> None:
    """Remember the first task each worker build completes in this run (a reset point)."""
    # The reference records the worker's build id there, or its binary checksum.
    build_id = request.deployment_options.build_id or request.worker_version_stamp.build_id or request.binary_checksum
    if not build_id:
        return
    for value in ("unversioned", f"unversioned:{build_id}"):
        if value not in ms.build_ids:
            ms.build_ids.append(value)
            ms.visibility_changed = True
    points = ms.auto_reset_points.points
    if any(p.build_id == build_id for p in points):
        return
    now = engine.now()
    retention = engine.namespaces.get_by_id(ms.namespace_id).config.workflow_execution_retention_ttl
    point = points.add(
        run_id=ms.run_id,
        first_workflow_task_completed_id=completed_event_id,
        resettable=True,
        build_id=build_id,
    )
    point.create_time.CopyFrom(timestamp(now))
    point.expire_time.CopyFrom(timestamp(now + seconds(retention)))
    del points[:-MAX_RESET_POINTS]


def _update_sticky(ms: MutableState, request: RespondWorkflowTaskCompletedRequest) -> None:
    sticky = request.sticky_attributes
    if sticky.worker_task_queue.name:
        ms.sticky_task_queue = sticky.worker_task_queue.name
        ms.sticky_timeout = seconds(sticky.schedule_to_start_timeout)
    else:
        ms.sticky_task_queue = ""
        ms.sticky_timeout = 0.0


async def fail_workflow_task(
    engine: HistoryEngine, token: TaskToken, request: RespondWorkflowTaskFailedRequest
) -> None:
    ctx = await _token_run(engine, token)
    async with engine.transition(ctx) as tx:
        _current_task(tx.ms, token)
        logger.info(
            "worker failed workflow task: %s",
            request.failure.message,
            extra={"workflow_id": tx.ms.workflow_id, "run_id": tx.ms.run_id},
        )
        fail_workflow_task_in_place(engine, tx, request.cause, request.failure, request.identity)
