"""Workflow tasks: scheduling, handing one to a poller, and its failure or timeout.

Completion (which applies the worker's commands) lives in :mod:`.completion`.
Attempts after the first are *transient*: their scheduled and started events are not
written to history (a worker stuck failing would otherwise fill it); they are shown to
the worker at the end of the history it receives and written only if that attempt
completes, as Temporal does.
"""

from __future__ import annotations

import logging

from temporalio.api.common.v1 import WorkerVersionStamp, WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import (
    SuggestContinueAsNewReason,
    TaskQueueKind,
    TimeoutType,
    WorkflowTaskFailedCause,
)
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import (
    HistoryEvent,
    WorkflowTaskFailedEventAttributes,
    WorkflowTaskScheduledEventAttributes,
    WorkflowTaskStartedEventAttributes,
    WorkflowTaskTimedOutEventAttributes,
)
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import PollWorkflowTaskQueueResponse

from gnomon.server.dynamic_config import HISTORY_COUNT_SUGGEST_CONTINUE_AS_NEW, HISTORY_SIZE_SUGGEST_CONTINUE_AS_NEW
from gnomon.server.history.engine import HistoryEngine, RunContext, Transition
from gnomon.server.history.mutable_state import MutableState, WorkflowTaskInfo, attributes_field_of_type
from gnomon.server.history.tokens import TaskToken
from gnomon.server.history.update_registry import messages_for_task
from gnomon.server.history.wants import Wants
from gnomon.server.ids import new_id
from gnomon.server.matching import TaskRef, TaskType
from gnomon.server.protoutil import duration, seconds, timestamp
from gnomon.server.timers import Deadline

logger = logging.getLogger(__name__)

DEFAULT_WORKFLOW_TASK_TIMEOUT = 10.0


def schedule_workflow_task(
    engine: HistoryEngine, ms: MutableState, attempt: int = 1, *, speculative: bool = False
) -> WorkflowTaskInfo | None:
    """Schedule the run's next workflow task unless one is pending or the run must wait."""
    if not ms.is_open or ms.workflow_task is not None or ms.first_task_backoff_until:
        return None
    sticky = bool(ms.sticky_task_queue) and engine.matching.sticky_worker_alive(ms.namespace_id, ms.sticky_task_queue)
    if not sticky:
        ms.sticky_task_queue = ""
    timeout = seconds(ms.started.workflow_task_timeout) or DEFAULT_WORKFLOW_TASK_TIMEOUT
    now = engine.now()
    wft = WorkflowTaskInfo(
        scheduled_event_id=ms.next_event_id,
        attempt=attempt,
        task_queue=ms.sticky_task_queue if sticky else ms.task_queue,
        sticky=sticky,
        timeout=timeout,
        scheduled_time=now,
        sticky_timeout=ms.sticky_timeout if sticky else 0.0,
        speculative=speculative and attempt == 1,
    )
    ms.workflow_task = wft
    if not wft.transient:
        event = ms.add_event(
            WorkflowTaskScheduledEventAttributes(
                task_queue=_task_queue_of(ms, wft),
                start_to_close_timeout=duration(timeout),
                attempt=attempt,
            ),
            now=now,
        )
        wft.scheduled_event_id = event.event_id
    return wft


def _task_queue_of(ms: MutableState, wft: WorkflowTaskInfo) -> TaskQueue:
    if wft.sticky:
        return TaskQueue(name=wft.task_queue, kind=TaskQueueKind.TASK_QUEUE_KIND_STICKY, normal_name=ms.task_queue)
    return TaskQueue(name=ms.task_queue, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL)


def transient_events(ms: MutableState) -> list[HistoryEvent]:
    """The not-yet-written scheduled/started events of a transient workflow task."""
    wft = ms.workflow_task
    if wft is None or not wft.transient:
        return []
    scheduled = ms.new_event(
        WorkflowTaskScheduledEventAttributes(
            task_queue=_task_queue_of(ms, wft),
            start_to_close_timeout=duration(wft.timeout),
            attempt=wft.attempt,
        ),
        now=wft.scheduled_time,
    )
    scheduled.event_id = wft.scheduled_event_id
    events = [scheduled]
    if wft.started:
        started = ms.new_event(_started_attributes(wft), now=wft.started_time)
        started.event_id = wft.started_event_id
        events.append(started)
    return events


