"""Structural checks every workflow history must pass (event ids, references between events, close event).

``tests.e2e.helpers.history_events`` runs these on every history the suite reads, so each test also checks
that the server's history is well formed.
"""

from __future__ import annotations

from collections.abc import Sequence

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

E = EventType

CLOSE_EVENTS = {
    E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
}

_WFT_SCHEDULED = {E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED}
_WFT_STARTED = {E.EVENT_TYPE_WORKFLOW_TASK_STARTED}
_WFT_COMPLETED = {E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED}
_ACT_SCHEDULED = {E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED}
_ACT_STARTED = {E.EVENT_TYPE_ACTIVITY_TASK_STARTED}
_TIMER_STARTED = {E.EVENT_TYPE_TIMER_STARTED}
_CHILD_INITIATED = {E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED}
_CHILD_STARTED = {E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED}

#: event type -> (attributes field, [(reference field, allowed target types, may be zero)])
REFERENCES: dict[EventType.ValueType, tuple[str, list[tuple[str, set[EventType.ValueType], bool]]]] = {
    E.EVENT_TYPE_WORKFLOW_TASK_STARTED: (
        "workflow_task_started_event_attributes",
        [("scheduled_event_id", _WFT_SCHEDULED, False)],
    ),
    E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED: (
        "workflow_task_completed_event_attributes",
        [("scheduled_event_id", _WFT_SCHEDULED, False), ("started_event_id", _WFT_STARTED, False)],
    ),
    E.EVENT_TYPE_WORKFLOW_TASK_FAILED: (
        "workflow_task_failed_event_attributes",
        [("scheduled_event_id", _WFT_SCHEDULED, False), ("started_event_id", _WFT_STARTED, False)],
    ),
    E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT: (
        "workflow_task_timed_out_event_attributes",
        [("scheduled_event_id", _WFT_SCHEDULED, False), ("started_event_id", _WFT_STARTED, True)],
    ),
    E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: (
        "activity_task_scheduled_event_attributes",
        [("workflow_task_completed_event_id", _WFT_COMPLETED, False)],
    ),
    E.EVENT_TYPE_ACTIVITY_TASK_STARTED: (
        "activity_task_started_event_attributes",
        [("scheduled_event_id", _ACT_SCHEDULED, False)],
    ),
    E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: (
        "activity_task_completed_event_attributes",
        [("scheduled_event_id", _ACT_SCHEDULED, False), ("started_event_id", _ACT_STARTED, False)],
    ),
    E.EVENT_TYPE_ACTIVITY_TASK_FAILED: (
        "activity_task_failed_event_attributes",
        [("scheduled_event_id", _ACT_SCHEDULED, False), ("started_event_id", _ACT_STARTED, False)],
    ),
    E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: (
        "activity_task_timed_out_event_attributes",
        [("scheduled_event_id", _ACT_SCHEDULED, False), ("started_event_id", _ACT_STARTED, True)],
    ),
    E.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED: (
        "activity_task_cancel_requested_event_attributes",
        [("scheduled_event_id", _ACT_SCHEDULED, False), ("workflow_task_completed_event_id", _WFT_COMPLETED, False)],
    ),
    E.EVENT_TYPE_ACTIVITY_TASK_CANCELED: (
        "activity_task_canceled_event_attributes",
        [
            ("scheduled_event_id", _ACT_SCHEDULED, False),
            ("started_event_id", _ACT_STARTED, True),
            ("latest_cancel_requested_event_id", {E.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED}, False),
        ],
    ),
    E.EVENT_TYPE_TIMER_STARTED: (
        "timer_started_event_attributes",
        [("workflow_task_completed_event_id", _WFT_COMPLETED, False)],
    ),
    E.EVENT_TYPE_TIMER_FIRED: ("timer_fired_event_attributes", [("started_event_id", _TIMER_STARTED, False)]),
    E.EVENT_TYPE_TIMER_CANCELED: (
        "timer_canceled_event_attributes",
        [("started_event_id", _TIMER_STARTED, False), ("workflow_task_completed_event_id", _WFT_COMPLETED, False)],
    ),
    E.EVENT_TYPE_MARKER_RECORDED: (
        "marker_recorded_event_attributes",
        [("workflow_task_completed_event_id", _WFT_COMPLETED, False)],
    ),
    E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED: (
        "start_child_workflow_execution_initiated_event_attributes",
        [("workflow_task_completed_event_id", _WFT_COMPLETED, False)],
    ),
    E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED: (
        "child_workflow_execution_started_event_attributes",
        [("initiated_event_id", _CHILD_INITIATED, False)],
    ),
    E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED: (
        "child_workflow_execution_completed_event_attributes",
        [("initiated_event_id", _CHILD_INITIATED, False), ("started_event_id", _CHILD_STARTED, False)],
    ),
    E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED: (
        "child_workflow_execution_failed_event_attributes",
        [("initiated_event_id", _CHILD_INITIATED, False), ("started_event_id", _CHILD_STARTED, False)],
    ),
    E.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED: (
        "child_workflow_execution_terminated_event_attributes",
        [("initiated_event_id", _CHILD_INITIATED, False), ("started_event_id", _CHILD_STARTED, False)],
    ),
    E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: (
        "signal_external_workflow_execution_initiated_event_attributes",
        [("workflow_task_completed_event_id", _WFT_COMPLETED, False)],
    ),
    E.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED: (
        "external_workflow_execution_signaled_event_attributes",
        [("initiated_event_id", {E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED}, False)],
    ),
    E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED: (
        "request_cancel_external_workflow_execution_initiated_event_attributes",
        [("workflow_task_completed_event_id", _WFT_COMPLETED, False)],
    ),
    E.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED: (
        "external_workflow_execution_cancel_requested_event_attributes",
        [("initiated_event_id", {E.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED}, False)],
    ),
    E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: (
        "upsert_workflow_search_attributes_event_attributes",
        [("workflow_task_completed_event_id", _WFT_COMPLETED, False)],
    ),
    E.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED: (
        "workflow_properties_modified_event_attributes",
        [("workflow_task_completed_event_id", _WFT_COMPLETED, False)],
    ),
    E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED: (
        "workflow_execution_update_completed_event_attributes",
        [("accepted_event_id", {E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED}, False)],
    ),
    E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: (
        "workflow_execution_completed_event_attributes",
        [("workflow_task_completed_event_id", _WFT_COMPLETED, False)],
    ),
    E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: (
        "workflow_execution_failed_event_attributes",
        [("workflow_task_completed_event_id", _WFT_COMPLETED, False)],
    ),
    E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: (
        "workflow_execution_canceled_event_attributes",
        [("workflow_task_completed_event_id", _WFT_COMPLETED, False)],
    ),
    E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: (
        "workflow_execution_continued_as_new_event_attributes",
        [("workflow_task_completed_event_id", _WFT_COMPLETED, False)],
    ),
}


