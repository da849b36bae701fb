"""Deadlines of the run itself: user timers firing and workflow run/execution timeouts."""

from __future__ import annotations

from temporalio.api.enums.v1 import RetryState, TimeoutType, WorkflowExecutionStatus
from temporalio.api.failure.v1 import Failure, TimeoutFailureInfo
from temporalio.api.history.v1 import TimerFiredEventAttributes, WorkflowExecutionTimedOutEventAttributes

from gnomon.server.history.engine import HistoryEngine
from gnomon.server.history.mutable_state import MutableState
from gnomon.server.history.runs import close_run
from gnomon.server.history.successor import retry_or_cron
from gnomon.server.history.wants import Wants
from gnomon.server.history.workflow_task import schedule_workflow_task
from gnomon.server.timers import Deadline

# A deadline may fire a hair early (clock granularity); within this it counts as due.
EPSILON = 0.002


def derive(engine: HistoryEngine, ms: MutableState, wants: Wants) -> None:
    """User timers, and the run's own run and execution timeouts."""
    del engine
    if not ms.is_open:
        return
    for info in ms.timers.values():
        wants.deadline(Deadline(info.fire_time, ms.namespace_id, ms.run_id, "timer", info.timer_id))
    expirations = [t for t in (ms.run_expiration_time, ms.execution_expiration_time) if t]
    if expirations:
        wants.deadline(Deadline(min(expirations), ms.namespace_id, ms.run_id, "workflow_timeout", ""))


async def on_timer(engine: HistoryEngine, deadline: Deadline) -> None:
    ctx = await engine.resolve_key(deadline.namespace_id, deadline.run_id)
    async with engine.transition(ctx) as tx:
        ms = tx.ms
        info = ms.timers.get(deadline.ref)
        if not ms.is_open or info is None or info.fire_time > engine.now() + EPSILON:
            return
        del ms.timers[info.timer_id]
        ms.add_or_buffer_event(
            TimerFiredEventAttributes(timer_id=info.timer_id, started_event_id=info.started_event_id)
        )
        schedule_workflow_task(engine, ms)


async def on_workflow_timeout(engine: HistoryEngine, deadline: Deadline) -> None:
    """The run (or the whole execution) ran out of time: time it out, then retry or run cron."""
    ctx = await engine.resolve_key(deadline.namespace_id, deadline.run_id)
    async with engine.transition(ctx) as tx:
        ms = tx.ms
        expirations = [t for t in (ms.run_expiration_time, ms.execution_expiration_time) if t]
        now = engine.now()
        if not ms.is_open or not expirations or min(expirations) > now + EPSILON:
            return
        ms.flush_buffered_events()
        attrs = WorkflowExecutionTimedOutEventAttributes(retry_state=RetryState.RETRY_STATE_TIMEOUT)
        execution_over = bool(ms.execution_expiration_time) and ms.execution_expiration_time <= now + EPSILON
        if not execution_over:
            failure = Failure(
                message="workflow timeout",
                source="Server",
                timeout_failure_info=TimeoutFailureInfo(timeout_type=TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE),
            )
            state, successor = retry_or_cron(engine, tx, failure)
            attrs.retry_state = state  # type: ignore[assignment]
            attrs.new_execution_run_id = successor
        ms.add_event(attrs, now=now)
        close_run(ms, WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TIMED_OUT, now)
