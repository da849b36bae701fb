"""The mutable state of one workflow run, split per entity.

Everything needed to decide what happens next to a run lives here, so that the history
engine never has to read its own history back on the hot path. The state is serialized
whole (see :mod:`gnomon.server.codec`) with every committed transition; the events the
transition appended are kept in ``pending_events`` until the commit takes them.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

from google.protobuf.message import Message
from temporalio.api.common.v1 import Memo, Payloads, SearchAttributes, WorkerVersionStamp
from temporalio.api.enums.v1 import EventType, WorkflowExecutionStatus
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent, WorkflowExecutionStartedEventAttributes
from temporalio.api.sdk.v1 import EventGroupMarker, UserMetadata
from temporalio.api.workflow.v1 import ResetPoints

from gnomon.server.protoutil import timestamp

RUNNING = WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING


@dataclass
class WorkflowTaskInfo:
    """The run's one pending workflow task (scheduled, maybe started)."""

    scheduled_event_id: int
    attempt: int
    task_queue: str
    sticky: bool
    timeout: float  # start-to-close, seconds
    scheduled_time: float
    started_event_id: int = 0
    started_time: float = 0.0
    request_id: str = ""
    identity: str = ""
    # Attempts after the first are transient: their scheduled/started events are written
    # to history only if the attempt completes (Temporal does not log every retry).
    sticky_timeout: float = 0.0
    # Speculative: scheduled only to deliver updates; vanishes if they are all rejected.
    speculative: bool = False
    # What its started event told the worker: the history size then, and why (if at all)
    # the server suggests continue-as-new. Kept so a transient attempt's event, written
    # later, says what the worker saw.
    history_size_bytes: int = 0
    suggest_continue_as_new_reasons: list[int] = field(default_factory=list)
    # The build of the worker that took it (see versioning.py).
    worker_version: WorkerVersionStamp | None = None

    @property
    def started(self) -> bool:
        return self.started_event_id != 0

    @property
    def transient(self) -> bool:
        """Whether its scheduled/started events are not written yet (a retry, or speculative)."""
        return self.attempt > 1 or self.speculative


@dataclass
class ActivityInfo:
    """A scheduled activity and the progress of its current attempt."""

    scheduled_event_id: int
    activity_id: str
    scheduled_event: HistoryEvent
    task_queue: str
    first_scheduled_time: float
    scheduled_time: float  # of the current attempt (after any retry backoff)
    schedule_to_start: float
    start_to_close: float
    schedule_to_close: float
    heartbeat_timeout: float
    attempt: int = 1
    started_time: float = 0.0
    started_identity: str = ""
    request_id: str = ""
    cancel_requested: bool = False
    cancel_requested_event_id: int = 0
    heartbeat_details: Payloads | None = None
    last_heartbeat_time: float = 0.0
    last_failure: Failure | None = None
    # What DescribeWorkflowExecution shows of the previous attempt and the wait before the next.
    last_worker_identity: str = ""
    last_attempt_complete_time: float = 0.0
    retry_interval: float = 0.0

    @property
    def started(self) -> bool:
        return self.started_time != 0.0


@dataclass
class TimerInfo:
    """A user timer started by the workflow."""

    timer_id: str
    started_event_id: int
    fire_time: float


@dataclass
class ChildInfo:
    """A child workflow initiated by this run."""

    initiated_event_id: int
    namespace: str
    namespace_id: str
    workflow_id: str
    workflow_type: str
    create_request_id: str
    parent_close_policy: int
    initiated_event: HistoryEvent
    run_id: str = ""
    started_event_id: int = 0


@dataclass
class ExternalRequestInfo:
    """A signal or cancel request this run sends to another workflow."""

    initiated_event_id: int
    request_id: str
    initiated_event: HistoryEvent


@dataclass
class UpdateRecord:
    """An update the workflow accepted: where its events are in history."""

    accepted_event_id: int
    completed_event_id: int = 0


@dataclass
class ParentInfo:
    """Where to report this run's close, if it is a child."""

    namespace_id: str
    namespace: str
    workflow_id: str
    run_id: str
    initiated_event_id: int


