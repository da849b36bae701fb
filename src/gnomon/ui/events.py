"""History events for people: a kind, a one-line summary, decoded attributes, and groups.

An *event group* gathers the events of one piece of work: an activity's scheduled,
started and closed events, a timer's started and fired events, a child's initiated,
started and closed events. The compact history view and the timeline are built on groups.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from gnomon.ui.payloads import Encoded
from gnomon.ui.values import FailureView, Span, enum_name, flat_fields, to_datetime, view

#: Event type name prefixes, most specific first, and the kind each belongs to.
KIND_PREFIXES: tuple[tuple[str, str], ...] = (
    ("WorkflowExecutionSignaled", "signal"),
    ("WorkflowExecutionUpdate", "update"),
    ("WorkflowExecution", "workflow"),
    ("WorkflowTask", "workflow-task"),
    ("ActivityTask", "activity"),
    ("Timer", "timer"),
    ("StartChildWorkflowExecution", "child"),
    ("ChildWorkflowExecution", "child"),
    ("SignalExternalWorkflowExecution", "signal"),
    ("ExternalWorkflowExecutionSignaled", "signal"),
    ("MarkerRecorded", "marker"),
    ("NexusOperation", "nexus"),
)

#: The kinds a user can filter the history by, with their labels, in display order.
KINDS: dict[str, str] = {
    "workflow": "Workflow",
    "activity": "Activities",
    "timer": "Timers",
    "signal": "Signals",
    "child": "Child workflows",
    "update": "Updates",
    "workflow-task": "Workflow tasks",
    "marker": "Markers",
    "nexus": "Nexus",
    "other": "Other",
}

#: Kinds whose groups last a while (drawn as bars); the others are instants.
DURABLE_KINDS = frozenset({"activity", "timer", "child", "workflow-task", "update", "nexus"})

#: The last word of an event type that leaves its group still open.
OPEN_STATES = frozenset({"Scheduled", "Started", "Initiated", "CancelRequested", "Accepted", "Admitted"})

#: Attribute paths worth a glance, per event type (the rest is one click away).
SUMMARY_KEYS: dict[str, tuple[str, ...]] = {
    "WorkflowExecutionStarted": ("workflowType.name", "taskQueue.name", "input"),
    "WorkflowExecutionCompleted": ("result",),
    "WorkflowExecutionFailed": ("failure", "retryState"),
    "WorkflowExecutionTimedOut": ("retryState",),
    "WorkflowExecutionTerminated": ("reason", "identity"),
    "WorkflowExecutionCanceled": ("details",),
    "WorkflowExecutionCancelRequested": ("cause", "identity"),
    "WorkflowExecutionContinuedAsNew": ("newExecutionRunId", "input"),
    "WorkflowExecutionSignaled": ("signalName", "input", "identity"),
    "WorkflowTaskScheduled": ("taskQueue.name", "attempt"),
    "WorkflowTaskStarted": ("identity",),
    "WorkflowTaskCompleted": ("identity",),
    "WorkflowTaskFailed": ("cause", "failure"),
    "WorkflowTaskTimedOut": ("timeoutType",),
    "ActivityTaskScheduled": ("activityType.name", "activityId", "input"),
    "ActivityTaskStarted": ("attempt", "identity"),
    "ActivityTaskCompleted": ("result",),
    "ActivityTaskFailed": ("failure", "retryState"),
    "ActivityTaskTimedOut": ("failure", "retryState"),
    "ActivityTaskCanceled": ("details",),
    "TimerStarted": ("timerId", "startToFireTimeout"),
    "TimerFired": ("timerId",),
    "TimerCanceled": ("timerId",),
    "StartChildWorkflowExecutionInitiated": ("workflowType.name", "workflowId"),
    "StartChildWorkflowExecutionFailed": ("workflowId", "cause"),
    "ChildWorkflowExecutionStarted": ("workflowExecution.workflowId",),
    "ChildWorkflowExecutionCompleted": ("result",),
    "ChildWorkflowExecutionFailed": ("failure",),
    "SignalExternalWorkflowExecutionInitiated": ("signalName", "workflowExecution.workflowId"),
    "MarkerRecorded": ("markerName",),
    "UpsertWorkflowSearchAttributes": ("searchAttributes",),
    "WorkflowPropertiesModified": ("upsertedMemo",),
    "WorkflowExecutionUpdateAccepted": ("acceptedRequest.input.name", "protocolInstanceId"),
    "WorkflowExecutionUpdateCompleted": ("outcome",),
}

#: Fields that point at the event that opened a piece of work, in order of preference.
GROUP_LINKS = ("scheduled_event_id", "initiated_event_id", "accepted_event_id", "started_event_id")


@dataclass
class EventView:
    """One history event, ready to render."""

    id: int
    time: datetime
    type: str
    kind: str
    group_id: int
    attributes: dict[str, Any]
    summary: list[tuple[str, str]]
    fields: list[tuple[str, Any]] = field(default_factory=list)
    failure: FailureView | None = None

    @property
    def state(self) -> str:
        """The last word of the type (``Completed``, ``Failed``...) for colouring."""
        return _state_of(self.type, self.kind)

    @property
    def tone(self) -> str:
        return tone_of(self.state)


@dataclass
class EventGroup:
    """The events of one activity, timer, child, signal...: a row of the compact view and the timeline."""

    id: int
    kind: str
    title: str
    events: list[EventView] = field(default_factory=list)

    @property
    def first(self) -> EventView:
        return self.events[0]

    @property
    def last(self) -> EventView:
        return self.events[-1]

    @property
    def start(self) -> datetime:
        return self.first.time

    @property
    def state(self) -> str:
        return self.last.state

    @property
    def tone(self) -> str:
        return "running" if self.pending else tone_of(self.state)

    @property
    def durable(self) -> bool:
        """Whether the work lasts a while (an activity...) rather than happening at once (a signal...)."""
        return self.kind in DURABLE_KINDS

    @property
    def pending(self) -> bool:
        return self.durable and self.state in OPEN_STATES

    @property
    def end(self) -> datetime | None:
        """When the work closed; None while it is pending."""
        return None if self.pending else self.last.time

    @property
    def attempt(self) -> int:
        """The activity attempt that ran last (1 unless retried)."""
        attempts = [e.attributes.get("attempt", 1) for e in self.events if e.type == "ActivityTaskStarted"]
        return attempts[-1] if attempts else 1

    @property
    def duration(self) -> Span | None:
        return Span((self.end - self.start).total_seconds()) if self.end else None


def tone_of(state: str) -> str:
    """A colour family for a state word."""
    if state in ("Completed", "Fired", "Signaled"):
        return "ok"
    if state in ("Failed", "TimedOut", "Terminated", "StartFailed"):
        return "bad"
    if state in ("Canceled", "CancelRequested", "ContinuedAsNew"):
        return "warn"
    return "neutral"


def _state_of(type_name: str, kind: str) -> str:
    for prefix, _ in KIND_PREFIXES:
        if type_name.startswith(prefix) and type_name != prefix:
            rest = type_name.removeprefix(prefix)
            return "StartFailed" if prefix == "StartChildWorkflowExecution" and rest == "Failed" else rest
    return type_name


def kind_of(type_name: str) -> str:
    for prefix, kind in KIND_PREFIXES:
        if type_name.startswith(prefix):
            return kind
    return "other"


def _get(values: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(values, dict) or part not in values:
            return None
        values = values[part]
    return values


def short(value: Any, limit: int = 80) -> str:
    """A value on one line, cut to ``limit`` characters."""
    if isinstance(value, FailureView):
        text = f"{value.type}: {value.message}" if value.type else value.message
    elif isinstance(value, Encoded):
        text = f"[{value.encoding}] {value.size} bytes"
    elif isinstance(value, str):
        text = value
    elif isinstance(value, Span | datetime):
        text = str(value)
    elif isinstance(value, list) and len(value) == 1:  # a single argument or result
        return short(value[0], limit)
    else:
        text = json.dumps(value, ensure_ascii=False, default=lambda v: short(v, limit))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _summary(type_name: str, attributes: dict[str, Any]) -> list[tuple[str, str]]:
    keys = SUMMARY_KEYS.get(type_name)
    if keys is None:
        keys = tuple(k for k, v in attributes.items() if isinstance(v, str | int | float))[:3]
    out = []
    for key in keys:
        value = _get(attributes, key)
        if value not in (None, "", [], {}):
            out.append((key.split(".")[0], short(value)))
    return out


def event_view(event: HistoryEvent) -> EventView:
    """One event as an :class:`EventView`."""
    type_name = enum_name(EventType.DESCRIPTOR, event.event_type)
    which = event.WhichOneof("attributes")
    proto = getattr(event, which) if which else None
    attributes: dict[str, Any] = view(proto) if proto is not None else {}
    group_id = event.event_id
    if proto is not None:
        for link in GROUP_LINKS:
            if link in proto.DESCRIPTOR.fields_by_name and getattr(proto, link):
                group_id = getattr(proto, link)
                break
    failure = attributes.get("failure")
    return EventView(
        id=event.event_id,
        time=to_datetime(event.event_time),
        type=type_name,
        kind=kind_of(type_name),
        group_id=group_id,
        attributes=attributes,
        summary=_summary(type_name, attributes),
        fields=flat_fields(proto) if proto is not None else [],
        failure=failure if isinstance(failure, FailureView) else None,
    )


def _title(kind: str, opening: EventView) -> str:
    a = opening.attributes
    if kind == "activity":
        return f"{_get(a, 'activityType.name') or 'Activity'} · id {a.get('activityId', '?')}"
    if kind == "timer":
        return f"Timer {a.get('timerId', '')} ({a.get('startToFireTimeout', '')})"
    if kind == "child":
        return f"{_get(a, 'workflowType.name') or 'Child'} · {a.get('workflowId', '')}"
    if kind == "signal":
        return f"Signal {a.get('signalName', '')}".strip()
    if kind == "update":
        return f"Update {_get(a, 'acceptedRequest.input.name') or ''}".strip()
    if kind == "marker":
        return f"Marker {a.get('markerName', '')}".strip()
    if kind == "workflow-task":
        return "Workflow task"
    return opening.type


def group_events(events: list[EventView]) -> list[EventGroup]:
    """Events gathered by the work they belong to, ordered by each group's first event."""
    groups: dict[int, EventGroup] = {}
    for event in events:
        group = groups.get(event.group_id)
        if group is None:
            group = groups[event.id] = EventGroup(id=event.id, kind=event.kind, title=_title(event.kind, event))
        group.events.append(event)
    return list(groups.values())
