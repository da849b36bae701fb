"""DescribeWorkflowExecution: a run's configuration, status and pending work."""

from __future__ import annotations

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import PendingActivityState, PendingWorkflowTaskState, TaskQueueKind
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflow.v1 import (
    PendingActivityInfo,
    PendingChildExecutionInfo,
    PendingWorkflowTaskInfo,
    WorkflowExecutionConfig,
    WorkflowExecutionExtendedInfo,
    WorkflowExecutionInfo,
)
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionResponse

from gnomon.server.history.mutable_state import MutableState
from gnomon.server.protoutil import copy_fields, duration, timestamp


def execution_info(ms: MutableState) -> WorkflowExecutionInfo:
    """The summary of a run that describe (and later, visibility) shows."""
    info = WorkflowExecutionInfo(
        execution=WorkflowExecution(workflow_id=ms.workflow_id, run_id=ms.run_id),
        type=ms.started.workflow_type,
        start_time=timestamp(ms.start_time),
        status=ms.status,  # type: ignore[arg-type]
        history_length=ms.next_event_id - 1,
        execution_time=timestamp(ms.execution_time),
        memo=ms.memo,
        search_attributes=ms.visible_search_attributes(),
        task_queue=ms.task_queue,
        history_size_bytes=ms.history_size_bytes,
        first_run_id=ms.started.first_execution_run_id,
        state_transition_count=ms.db_version,
        auto_reset_points=ms.auto_reset_points,
        worker_deployment_name=ms.worker_deployment_name,
    )
    if ms.most_recent_worker_version_stamp is not None:
        info.most_recent_worker_version_stamp.CopyFrom(ms.most_recent_worker_version_stamp)
    if ms.close_time is not None:
        info.close_time.CopyFrom(timestamp(ms.close_time))
        info.execution_duration.FromNanoseconds(int((ms.close_time - ms.execution_time) * 1e9))
    if ms.parent is not None:
        info.parent_namespace_id = ms.parent.namespace_id
        info.parent_execution.CopyFrom(WorkflowExecution(workflow_id=ms.parent.workflow_id, run_id=ms.parent.run_id))
    if ms.started.HasField("root_workflow_execution"):
        info.root_execution.CopyFrom(ms.started.root_workflow_execution)
    else:
        info.root_execution.CopyFrom(info.execution)
    return info


def _extended_info(ms: MutableState) -> WorkflowExecutionExtendedInfo:
    info = WorkflowExecutionExtendedInfo(
        original_start_time=timestamp(ms.start_time), cancel_requested=ms.cancel_requested
    )
    if ms.execution_expiration_time:
        info.execution_expiration_time.CopyFrom(timestamp(ms.execution_expiration_time))
    if ms.run_expiration_time:
        info.run_expiration_time.CopyFrom(timestamp(ms.run_expiration_time))
    return info


def describe(ms: MutableState) -> DescribeWorkflowExecutionResponse:
    response = DescribeWorkflowExecutionResponse(
        workflow_extended_info=_extended_info(ms),
        execution_config=WorkflowExecutionConfig(
            task_queue=TaskQueue(name=ms.task_queue, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
            workflow_execution_timeout=ms.started.workflow_execution_timeout,
            workflow_run_timeout=ms.started.workflow_run_timeout,
            default_workflow_task_timeout=ms.started.workflow_task_timeout,
        ),
        workflow_execution_info=execution_info(ms),
    )
    if ms.user_metadata is not None:
        response.execution_config.user_metadata.CopyFrom(ms.user_metadata)
    for a in ms.activities.values():
        scheduled = a.scheduled_event.activity_task_scheduled_event_attributes
        state = PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED
        if a.cancel_requested:
            state = PendingActivityState.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED
        elif a.started:
            state = PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
        pending = PendingActivityInfo(
            activity_id=a.activity_id,
            activity_type=scheduled.activity_type,
            state=state,
            attempt=a.attempt,
            maximum_attempts=scheduled.retry_policy.maximum_attempts,
            scheduled_time=timestamp(a.scheduled_time),
            last_worker_identity=a.started_identity or a.last_worker_identity,
        )
        options = pending.activity_options
        options.task_queue.CopyFrom(scheduled.task_queue)
        copy_fields(
            options, scheduled, "schedule_to_close_timeout", "schedule_to_start_timeout", "start_to_close_timeout",
            "heartbeat_timeout", "retry_policy", "priority",
        )  # fmt: skip
        if a.last_attempt_complete_time:
            pending.last_attempt_complete_time.CopyFrom(timestamp(a.last_attempt_complete_time))
        if not a.started and a.attempt > 1:
            pending.next_attempt_schedule_time.CopyFrom(timestamp(a.scheduled_time))
            pending.current_retry_interval.CopyFrom(duration(a.retry_interval))
        if a.heartbeat_details is not None:
            pending.heartbeat_details.CopyFrom(a.heartbeat_details)
        if a.last_heartbeat_time:
            pending.last_heartbeat_time.CopyFrom(timestamp(a.last_heartbeat_time))
        if a.started:
            pending.last_started_time.CopyFrom(timestamp(a.started_time))
        if a.last_failure is not None:
            pending.last_failure.CopyFrom(a.last_failure)
        if a.schedule_to_close:
            pending.expiration_time.CopyFrom(timestamp(a.first_scheduled_time + a.schedule_to_close))
        response.pending_activities.append(pending)
    for c in ms.children.values():
        response.pending_children.append(
            PendingChildExecutionInfo(
                workflow_id=c.workflow_id,
                run_id=c.run_id,
                workflow_type_name=c.workflow_type,
                initiated_id=c.initiated_event_id,
                parent_close_policy=c.parent_close_policy,  # type: ignore[arg-type]
            )
        )
    wft = ms.workflow_task
    if wft is not None:
        response.pending_workflow_task.CopyFrom(
            PendingWorkflowTaskInfo(
                state=PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_STARTED
                if wft.started
                else PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_SCHEDULED,
                scheduled_time=timestamp(wft.scheduled_time),
                original_scheduled_time=timestamp(wft.scheduled_time),
                attempt=wft.attempt,
            )
        )
        if wft.started:
            response.pending_workflow_task.started_time.CopyFrom(timestamp(wft.started_time))
    return response
