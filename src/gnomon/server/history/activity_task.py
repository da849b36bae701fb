"""Activity tasks: handing one to a poller, heartbeats, results, retries and timeouts.

An activity's attempts are not written to history one by one: its started event is
written together with its final outcome (completed, failed, canceled or timed out),
carrying the attempt number and the last failure, as Temporal does.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from google.protobuf.message import Message
from temporalio.api.common.v1 import ActivityType, Payloads, WorkerVersionStamp, WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import RetryState, TimeoutType
from temporalio.api.failure.v1 import Failure, TimeoutFailureInfo
from temporalio.api.history.v1 import (
    ActivityTaskCanceledEventAttributes,
    ActivityTaskCompletedEventAttributes,
    ActivityTaskFailedEventAttributes,
    ActivityTaskStartedEventAttributes,
    ActivityTaskTimedOutEventAttributes,
)
from temporalio.api.workflowservice.v1 import PollActivityTaskQueueResponse

from gnomon.server.errors import NotFoundError
from gnomon.server.history import retry
from gnomon.server.history.engine import HistoryEngine, RunContext, Transition
from gnomon.server.history.mutable_state import ActivityInfo, MutableState
from gnomon.server.history.tokens import TaskToken
from gnomon.server.history.wants import Wants
from gnomon.server.history.workflow_task import schedule_workflow_task
from gnomon.server.ids import new_id
from gnomon.server.matching import TaskRef, TaskType
from gnomon.server.protoutil import timestamp
from gnomon.server.timers import Deadline

logger = logging.getLogger(__name__)

DeadlineHandler = Callable[[HistoryEngine, Deadline], Awaitable[None]]

ACTIVITY_NOT_FOUND = "Activity task not found."


# -- reconciliation and deadlines ------------------------------------------------------------


def derive(engine: HistoryEngine, ms: MutableState, wants: Wants) -> None:
    """Activities due wait in their queues; their timeouts (and retry backoffs) are armed."""
    if not ms.is_open:
        return
    now = engine.now()
    for info in ms.activities.values():
        ref = f"{info.scheduled_event_id}:{info.attempt}"

        def arm(kind: str, when: float, ref: str = ref) -> None:
            wants.deadline(Deadline(when, ms.namespace_id, ms.run_id, kind, ref))

        if info.schedule_to_close:
            arm(
                "activity_schedule_to_close",
                info.first_scheduled_time + info.schedule_to_close,
                str(info.scheduled_event_id),
            )
        if info.started:
            if info.start_to_close:
                arm("activity_start_to_close", info.started_time + info.start_to_close)
            if info.heartbeat_timeout:
                arm("activity_heartbeat", max(info.last_heartbeat_time, info.started_time) + info.heartbeat_timeout)
            continue
        if info.scheduled_time > now:
            arm("activity_retry", info.scheduled_time)  # backoff before the next attempt
            continue
        if info.schedule_to_start:
            arm("activity_schedule_to_start", info.scheduled_time + info.schedule_to_start)
        task = TaskRef(ms.namespace_id, ms.workflow_id, ms.run_id, info.scheduled_event_id, info.attempt)
        wants.task(info.task_queue, TaskType.ACTIVITY, task)


def _activity_for(ms: MutableState, ref: str) -> ActivityInfo | None:
    scheduled, _, attempt = ref.partition(":")
    info = ms.activities.get(int(scheduled))
    if info is None or (attempt and info.attempt != int(attempt)):
        return None
    return info


async def on_retry_due(engine: HistoryEngine, deadline: Deadline) -> None:
    """A retry backoff is over: reconciling the run dispatches the next attempt."""
    ctx = await engine.resolve_key(deadline.namespace_id, deadline.run_id)
    async with engine.transition(ctx):
        pass


def _timeout_handler(timeout_type: int, needs_started: bool | None) -> DeadlineHandler:
    """A deadline handler timing out the attempt named by the deadline (if still current)."""

    async def handle(engine: HistoryEngine, deadline: Deadline) -> None:
        ctx = await engine.resolve_key(deadline.namespace_id, deadline.run_id)
        async with engine.transition(ctx) as tx:
            info = _activity_for(tx.ms, deadline.ref)
            if info is None or (needs_started is not None and info.started != needs_started):
                return
            if timeout_type == TimeoutType.TIMEOUT_TYPE_HEARTBEAT:
                due = max(info.last_heartbeat_time, info.started_time) + info.heartbeat_timeout
                if due > engine.now() + 0.001:
                    return  # a heartbeat arrived since: a later deadline is armed
            _time_out(engine, tx, info, _first_due(info, timeout_type, deadline.when))

    return handle


def _first_due(info: ActivityInfo, timeout_type: int, when: float) -> int:
    """The timeout to report when ``timeout_type`` is due at ``when``.

    The reference orders an attempt's timeouts due at the same moment by type, and
    schedule-to-start comes before schedule-to-close: an activity given only a
    schedule-to-close timeout that no worker starts times out as SCHEDULE_TO_START.
    """
    if (
        timeout_type == TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE
        and not info.started
        and info.schedule_to_start
        and info.scheduled_time + info.schedule_to_start <= when + 0.001
    ):
        return TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START
    return timeout_type


_TIMEOUT_LABELS: dict[int, str] = {
    TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE: "StartToClose",
    TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START: "ScheduleToStart",
    TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE: "ScheduleToClose",
    TimeoutType.TIMEOUT_TYPE_HEARTBEAT: "Heartbeat",
}
NO_TIME_TO_RETRY = "Not enough time to schedule next retry before activity ScheduleToClose timeout, giving up retrying"


def _timeout_failure(message: str, timeout_type: int) -> Failure:
    return Failure(
        message=message,
        source="Server",
        timeout_failure_info=TimeoutFailureInfo(timeout_type=TimeoutType.ValueType(timeout_type)),
    )


def _time_out(engine: HistoryEngine, tx: Transition, info: ActivityInfo, timeout_type: int) -> None:
    """The attempt ran out of time: retry it if the policy allows, else record the timeout.

    As on the reference: only start-to-close and heartbeat timeouts are retried; the final
    timeout names the previous attempt's failure as its cause and carries the last
    heartbeat details; running out of schedule-to-close time for the next retry is
    reported as a schedule-to-close timeout.
    """
    failure = _timeout_failure(f"activity {_TIMEOUT_LABELS[timeout_type]} timeout", timeout_type)
    previous = info.last_failure
    state: int = RetryState.RETRY_STATE_TIMEOUT
    if timeout_type in (TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE, TimeoutType.TIMEOUT_TYPE_HEARTBEAT):
        state = _retry(engine, tx.ms, info, failure)
        if state == RetryState.RETRY_STATE_IN_PROGRESS:
            return
        if state == RetryState.RETRY_STATE_TIMEOUT:
            failure = _timeout_failure(NO_TIME_TO_RETRY, TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE)
    if previous is not None:
        failure.cause.CopyFrom(previous)
    if info.heartbeat_details is not None:
        failure.timeout_failure_info.last_heartbeat_details.CopyFrom(info.heartbeat_details)
    _finish(
        engine,
        tx.ms,
        info,
        ActivityTaskTimedOutEventAttributes(
            failure=failure, scheduled_event_id=info.scheduled_event_id, retry_state=RetryState.ValueType(state)
        ),
    )


def _retry(engine: HistoryEngine, ms: MutableState, info: ActivityInfo, failure: Failure) -> int:
    """Schedule the next attempt if the retry policy allows; the resulting retry state."""
    policy = info.scheduled_event.activity_task_scheduled_event_attributes.retry_policy
    now = engine.now()
    expiration = info.first_scheduled_time + info.schedule_to_close if info.schedule_to_close else 0.0
    delay, state = retry.next_backoff(policy, info.attempt, failure, now=now, expiration=expiration)
    if delay is None:
        return state
    info.attempt += 1
    info.scheduled_time = now + delay
    info.retry_interval = delay
    info.last_attempt_complete_time = now
    info.last_worker_identity = info.started_identity or info.last_worker_identity
    info.started_time = 0.0
    info.started_identity = ""
    info.request_id = ""
    info.last_failure = failure
    del ms
    return state


def _finish(
    engine: HistoryEngine,
    ms: MutableState,
    info: ActivityInfo,
    close_attrs: Message,
    worker_version: WorkerVersionStamp | None = None,
) -> None:
    """Write the started event (if it ran) and the outcome; the workflow gets a new task.

    ``worker_version`` is the build of the worker that reported the outcome: like the
    reference, the started event (written only now) carries it when the worker completed
    or failed the activity, not when it was canceled or timed out.
    """
    started_event_id = 0
    if info.started:
        started = ms.add_or_buffer_event(
            ActivityTaskStartedEventAttributes(
                scheduled_event_id=info.scheduled_event_id,
                identity=info.started_identity,
                request_id=info.request_id,
                attempt=info.attempt,
                last_failure=info.last_failure,
            ),
            now=info.started_time,  # the event tells when the last attempt started
        )
        if info.last_failure is None:
            started.activity_task_started_event_attributes.ClearField("last_failure")
        if worker_version is not None:
            started.activity_task_started_event_attributes.worker_version.CopyFrom(worker_version)
        started_event_id = started.event_id
    close_attrs.started_event_id = started_event_id  # type: ignore[attr-defined]
    ms.add_or_buffer_event(close_attrs)
    del ms.activities[info.scheduled_event_id]
    schedule_workflow_task(engine, ms)


# -- polling -------------------------------------------------------------------------------


async def record_started(engine: HistoryEngine, task: TaskRef, identity: str) -> PollActivityTaskQueueResponse | None:
    """Mark the activity attempt started for this poller; None if the task is stale."""
    ctx = await engine.context_or_none(task.namespace_id, task.run_id)
    if ctx is None:
        return None
    async with engine.transition(ctx, durable=False) as tx:
        ms = tx.ms
        info = ms.activities.get(task.scheduled_event_id)
        if not ms.is_open or info is None or info.started or info.attempt != task.attempt:
            return None
        info.started_time = engine.now()
        info.started_identity = identity
        info.request_id = new_id()
        tx.dirty = True
        scheduled = info.scheduled_event.activity_task_scheduled_event_attributes
        token = TaskToken(
            ms.namespace_id,
            ms.workflow_id,
            ms.run_id,
            scheduled_event_id=info.scheduled_event_id,
            attempt=info.attempt,
            activity_id=info.activity_id,
        )
        response = PollActivityTaskQueueResponse(
            task_token=token.encode(),
            workflow_namespace=ms.namespace,
            workflow_type=WorkflowType(name=ms.workflow_type),
            workflow_execution=WorkflowExecution(workflow_id=ms.workflow_id, run_id=ms.run_id),
            activity_type=ActivityType(name=scheduled.activity_type.name),
            activity_id=info.activity_id,
            header=scheduled.header,
            input=scheduled.input,
            scheduled_time=timestamp(info.first_scheduled_time),
            current_attempt_scheduled_time=timestamp(info.scheduled_time),
            started_time=timestamp(info.started_time),
            attempt=info.attempt,
            schedule_to_close_timeout=scheduled.schedule_to_close_timeout,
            start_to_close_timeout=scheduled.start_to_close_timeout,
            heartbeat_timeout=scheduled.heartbeat_timeout,
            retry_policy=scheduled.retry_policy,
            priority=scheduled.priority,
        )
        if info.heartbeat_details is not None:
            response.heartbeat_details.CopyFrom(info.heartbeat_details)
        return response


# -- results from the worker ---------------------------------------------------------------


async def find_by_id(
    engine: HistoryEngine, namespace_id: str, workflow_id: str, run_id: str, activity_id: str
) -> TaskToken:
    """The token of the started attempt of an activity named by id (the *ById RPCs)."""
    ctx = await engine.resolve(namespace_id, workflow_id, run_id)
    for info in ctx.ms.activities.values():
        if info.activity_id == activity_id:
            return TaskToken(
                namespace_id,
                workflow_id,
                ctx.ms.run_id,
                scheduled_event_id=info.scheduled_event_id,
                attempt=info.attempt,
                activity_id=activity_id,
            )
    raise NotFoundError(ACTIVITY_NOT_FOUND)


async def _started_activity(engine: HistoryEngine, token: TaskToken) -> RunContext:
    ctx = await engine.context_or_none(token.namespace_id, token.run_id)
    if ctx is None or ctx.ms.workflow_id != token.workflow_id:
        raise NotFoundError(ACTIVITY_NOT_FOUND)
    return ctx


def _current_attempt(ms: MutableState, token: TaskToken, *, by_id: bool = False) -> ActivityInfo:
    info = ms.activities.get(token.scheduled_event_id)
    if not ms.is_open or info is None or info.attempt != token.attempt or (not info.started and not by_id):
        raise NotFoundError(ACTIVITY_NOT_FOUND)
    return info


def _mark_started_by_id(engine: HistoryEngine, info: ActivityInfo, identity: str) -> None:
    # An activity completed by id before any worker took it: it started and ended now.
    if not info.started:
        info.started_time = engine.now()
        info.started_identity = identity
        info.request_id = new_id()


async def complete(
    engine: HistoryEngine,
    token: TaskToken,
    result: Payloads | None,
    identity: str,
    *,
    by_id: bool = False,
    worker_version: WorkerVersionStamp | None = None,
) -> None:
    ctx = await _started_activity(engine, token)
    async with engine.transition(ctx) as tx:
        info = _current_attempt(tx.ms, token, by_id=by_id)
        _mark_started_by_id(engine, info, identity)
        attrs = ActivityTaskCompletedEventAttributes(scheduled_event_id=info.scheduled_event_id, identity=identity)
        if result is not None:
            attrs.result.CopyFrom(result)
        _finish(engine, tx.ms, info, attrs, worker_version)


async def fail(
    engine: HistoryEngine,
    token: TaskToken,
    failure: Failure,
    identity: str,
    last_heartbeat_details: Payloads | None,
    *,
    by_id: bool = False,
    worker_version: WorkerVersionStamp | None = None,
) -> None:
    ctx = await _started_activity(engine, token)
    async with engine.transition(ctx) as tx:
        info = _current_attempt(tx.ms, token, by_id=by_id)
        _mark_started_by_id(engine, info, identity)
        if last_heartbeat_details is not None:
            info.heartbeat_details = last_heartbeat_details
        state = _retry(engine, tx.ms, info, failure)
        if state == RetryState.RETRY_STATE_IN_PROGRESS:
            tx.dirty = True
            return
        _finish(
            engine,
            tx.ms,
            info,
            ActivityTaskFailedEventAttributes(
                failure=failure,
                scheduled_event_id=info.scheduled_event_id,
                identity=identity,
                retry_state=RetryState.ValueType(state),
            ),
            worker_version,
        )


async def canceled(
    engine: HistoryEngine, token: TaskToken, details: Payloads | None, identity: str, *, by_id: bool = False
) -> None:
    ctx = await _started_activity(engine, token)
    async with engine.transition(ctx) as tx:
        info = _current_attempt(tx.ms, token, by_id=by_id)
        if not info.cancel_requested:
            raise NotFoundError(ACTIVITY_NOT_FOUND)  # nothing asked it to cancel
        _mark_started_by_id(engine, info, identity)
        attrs = ActivityTaskCanceledEventAttributes(
            scheduled_event_id=info.scheduled_event_id,
            latest_cancel_requested_event_id=info.cancel_requested_event_id,
            identity=identity,
        )
        if details is not None:
            attrs.details.CopyFrom(details)
        _finish(engine, tx.ms, info, attrs)


async def heartbeat(engine: HistoryEngine, token: TaskToken, details: Payloads | None, *, by_id: bool = False) -> bool:
    """Record heartbeat details; returns whether cancellation was requested."""
    ctx = await _started_activity(engine, token)
    async with engine.transition(ctx) as tx:
        info = _current_attempt(tx.ms, token, by_id=by_id)
        info.last_heartbeat_time = engine.now()
        if details is not None:
            info.heartbeat_details = details
        tx.dirty = True
        return info.cancel_requested


def deadline_handlers() -> dict[str, DeadlineHandler]:
    return {
        "activity_retry": on_retry_due,
        "activity_schedule_to_start": _timeout_handler(TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START, False),
        "activity_start_to_close": _timeout_handler(TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE, True),
        "activity_heartbeat": _timeout_handler(TimeoutType.TIMEOUT_TYPE_HEARTBEAT, True),
        "activity_schedule_to_close": _timeout_handler(TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE, None),
    }