def write_transient_events(ms: MutableState) -> None:
    """Make a transient attempt's events real (the attempt is completing)."""
    wft = ms.workflow_task
    if wft is None or not wft.transient:
        return
    for event in transient_events(ms):
        attributes = getattr(event, attributes_field_of_type(event.event_type))
        ms.add_event(attributes, now=event.event_time.ToNanoseconds() / 1e9)
    wft.speculative = False


# -- reconciliation and deadlines ------------------------------------------------------------


def derive(engine: HistoryEngine, ms: MutableState, wants: Wants) -> None:
    """A scheduled workflow task waits in its queue; its timeouts (and a start delay) are armed."""
    del engine
    if not ms.is_open:
        return
    if ms.first_task_backoff_until:
        wants.deadline(Deadline(ms.first_task_backoff_until, ms.namespace_id, ms.run_id, "workflow_backoff", ""))
    wft = ms.workflow_task
    if wft is None:
        return
    ref = f"{wft.scheduled_event_id}:{wft.attempt}"
    if wft.started:
        when = wft.started_time + wft.timeout
        wants.deadline(Deadline(when, ms.namespace_id, ms.run_id, "workflow_task_start_to_close", ref))
        return
    task = TaskRef(ms.namespace_id, ms.workflow_id, ms.run_id, wft.scheduled_event_id, wft.attempt)
    wants.task(wft.task_queue, TaskType.WORKFLOW, task)
    if wft.sticky and wft.sticky_timeout:
        when = wft.scheduled_time + wft.sticky_timeout
        wants.deadline(Deadline(when, ms.namespace_id, ms.run_id, "workflow_task_schedule_to_start", ref))


def _matches(wft: WorkflowTaskInfo | None, ref: str) -> bool:
    return wft is not None and f"{wft.scheduled_event_id}:{wft.attempt}" == ref


async def on_start_to_close_timeout(engine: HistoryEngine, deadline: Deadline) -> None:
    ctx = await engine.resolve_key(deadline.namespace_id, deadline.run_id)
    async with engine.transition(ctx) as tx:
        wft = tx.ms.workflow_task
        if not tx.ms.is_open or not _matches(wft, deadline.ref) or wft is None or not wft.started:
            return
        if wft.started_time + wft.timeout > engine.now() + 0.002:
            return  # the deadline of an earlier start of this attempt (handed out again after a restart)
        logger.info("workflow task timed out", extra={"workflow_id": tx.ms.workflow_id, "run_id": tx.ms.run_id})
        if wft.speculative:
            write_transient_events(tx.ms)
        if wft.attempt == 1:
            tx.ms.add_event(
                WorkflowTaskTimedOutEventAttributes(
                    scheduled_event_id=wft.scheduled_event_id,
                    started_event_id=wft.started_event_id,
                    timeout_type=TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE,
                )
            )
        retry_workflow_task(engine, tx, wft)


async def on_schedule_to_start_timeout(engine: HistoryEngine, deadline: Deadline) -> None:
    """A sticky worker did not pick its task up: time it out and use the normal queue."""
    ctx = await engine.resolve_key(deadline.namespace_id, deadline.run_id)
    async with engine.transition(ctx) as tx:
        ms = tx.ms
        wft = ms.workflow_task
        if not ms.is_open or not _matches(wft, deadline.ref) or wft is None or wft.started or not wft.sticky:
            return
        if not wft.transient:
            ms.add_event(
                WorkflowTaskTimedOutEventAttributes(
                    scheduled_event_id=wft.scheduled_event_id,
                    timeout_type=TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START,
                )
            )
        ms.workflow_task = None
        ms.sticky_task_queue = ""
        ms.flush_buffered_events()
        schedule_workflow_task(engine, ms, attempt=wft.attempt)