@dataclass
class MutableState:
    """All of one run's state that is not history."""

    namespace_id: str
    namespace: str
    workflow_id: str
    run_id: str
    workflow_type: str
    task_queue: str
    start_request_id: str
    started: WorkflowExecutionStartedEventAttributes
    start_time: float
    execution_time: float  # start time plus any first workflow task backoff
    status: int = RUNNING
    close_time: float | None = None
    close_event_id: int = 0
    next_event_id: int = 1
    db_version: int = 0
    # The started event id of the last completed workflow task: the worker's replay point.
    last_completed_started_event_id: int = 0
    workflow_task: WorkflowTaskInfo | None = None
    # The first workflow task waits for a start delay (or cron/retry backoff) until then.
    first_task_backoff_until: float = 0.0
    run_expiration_time: float = 0.0
    execution_expiration_time: float = 0.0
    activities: dict[int, ActivityInfo] = field(default_factory=dict)
    timers: dict[str, TimerInfo] = field(default_factory=dict)
    children: dict[int, ChildInfo] = field(default_factory=dict)
    signals_out: dict[int, ExternalRequestInfo] = field(default_factory=dict)
    cancels_out: dict[int, ExternalRequestInfo] = field(default_factory=dict)
    buffered_events: list[HistoryEvent] = field(default_factory=list)
    sticky_task_queue: str = ""
    sticky_timeout: float = 0.0
    memo: Memo = field(default_factory=Memo)
    search_attributes: SearchAttributes = field(default_factory=SearchAttributes)
    cancel_requested: bool = False
    cancel_request_id: str = ""
    signal_request_ids: list[str] = field(default_factory=list)
    parent: ParentInfo | None = None
    parent_notified: bool = False
    # The closed run's parent close policy has been applied to its children.
    parent_close_policy_applied: bool = False
    result_run_id: str = ""  # the run a continue-as-new or retry handed over to
    history_size_bytes: int = 0
    # Where a reset could restart this run: the first task completed by each worker build.
    auto_reset_points: ResetPoints = field(default_factory=ResetPoints)
    updates: dict[str, UpdateRecord] = field(default_factory=dict)
    # The BuildIds search attribute: builds of the workers that completed its tasks.
    build_ids: list[str] = field(default_factory=list)
    # The start's summary and details (on the started event; DescribeWorkflowExecution shows them).
    user_metadata: UserMetadata | None = None
    # The build and deployment of the worker that completed the last workflow task (describe shows them).
    most_recent_worker_version_stamp: WorkerVersionStamp | None = None
    worker_deployment_name: str = ""
    # Events appended since the last commit; never serialized.
    pending_events: list[HistoryEvent] = field(default_factory=list, metadata={"transient": True})
    # Whether this transition changed what list queries show (start, close, upserts).
    visibility_changed: bool = field(default=False, metadata={"transient": True})
    # The status as last committed (None: not known since loading).
    committed_status: int | None = field(default=None, metadata={"transient": True})

    @property
    def is_open(self) -> bool:
        return self.status == RUNNING

    @property
    def last_committed_event_id(self) -> int:
        """The last event id in the stored history (a deferred transition's events are still pending)."""
        return self.next_event_id - 1 - len(self.pending_events)

    def visible_search_attributes(self) -> SearchAttributes:
        """The search attributes lists and describe show: the workflow's own, plus BuildIds."""
        if not self.build_ids:
            return self.search_attributes
        shown = SearchAttributes()
        shown.CopyFrom(self.search_attributes)
        value = shown.indexed_fields["BuildIds"]
        value.metadata["encoding"] = b"json/plain"
        value.metadata["type"] = b"KeywordList"
        value.data = json.dumps(self.build_ids).encode()
        return shown

    @property
    def workflow_task_in_flight(self) -> bool:
        return self.workflow_task is not None and self.workflow_task.started

    # -- events ------------------------------------------------------------------------

    def new_event(self, attributes: Message, *, now: float | None = None) -> HistoryEvent:
        """A history event carrying ``attributes``, without an id yet."""
        event = HistoryEvent(
            event_type=event_type_of(attributes), event_time=timestamp(now if now is not None else time.time())
        )
        getattr(event, attributes_field_of(attributes)).CopyFrom(attributes)
        return event

    def add_event(self, attributes: Message, *, now: float | None = None) -> HistoryEvent:
        """Append an event to history now, giving it the next event id."""
        event = self.new_event(attributes, now=now)
        self._append(event)
        return event

    def annotate_event(
        self,
        event: HistoryEvent,
        *,
        user_metadata: UserMetadata | None = None,
        event_group_markers: Iterable[EventGroupMarker] = (),
    ) -> None:
        """Give an event this transition appended the summary, details and event groups it was made with."""
        before = event.ByteSize()
        if user_metadata is not None:
            event.user_metadata.CopyFrom(user_metadata)
        event.event_group_markers.extend(event_group_markers)
        self.history_size_bytes += event.ByteSize() - before

    def _append(self, event: HistoryEvent) -> None:
        event.event_id = self.next_event_id
        event.task_id = _next_task_id()
        self.next_event_id += 1
        self.history_size_bytes += event.ByteSize()
        self.pending_events.append(event)

    def add_or_buffer_event(self, attributes: Message, *, now: float | None = None) -> HistoryEvent:
        """Append the event, or buffer it while a workflow task is in flight.

        A worker running a workflow task has been given history up to its started event;
        events arriving meanwhile are written after that task completes, so the worker's
        view and the history agree.
        """
        wft = self.workflow_task
        # A scheduled transient attempt owns the next event ids too (see workflow_task.py).
        if wft is not None and (wft.started or wft.transient):
            event = self.new_event(attributes, now=now)
            self.buffered_events.append(event)
            return event
        return self.add_event(attributes, now=now)

    def flush_buffered_events(self) -> list[HistoryEvent]:
        """Write the buffered events, completions last, fixing the ids they refer to."""
        if not self.buffered_events:
            return []
        events = [e for e in self.buffered_events if e.event_type not in _COMPLETION_EVENTS]
        events += [e for e in self.buffered_events if e.event_type in _COMPLETION_EVENTS]
        self.buffered_events = []
        activity_started: dict[int, int] = {}
        child_started: dict[int, int] = {}
        for event in events:
            self._append(event)
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                activity_started[event.activity_task_started_event_attributes.scheduled_event_id] = event.event_id
            elif event.event_type == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
                initiated = event.child_workflow_execution_started_event_attributes.initiated_event_id
                child_started[initiated] = event.event_id
                if initiated in self.children:
                    self.children[initiated].started_event_id = event.event_id
            elif event.event_type in ACTIVITY_CLOSE_EVENTS:
                attrs = getattr(event, attributes_field_of_type(event.event_type))
                if attrs.scheduled_event_id in activity_started:
                    attrs.started_event_id = activity_started[attrs.scheduled_event_id]
            elif event.event_type in _COMPLETION_EVENTS:
                attrs = getattr(event, attributes_field_of_type(event.event_type))
                if attrs.initiated_event_id in child_started:
                    attrs.started_event_id = child_started[attrs.initiated_event_id]
        return events

    def take_pending_events(self) -> list[HistoryEvent]:
        events, self.pending_events = self.pending_events, []
        return events


