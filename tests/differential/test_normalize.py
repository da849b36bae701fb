"""Unit tests for the history normaliser: it must remove only what it says it removes."""

from __future__ import annotations

from google.protobuf.duration_pb2 import Duration
from temporalio.api.common.v1 import Payload, Payloads, WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import EventType, TaskQueueKind
from temporalio.api.history.v1 import (
    HistoryEvent,
    WorkflowExecutionStartedEventAttributes,
    WorkflowTaskCompletedEventAttributes,
    WorkflowTaskScheduledEventAttributes,
    WorkflowTaskStartedEventAttributes,
)
from temporalio.api.sdk.v1 import WorkflowTaskCompletedMetadata
from temporalio.api.taskqueue.v1 import TaskQueue

from tests.differential.normalize import Normalizer

WORKFLOW_ID = "diff-wf-1234"
TASK_QUEUE = "diff-tq-1234"


def started_event(run_id: str, first_run_id: str, backoff: Duration | None = None) -> HistoryEvent:
    event = HistoryEvent(
        event_id=1,
        event_type=EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
        task_id=1048577,
        workflow_execution_started_event_attributes=WorkflowExecutionStartedEventAttributes(
            workflow_type=WorkflowType(name="Wf"),
            workflow_id=WORKFLOW_ID,
            task_queue=TaskQueue(name=TASK_QUEUE, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
            input=Payloads(payloads=[Payload(metadata={"encoding": b"json/plain"}, data=b'"hi"')]),
            original_execution_run_id=run_id,
            first_execution_run_id=first_run_id,
            parent_workflow_execution=WorkflowExecution(workflow_id=f"{WORKFLOW_ID}-parent", run_id=first_run_id),
        ),
    )
    event.event_time.FromSeconds(1_700_000_000)
    if backoff is not None:
        event.workflow_execution_started_event_attributes.first_workflow_task_backoff.CopyFrom(backoff)
    return event


def test_drops_bookkeeping_and_substitutes_ids() -> None:
    normalized = Normalizer(WORKFLOW_ID, TASK_QUEUE).event(started_event("run-a", "run-a"))
    assert "event_time" not in normalized and "task_id" not in normalized
    assert normalized["event_type"] == "WORKFLOW_EXECUTION_STARTED"
    attrs = normalized["workflow_execution_started_event_attributes"]
    assert attrs["workflow_id"] == "{workflow_id}"
    assert attrs["task_queue"] == {"name": "{task_queue}", "kind": "TASK_QUEUE_KIND_NORMAL"}
    assert attrs["parent_workflow_execution"] == {"workflow_id": "{workflow_id}-parent", "run_id": "<run-1>"}
    assert attrs["input"] == {"payloads": [{"metadata": {"encoding": "json/plain"}, "data": '"hi"'}]}


def test_run_tokens_are_shared_across_histories_of_one_run() -> None:
    normalizer = Normalizer(WORKFLOW_ID, TASK_QUEUE)
    first = normalizer.event(started_event("run-a", "run-a"))["workflow_execution_started_event_attributes"]
    second = normalizer.event(started_event("run-b", "run-a"))["workflow_execution_started_event_attributes"]
    assert first["original_execution_run_id"] == first["first_execution_run_id"] == "<run-1>"
    assert second["original_execution_run_id"] == "<run-2>"
    assert second["first_execution_run_id"] == "<run-1>"


def test_timing_dependent_backoff_keeps_zero_versus_nonzero() -> None:
    normalizer = Normalizer(WORKFLOW_ID, TASK_QUEUE)
    zero = normalizer.event(started_event("r", "r", Duration(seconds=0)))
    later = normalizer.event(started_event("r", "r", Duration(nanos=935_000_000)))
    key = "workflow_execution_started_event_attributes"
    assert zero[key]["first_workflow_task_backoff"] == "0s"
    assert later[key]["first_workflow_task_backoff"] == "<nonzero>"


def test_sticky_queue_name_and_worker_stamps() -> None:
    normalizer = Normalizer(WORKFLOW_ID, TASK_QUEUE)
    scheduled = normalizer.event(
        HistoryEvent(
            event_id=2,
            event_type=EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
            workflow_task_scheduled_event_attributes=WorkflowTaskScheduledEventAttributes(
                task_queue=TaskQueue(
                    name="worker-1234-sticky", kind=TaskQueueKind.TASK_QUEUE_KIND_STICKY, normal_name=TASK_QUEUE
                ),
                attempt=1,
            ),
        )
    )
    assert scheduled["workflow_task_scheduled_event_attributes"]["task_queue"] == {
        "name": "<sticky>",
        "kind": "TASK_QUEUE_KIND_STICKY",
        "normal_name": "{task_queue}",
    }
    started = normalizer.event(
        HistoryEvent(
            event_id=3,
            event_type=EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
            workflow_task_started_event_attributes=WorkflowTaskStartedEventAttributes(
                scheduled_event_id=2, identity="1@host", request_id="abc", history_size_bytes=321
            ),
        )
    )
    assert started["workflow_task_started_event_attributes"] == {"scheduled_event_id": "2", "identity": "1@host"}


def test_flag_sets_are_sorted_but_unknown_fields_kept() -> None:
    completed = Normalizer(WORKFLOW_ID, TASK_QUEUE).event(
        HistoryEvent(
            event_id=4,
            event_type=EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
            workflow_task_completed_event_attributes=WorkflowTaskCompletedEventAttributes(
                scheduled_event_id=2,
                started_event_id=3,
                binary_checksum="build-xyz",
                sdk_metadata=WorkflowTaskCompletedMetadata(core_used_flags=[3, 1, 2], sdk_name="temporal-python"),
            ),
        )
    )
    attrs = completed["workflow_task_completed_event_attributes"]
    # The server decides whether to record a worker's checksum, so it is compared, not dropped.
    assert attrs["binary_checksum"] == "build-xyz"
    assert attrs["sdk_metadata"] == {"core_used_flags": [1, 2, 3], "sdk_name": "temporal-python"}