def retry_workflow_task(engine: HistoryEngine, tx: Transition, failed: WorkflowTaskInfo) -> None:
    """After a failed or timed-out attempt: the next one goes to the normal queue.

    If events arrived meanwhile they are written now, and the next attempt starts again
    at 1 so that its events can be written normally after them.
    """
    ms = tx.ms
    ms.workflow_task = None
    ms.sticky_task_queue = ""
    flushed = ms.flush_buffered_events()
    schedule_workflow_task(engine, ms, attempt=1 if flushed else failed.attempt + 1)


def fail_workflow_task_in_place(
    engine: HistoryEngine, tx: Transition, cause: int, failure: Failure | None, identity: str
) -> None:
    """Record a failure of the in-flight workflow task and schedule the next attempt."""
    ms = tx.ms
    wft = ms.workflow_task
    assert wft is not None
    if wft.speculative:
        write_transient_events(ms)  # a failure must be visible: the task becomes real
    if wft.attempt == 1:
        ms.add_event(
            WorkflowTaskFailedEventAttributes(
                scheduled_event_id=wft.scheduled_event_id,
                started_event_id=wft.started_event_id,
                cause=cause,  # type: ignore[arg-type]
                failure=failure,
                identity=identity,
            )
        )
    if cause == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND:
        # Not the worker's fault: new events raced its completion. No retry backoff.
        ms.workflow_task = None
        ms.flush_buffered_events()
        schedule_workflow_task(engine, ms, attempt=1)
        return
    retry_workflow_task(engine, tx, wft)


async def clear_sticky(engine: HistoryEngine, ctx: RunContext) -> None:
    """Stop using the run's sticky queue; a task waiting there moves to the normal queue."""
    async with engine.transition(ctx) as tx:
        ms = tx.ms
        if not ms.sticky_task_queue:
            return
        ms.sticky_task_queue = ""
        ms.sticky_timeout = 0.0
        wft = ms.workflow_task
        if wft is not None and not wft.started and wft.sticky:
            wft.sticky = False
            wft.task_queue = ms.task_queue
            wft.sticky_timeout = 0.0
        tx.dirty = True


async def on_workflow_backoff(engine: HistoryEngine, deadline: Deadline) -> None:
    """A start delay (or retry/cron backoff) is over: schedule the first workflow task."""
    ctx = await engine.resolve_key(deadline.namespace_id, deadline.run_id)
    async with engine.transition(ctx) as tx:
        ms = tx.ms
        if not ms.is_open or not ms.first_task_backoff_until or ms.first_task_backoff_until > deadline.when:
            return
        ms.first_task_backoff_until = 0.0
        schedule_workflow_task(engine, ms)


# -- handing a task to a poller --------------------------------------------------------------


async def record_started(
    engine: HistoryEngine,
    task: TaskRef,
    identity: str,
    polled_queue: TaskQueue,
    worker_version: WorkerVersionStamp | None = None,
    *,
    resend_updates: bool = True,
) -> PollWorkflowTaskQueueResponse | None:
    """Mark the task started for this poller (of build ``worker_version``); None if the task is stale.

    The task carries every update not yet accepted, including those sent with a task that
    failed, timed out or was lost; a task that follows a heartbeat (``resend_updates``
    false) carries only those the worker has not seen, as on the reference.
    """
    ctx = await engine.context_or_none(task.namespace_id, task.run_id)
    if ctx is None:
        return None
    async with engine.transition(ctx, durable=False) as tx:
        ms = tx.ms
        wft = ms.workflow_task
        if (
            not ms.is_open
            or wft is None
            or wft.started
            or wft.scheduled_event_id != task.scheduled_event_id
            or wft.attempt != task.attempt
        ):
            return None
        mark_started(engine, ms, wft, identity, worker_version)
        tx.dirty = True
        sticky_poll = polled_queue.kind == TaskQueueKind.TASK_QUEUE_KIND_STICKY
        # Built under the lock: the started event is pending until the next commit.
        response = await build_poll_response(engine, ctx, sticky_poll)
        response.messages.extend(messages_for_task(ctx, wft.started_event_id, include_sent=resend_updates))
    return response


