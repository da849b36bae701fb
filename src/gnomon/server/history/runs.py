"""Creating and closing runs: shared by start, continue-as-new, child start and termination."""

from __future__ import annotations

from collections.abc import Callable

from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.history.v1 import WorkflowExecutionStartedEventAttributes
from temporalio.api.sdk.v1 import UserMetadata

from gnomon.server.history.engine import HistoryEngine
from gnomon.server.history.mutable_state import MutableState, ParentInfo
from gnomon.server.history.workflow_task import DEFAULT_WORKFLOW_TASK_TIMEOUT, schedule_workflow_task
from gnomon.server.protoutil import duration, seconds, timestamp

MAX_WORKFLOW_TASK_TIMEOUT = 120.0


def normalize_timeouts(attrs: WorkflowExecutionStartedEventAttributes) -> None:
    """Fill run and task timeouts the way Temporal does (run ≤ execution, task ≤ run)."""
    execution = seconds(attrs.workflow_execution_timeout)
    run = seconds(attrs.workflow_run_timeout)
    if run == 0 or (execution and run > execution):
        run = execution
    task = seconds(attrs.workflow_task_timeout) or DEFAULT_WORKFLOW_TASK_TIMEOUT
    task = min(task, MAX_WORKFLOW_TASK_TIMEOUT)
    if run:
        task = min(task, run)
    # Like the reference, an unlimited timeout stays absent unless the caller gave "0s".
    if run or attrs.HasField("workflow_run_timeout"):
        attrs.workflow_run_timeout.CopyFrom(duration(run))
    attrs.workflow_task_timeout.CopyFrom(duration(task))
    if not execution:
        attrs.ClearField("workflow_execution_timeout")


def new_run(
    engine: HistoryEngine,
    *,
    namespace_id: str,
    namespace: str,
    workflow_id: str,
    run_id: str,
    request_id: str,
    attrs: WorkflowExecutionStartedEventAttributes,
    backoff: float = 0.0,
    execution_expiration_time: float = 0.0,
    before_first_task: Callable[[MutableState], None] | None = None,
    user_metadata: UserMetadata | None = None,
) -> MutableState:
    """A new run's mutable state, with its started event (and first workflow task) appended.

    ``before_first_task`` may append events that belong before the first workflow task
    (signal-with-start puts its signal there). ``user_metadata`` is the start's summary and
    details, recorded on the started event.
    """
    now = engine.now()
    normalize_timeouts(attrs)
    attrs.workflow_id = workflow_id
    attrs.original_execution_run_id = run_id
    if not attrs.first_execution_run_id:
        attrs.first_execution_run_id = run_id
    if not attrs.attempt:
        attrs.attempt = 1
    execution_timeout = seconds(attrs.workflow_execution_timeout)
    if not execution_expiration_time and execution_timeout:
        execution_expiration_time = now + execution_timeout
    if execution_expiration_time:
        attrs.workflow_execution_expiration_time.CopyFrom(timestamp(execution_expiration_time))
    attrs.first_workflow_task_backoff.CopyFrom(duration(backoff))  # the reference sets it, even to 0s
    attrs.priority.SetInParent()  # likewise present even when empty
    for name in ("memo", "search_attributes"):
        if attrs.HasField(name) and not getattr(attrs, name).ListFields():
            attrs.ClearField(name)  # an empty memo is no memo
    ms = MutableState(
        namespace_id=namespace_id,
        namespace=namespace,
        workflow_id=workflow_id,
        run_id=run_id,
        workflow_type=attrs.workflow_type.name,
        task_queue=attrs.task_queue.name,
        start_request_id=request_id,
        started=attrs,
        start_time=now,
        execution_time=now + backoff,
        memo=attrs.memo,
        search_attributes=attrs.search_attributes,
        execution_expiration_time=execution_expiration_time,
        user_metadata=user_metadata,
    )
    run_timeout = seconds(attrs.workflow_run_timeout)
    if run_timeout:
        ms.run_expiration_time = now + backoff + run_timeout
    if attrs.HasField("parent_workflow_execution"):
        ms.parent = ParentInfo(
            namespace_id=attrs.parent_workflow_namespace_id,
            namespace=attrs.parent_workflow_namespace,
            workflow_id=attrs.parent_workflow_execution.workflow_id,
            run_id=attrs.parent_workflow_execution.run_id,
            initiated_event_id=attrs.parent_initiated_event_id,
        )
    started = ms.add_event(attrs, now=now)
    if user_metadata is not None:
        ms.annotate_event(started, user_metadata=user_metadata)
    ms.visibility_changed = True
    if before_first_task is not None:
        before_first_task(ms)
    if backoff > 0:
        ms.first_task_backoff_until = now + backoff
    else:
        schedule_workflow_task(engine, ms)
    return ms


def close_run(ms: MutableState, status: int, now: float) -> None:
    """Mark the run closed after its close event was appended."""
    ms.status = status
    ms.close_time = now
    ms.close_event_id = ms.next_event_id - 1
    ms.visibility_changed = True
    ms.workflow_task = None
    ms.first_task_backoff_until = 0.0
    ms.buffered_events.clear()
    ms.timers.clear()


CLOSED_STATUSES = frozenset(
    {
        WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED,
        WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED,
        WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CANCELED,
        WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED,
        WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW,
        WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TIMED_OUT,
    }
)