_COMPLETION_EVENTS = frozenset(
    {
        EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
        EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
        EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
        EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED,
        EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED,
        EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
        EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED,
    }
)
ACTIVITY_CLOSE_EVENTS = frozenset(
    {
        EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
        EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
    }
)

_task_id = [int(time.time() * 1000) << 10]


def _next_task_id() -> int:
    _task_id[0] += 1
    return _task_id[0]


@cache
def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@cache
def _event_type_for_class(cls_name: str) -> EventType.ValueType:
    base = cls_name.removesuffix("EventAttributes")
    return EventType.Value("EVENT_TYPE_" + _snake(base).upper())


def event_type_of(attributes: Message) -> EventType.ValueType:
    """The EventType whose attributes message ``attributes`` is."""
    return _event_type_for_class(type(attributes).__name__)


def attributes_field_of(attributes: Message) -> str:
    """The HistoryEvent oneof field that holds ``attributes``."""
    return _attributes_field_for_class(type(attributes).__name__)


@cache
def _attributes_field_for_class(cls_name: str) -> str:
    return _snake(cls_name).replace("_event_attributes", "") + "_event_attributes"


@cache
def attributes_field_of_type(event_type: int) -> str:
    """The HistoryEvent oneof field for an event type."""
    return EventType.Name(EventType.ValueType(event_type)).removeprefix("EVENT_TYPE_").lower() + "_event_attributes"