def _name(event_type: EventType.ValueType) -> str:
    return EventType.Name(event_type)


def history_problems(events: Sequence[HistoryEvent]) -> list[str]:
    """Everything structurally wrong with a history; empty when it is well formed."""
    problems: list[str] = []
    if not events:
        return ["the history is empty"]
    if events[0].event_type != E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        problems.append(f"first event is {_name(events[0].event_type)}, not WorkflowExecutionStarted")
    ids = [e.event_id for e in events]
    if ids != list(range(1, len(events) + 1)):
        problems.append(f"event ids are not 1..{len(events)}: {ids}")
    by_id = {e.event_id: e for e in events}
    # (Event timestamps are not monotonic on the reference: buffered events keep the time they happened.)
    closes = [e for e in events if e.event_type in CLOSE_EVENTS]
    if len(closes) > 1 or (closes and closes[0] is not events[-1]):
        problems.append(f"close events {[c.event_id for c in closes]} are not exactly the last event")
    for event in events:
        spec = REFERENCES.get(event.event_type)
        if spec is None:
            continue
        attrs_field, refs = spec
        attrs = getattr(event, attrs_field)
        for ref_field, targets, may_be_zero in refs:
            ref = getattr(attrs, ref_field)
            if ref == 0 and may_be_zero:
                continue
            target = by_id.get(ref)
            if target is None or target.event_type not in targets or ref >= event.event_id:
                found = _name(target.event_type) if target is not None else "nothing"
                problems.append(
                    f"event {event.event_id} ({_name(event.event_type)}).{ref_field}={ref} points at {found}, "
                    f"expected an earlier {sorted(_name(t) for t in targets)}"
                )
    return problems


def assert_well_formed(events: Sequence[HistoryEvent]) -> None:
    """Fail with every structural problem of the history."""
    problems = history_problems(events)
    assert not problems, "malformed history:\n  " + "\n  ".join(problems)