def mark_started(
    engine: HistoryEngine,
    ms: MutableState,
    wft: WorkflowTaskInfo,
    identity: str,
    worker_version: WorkerVersionStamp | None = None,
) -> None:
    """Record that a worker took the scheduled workflow task (its started event, unless transient)."""
    now = engine.now()
    wft.started_time = now
    wft.identity = identity
    wft.worker_version = worker_version
    wft.request_id = new_id()
    wft.history_size_bytes = ms.history_size_bytes
    wft.suggest_continue_as_new_reasons = continue_as_new_reasons(engine, ms)
    if wft.transient:
        wft.started_event_id = wft.scheduled_event_id + 1
        return
    event = ms.add_event(_started_attributes(wft), now=now)
    wft.started_event_id = event.event_id


def continue_as_new_reasons(engine: HistoryEngine, ms: MutableState) -> list[int]:
    """Why a workflow task starting now should suggest continue-as-new (empty: it should not).

    As on the reference, the count is the next event id (the started event's own id, or the
    scheduled event's of a transient attempt) and the limits are dynamic config.
    """
    reasons: list[int] = []
    if ms.history_size_bytes >= engine.config.get(HISTORY_SIZE_SUGGEST_CONTINUE_AS_NEW):
        reasons.append(SuggestContinueAsNewReason.SUGGEST_CONTINUE_AS_NEW_REASON_HISTORY_SIZE_TOO_LARGE)
    if ms.next_event_id >= engine.config.get(HISTORY_COUNT_SUGGEST_CONTINUE_AS_NEW):
        reasons.append(SuggestContinueAsNewReason.SUGGEST_CONTINUE_AS_NEW_REASON_TOO_MANY_HISTORY_EVENTS)
    return reasons


def _started_attributes(wft: WorkflowTaskInfo) -> WorkflowTaskStartedEventAttributes:
    attrs = WorkflowTaskStartedEventAttributes(
        scheduled_event_id=wft.scheduled_event_id,
        identity=wft.identity,
        request_id=wft.request_id,
        history_size_bytes=wft.history_size_bytes,
        suggest_continue_as_new=bool(wft.suggest_continue_as_new_reasons),
        suggest_continue_as_new_reasons=[
            SuggestContinueAsNewReason.ValueType(r) for r in wft.suggest_continue_as_new_reasons
        ],
    )
    if wft.worker_version is not None:
        attrs.worker_version.CopyFrom(wft.worker_version)
    return attrs


async def build_poll_response(
    engine: HistoryEngine, ctx: RunContext, sticky_poll: bool, query_id: str = ""
) -> PollWorkflowTaskQueueResponse:
    """The response a worker gets for the run's started workflow task (or a query task)."""
    ms = ctx.ms
    wft = ms.workflow_task
    # A sticky worker has the run cached up to its last completed task: send only what is new.
    first = ms.last_completed_started_event_id + 1 if sticky_poll and ms.last_completed_started_event_id else 1
    # The started event may still be pending: marking a task started is deferred.
    events = await engine.read_events(ctx, first) + ms.pending_events
    response = PollWorkflowTaskQueueResponse(
        workflow_execution=WorkflowExecution(workflow_id=ms.workflow_id, run_id=ms.run_id),
        workflow_type=WorkflowType(name=ms.workflow_type),
        previous_started_event_id=ms.last_completed_started_event_id,
        workflow_execution_task_queue=TaskQueue(name=ms.task_queue, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
    )
    if query_id:
        token = TaskToken(ms.namespace_id, ms.workflow_id, ms.run_id, query_id=query_id)
        response.task_token = token.encode()
        response.history.events.extend(events)
        return response
    assert wft is not None
    events = [e for e in events if e.event_id <= wft.started_event_id]
    events += transient_events(ms)
    response.history.events.extend(events)
    token = TaskToken(
        ms.namespace_id,
        ms.workflow_id,
        ms.run_id,
        scheduled_event_id=wft.scheduled_event_id,
        attempt=wft.attempt,
        started_event_id=wft.started_event_id,
        start_id=wft.request_id,
    )
    response.task_token = token.encode()
    response.started_event_id = wft.started_event_id
    response.attempt = wft.attempt
    response.scheduled_time.CopyFrom(timestamp(wft.scheduled_time))
    response.started_time.CopyFrom(timestamp(wft.started_time))
    return response
