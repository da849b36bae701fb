"""The commands a workflow task completion carries, each turned into history events.

Every command has a ``validate`` step (pure: raises :class:`CommandError`, changes
nothing) and an ``apply`` step. All commands are validated before any is applied, so a
bad command fails the workflow task without leaving half of the others in history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from google.protobuf.message import Message
from temporalio.api.command.v1 import (
    CancelTimerCommandAttributes,
    CancelWorkflowExecutionCommandAttributes,
    Command,
    CompleteWorkflowExecutionCommandAttributes,
    ContinueAsNewWorkflowExecutionCommandAttributes,
    FailWorkflowExecutionCommandAttributes,
    ModifyWorkflowPropertiesCommandAttributes,
    ProtocolMessageCommandAttributes,
    RecordMarkerCommandAttributes,
    RequestCancelActivityTaskCommandAttributes,
    RequestCancelExternalWorkflowExecutionCommandAttributes,
    ScheduleActivityTaskCommandAttributes,
    SignalExternalWorkflowExecutionCommandAttributes,
    StartChildWorkflowExecutionCommandAttributes,
    StartTimerCommandAttributes,
    UpsertWorkflowSearchAttributesCommandAttributes,
)
from temporalio.api.common.v1 import Payload, Payloads, SearchAttributes, WorkflowExecution
from temporalio.api.enums.v1 import (
    CommandType,
    ContinueAsNewInitiator,
    ParentClosePolicy,
    TaskQueueKind,
    WorkflowExecutionStatus,
    WorkflowTaskFailedCause,
)
from temporalio.api.history.v1 import (
    ActivityTaskCanceledEventAttributes,
    ActivityTaskCancelRequestedEventAttributes,
    ActivityTaskScheduledEventAttributes,
    HistoryEvent,
    MarkerRecordedEventAttributes,
    RequestCancelExternalWorkflowExecutionInitiatedEventAttributes,
    SignalExternalWorkflowExecutionInitiatedEventAttributes,
    StartChildWorkflowExecutionInitiatedEventAttributes,
    TimerCanceledEventAttributes,
    TimerStartedEventAttributes,
    UpsertWorkflowSearchAttributesEventAttributes,
    WorkflowExecutionCanceledEventAttributes,
    WorkflowExecutionCompletedEventAttributes,
    WorkflowExecutionContinuedAsNewEventAttributes,
    WorkflowExecutionFailedEventAttributes,
    WorkflowExecutionStartedEventAttributes,
    WorkflowPropertiesModifiedEventAttributes,
)
from temporalio.api.taskqueue.v1 import TaskQueue

from gnomon.server.errors import InvalidArgumentError, NotFoundError
from gnomon.server.history import retry
from gnomon.server.history.engine import HistoryEngine, Transition
from gnomon.server.history.mutable_state import (
    ACTIVITY_CLOSE_EVENTS,
    ActivityInfo,
    ChildInfo,
    ExternalRequestInfo,
    MutableState,
    TimerInfo,
    attributes_field_of_type,
)
from gnomon.server.history.runs import close_run
from gnomon.server.history.successor import append_successor, cron_backoff, retry_or_cron, start_successor
from gnomon.server.history.updates import MessageProcessor
from gnomon.server.history.workflow_task import DEFAULT_WORKFLOW_TASK_TIMEOUT
from gnomon.server.ids import new_id
from gnomon.server.protoutil import MAX_DURATION_SECONDS, capped, copy_fields, duration, duration_problem, seconds

Cause = WorkflowTaskFailedCause
CONTINUE_AS_NEW_MIN_INTERVAL = 1.0


class CommandError(Exception):
    """A command the server cannot carry out: the workflow task fails with ``cause``.

    ``message`` is what the worker is told and the failure records: like the reference's, it
    opens with the cause's short name ("BadStartTimerAttributes: ...").
    """

    def __init__(self, cause: int, message: str) -> None:
        self.cause = cause
        self.message = f"{cause_name(cause)}: {message}"
        super().__init__(self.message)


def cause_name(cause: int) -> str:
    """A workflow task failed cause as the reference spells it in messages (``UnhandledCommand``)."""
    name = WorkflowTaskFailedCause.Name(WorkflowTaskFailedCause.ValueType(cause))
    words = name.removeprefix("WORKFLOW_TASK_FAILED_CAUSE_").split("_")
    return "".join(word.capitalize() for word in words)


@dataclass
class CommandContext:
    """What command handlers share while one completion is applied."""

    engine: HistoryEngine
    tx: Transition
    completed_event_id: int
    identity: str
    new_workflow_task: bool = False
    closed: bool = False
    # The completion's protocol messages (update acceptances, responses, rejections).
    messages: MessageProcessor | None = None
    # Activity ids and timer ids claimed by commands earlier in this same completion.
    activity_ids: set[str] = field(default_factory=set)
    timer_ids: set[str] = field(default_factory=set)

    @property
    def ms(self) -> MutableState:
        return self.tx.ms


@dataclass(frozen=True)
class Handler:
    """How one command type is checked and applied (each takes its own attributes type)."""

    validate: Callable[[CommandContext, Any], None]
    # Returns the event the command produced (it gets the command's user metadata), if any.
    apply: Callable[[CommandContext, Any], HistoryEvent | None]
    # How the workflow task fails when the command's attributes are wrong (or of another command).
    cause: int


@cache
def _attributes_field(command_type: CommandType.ValueType) -> str:
    """The Command oneof field a command type carries its attributes in (by the protocol's naming)."""
    return CommandType.Name(command_type).removeprefix("COMMAND_TYPE_").lower() + "_command_attributes"


@cache
def _attributes_type_name(field_name: str) -> str:
    message_type = Command.DESCRIPTOR.fields_by_name[field_name].message_type
    assert message_type is not None  # every attributes field is a message
    return str(message_type.name)


def attributes_of(command: Command, handler: Handler) -> Message:
    """The command's attributes; CommandError if it carries another command's, or none."""
    name = _attributes_field(command.command_type)
    if command.WhichOneof("attributes") != name:
        attributes = _attributes_type_name(name)
        raise CommandError(handler.cause, f"{attributes} is not set on {attributes.removesuffix('Attributes')}.")
    return getattr(command, name)


def validate_commands(cc: CommandContext, commands: list[Command]) -> None:
    """Check every command before any is applied.

    A command type the protocol does not define is INVALID_ARGUMENT for the whole request,
    which changes nothing (the same task can still be completed), as on the reference; every
    other problem is a CommandError that fails the workflow task.
    """
    for command in commands:
        if command.command_type not in _COMMAND_TYPES:
            raise InvalidArgumentError(f"Unknown command type: {command.command_type}")
    closing = 0
    for command in commands:
        handler = HANDLERS.get(command.command_type)
        if handler is None:
            raise CommandError(
                Cause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND,
                f"Unknown or unsupported command type: {CommandType.Name(command.command_type)}.",
            )
        if command.command_type in CLOSE_COMMANDS:
            closing += 1
        elif closing:
            raise CommandError(
                Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_COMPLETE_WORKFLOW_EXECUTION_ATTRIBUTES,
                "A command follows the command that closes the workflow.",
            )
        handler.validate(cc, attributes_of(command, handler))


def apply_commands(cc: CommandContext, commands: list[Command]) -> None:
    for command in commands:
        event = HANDLERS[command.command_type].apply(cc, attributes_of(command, HANDLERS[command.command_type]))
        # Like the reference: a command's summary, details and event groups go on the event it produced.
        if event is not None and (command.HasField("user_metadata") or command.event_group_markers):
            cc.ms.annotate_event(
                event,
                user_metadata=command.user_metadata if command.HasField("user_metadata") else None,
                event_group_markers=command.event_group_markers,
            )


# -- activities ------------------------------------------------------------------------------


_ACTIVITY_TIMEOUTS = (
    "schedule_to_close_timeout",
    "schedule_to_start_timeout",
    "start_to_close_timeout",
    "heartbeat_timeout",
)


def _check_durations(cause: int, attrs: Message, names: tuple[str, ...]) -> None:
    """CommandError for a negative (or mixed-sign) duration among ``names`` (longer ones are capped later)."""
    for name in names:
        problem = duration_problem(getattr(attrs, name))
        if problem is not None:
            what = "".join(part.title() for part in name.split("_"))
            command = type(attrs).__name__.removesuffix("Attributes")
            raise CommandError(cause, f"An invalid {what} is set on {command}: {problem}.")


def _check_retry_policy(cause: int, attrs: Message) -> None:
    if attrs.HasField("retry_policy"):
        problem = retry.problem(attrs.retry_policy)  # type: ignore[attr-defined]
        if problem is not None:
            raise CommandError(cause, problem)


def _activity_timeouts(ms: MutableState, a: ScheduleActivityTaskCommandAttributes) -> tuple[float, float, float, float]:
    """schedule-to-close, schedule-to-start, start-to-close, heartbeat, as Temporal derives them."""
    run_timeout = seconds(ms.started.workflow_run_timeout)
    # Each capped at 100 years, as the reference caps them.
    s2c, s2s, st2c, hb = (seconds(capped(getattr(a, name))) for name in _ACTIVITY_TIMEOUTS)
    if run_timeout:
        s2c = min(s2c, run_timeout) if s2c else run_timeout
        s2s = min(s2s, run_timeout) if s2s else 0
        st2c = min(st2c, run_timeout) if st2c else 0
    if s2c:
        s2s = min(s2s, s2c) if s2s else s2c
        st2c = min(st2c, s2c) if st2c else s2c
    elif st2c:
        s2c = run_timeout
        s2s = s2s or s2c
    else:
        raise CommandError(
            Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES,
            "A valid StartToClose or ScheduleToCloseTimeout is not set on ScheduleActivityTaskCommand.",
        )
    hb = min(hb, st2c) if hb else 0
    return s2c, s2s, st2c, hb


def _validate_schedule_activity(cc: CommandContext, a: ScheduleActivityTaskCommandAttributes) -> None:
    bad = Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES
    if not a.activity_id:
        raise CommandError(bad, "ActivityId is not set on ScheduleActivityTaskCommand.")
    if not a.activity_type.name:
        raise CommandError(bad, "ActivityType is not set on ScheduleActivityTaskCommand.")
    activity_id = a.activity_id
    if activity_id in cc.activity_ids or any(i.activity_id == activity_id for i in cc.ms.activities.values()):
        raise CommandError(bad, f"Activity ID {activity_id!r} is already in use by a pending activity.")
    cc.activity_ids.add(activity_id)
    _check_durations(bad, a, _ACTIVITY_TIMEOUTS)
    _check_retry_policy(bad, a)
    _activity_timeouts(cc.ms, a)


def _apply_schedule_activity(cc: CommandContext, a: ScheduleActivityTaskCommandAttributes) -> HistoryEvent | None:
    ms = cc.ms
    s2c, s2s, st2c, hb = _activity_timeouts(ms, a)
    queue_name = a.task_queue.name or ms.task_queue
    attrs = ActivityTaskScheduledEventAttributes(
        activity_id=a.activity_id,
        activity_type=a.activity_type,
        task_queue=TaskQueue(name=queue_name, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
        schedule_to_close_timeout=duration(s2c),
        schedule_to_start_timeout=duration(s2s),
        start_to_close_timeout=duration(st2c),
        heartbeat_timeout=duration(hb),
        workflow_task_completed_event_id=cc.completed_event_id,
        retry_policy=retry.with_defaults(a.retry_policy if a.HasField("retry_policy") else None),
        use_workflow_build_id=a.use_workflow_build_id,
    )
    copy_fields(attrs, a, "header", "input", "priority")
    event = ms.add_event(attrs)
    now = cc.engine.now()
    ms.activities[event.event_id] = ActivityInfo(
        scheduled_event_id=event.event_id,
        activity_id=attrs.activity_id,
        scheduled_event=event,
        task_queue=queue_name,
        first_scheduled_time=now,
        scheduled_time=now,
        schedule_to_start=s2s,
        start_to_close=st2c,
        schedule_to_close=s2c,
        heartbeat_timeout=hb,
    )
    return event


def _finished_while_task_ran(ms: MutableState, scheduled_event_id: int) -> bool:
    """Whether the activity's outcome arrived while this workflow task ran (it waits, buffered)."""
    return any(
        event.event_type in ACTIVITY_CLOSE_EVENTS
        and getattr(event, attributes_field_of_type(event.event_type)).scheduled_event_id == scheduled_event_id
        for event in ms.buffered_events
    )


def _validate_cancel_activity(cc: CommandContext, a: RequestCancelActivityTaskCommandAttributes) -> None:
    # As on the reference, cancelling an activity that has just finished is recorded: the
    # request, then its outcome (which the workflow sees next).
    if a.scheduled_event_id not in cc.ms.activities and not _finished_while_task_ran(cc.ms, a.scheduled_event_id):
        raise CommandError(
            Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES,
            f"Activity with scheduled event id {a.scheduled_event_id} is not pending.",
        )


def _apply_cancel_activity(cc: CommandContext, a: RequestCancelActivityTaskCommandAttributes) -> HistoryEvent | None:
    ms = cc.ms
    info = ms.activities.get(a.scheduled_event_id)
    if info is None:  # it finished while the task ran
        return ms.add_event(
            ActivityTaskCancelRequestedEventAttributes(
                scheduled_event_id=a.scheduled_event_id, workflow_task_completed_event_id=cc.completed_event_id
            )
        )
    requested = ms.add_event(
        ActivityTaskCancelRequestedEventAttributes(
            scheduled_event_id=info.scheduled_event_id, workflow_task_completed_event_id=cc.completed_event_id
        )
    )
    if info.started:
        # The worker learns of it through its next heartbeat response.
        info.cancel_requested = True
        info.cancel_requested_event_id = requested.event_id
        return requested
    # Not started: it is canceled at once. Like any event that is not a command's own, the
    # reference writes it after this completion's command events.
    canceled = ActivityTaskCanceledEventAttributes(
        scheduled_event_id=info.scheduled_event_id,
        latest_cancel_requested_event_id=requested.event_id,
        identity=cc.identity,
        details=Payloads(payloads=[Payload(metadata={"encoding": b"json/plain"}, data=b'"ACTIVITY_ID_NOT_STARTED"')]),
    )
    ms.buffered_events.append(ms.new_event(canceled))
    del ms.activities[info.scheduled_event_id]
    cc.new_workflow_task = True
    return requested


# -- timers ----------------------------------------------------------------------------------


def _validate_start_timer(cc: CommandContext, a: StartTimerCommandAttributes) -> None:
    bad = Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_TIMER_ATTRIBUTES
    timer_id = a.timer_id
    if not timer_id:
        raise CommandError(bad, "TimerId is not set on StartTimerCommand.")
    if timer_id in cc.ms.timers or timer_id in cc.timer_ids:
        raise CommandError(bad, f"Timer ID {timer_id!r} is already in use by a pending timer.")
    # Zero (or unset) is valid: the timer fires at once.
    problem = duration_problem(a.start_to_fire_timeout)
    if problem:
        raise CommandError(
            bad, f"An invalid StartToFireTimeout is set on StartTimerCommand: {problem}. TimerId={timer_id}"
        )
    cc.timer_ids.add(timer_id)


def _apply_start_timer(cc: CommandContext, a: StartTimerCommandAttributes) -> HistoryEvent | None:
    ms = cc.ms
    now = cc.engine.now()
    attrs = TimerStartedEventAttributes(timer_id=a.timer_id, workflow_task_completed_event_id=cc.completed_event_id)
    if a.HasField("start_to_fire_timeout"):
        attrs.start_to_fire_timeout.CopyFrom(capped(a.start_to_fire_timeout))
    event = ms.add_event(attrs, now=now)
    fire = now + seconds(attrs.start_to_fire_timeout)
    ms.timers[a.timer_id] = TimerInfo(timer_id=a.timer_id, started_event_id=event.event_id, fire_time=fire)
    return event


def _validate_cancel_timer(cc: CommandContext, a: CancelTimerCommandAttributes) -> None:
    if a.timer_id not in cc.ms.timers:
        raise CommandError(
            Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_CANCEL_TIMER_ATTRIBUTES,
            f"Timer ID {a.timer_id!r} is not pending.",
        )


def _apply_cancel_timer(cc: CommandContext, a: CancelTimerCommandAttributes) -> HistoryEvent | None:
    info = cc.ms.timers.pop(a.timer_id)
    return cc.ms.add_event(
        TimerCanceledEventAttributes(
            timer_id=info.timer_id,
            started_event_id=info.started_event_id,
            workflow_task_completed_event_id=cc.completed_event_id,
            identity=cc.identity,
        )
    )


# -- closing the workflow --------------------------------------------------------------------

CLOSE_COMMANDS = frozenset(
    {
        CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
        CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION,
        CommandType.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION,
        CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
    }
)


def _no_validation(cc: CommandContext, a: Any) -> None:
    del cc, a


def _close(cc: CommandContext, attrs: Message, status: int) -> HistoryEvent:
    now = cc.engine.now()
    event = cc.ms.add_event(attrs, now=now)
    close_run(cc.ms, status, now)
    cc.closed = True
    return event


def _apply_complete(cc: CommandContext, a: CompleteWorkflowExecutionCommandAttributes) -> HistoryEvent | None:
    attrs = WorkflowExecutionCompletedEventAttributes(workflow_task_completed_event_id=cc.completed_event_id)
    copy_fields(attrs, a, "result")
    backoff = cron_backoff(cc.engine, cc.ms)
    if backoff is not None:
        result = a.result if a.HasField("result") else None
        attrs.new_execution_run_id = start_successor(
            cc.engine,
            cc.tx,
            initiator=ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE,
            backoff=backoff,
            last_completion_result=result,
        )
    return _close(cc, attrs, WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED)


def _apply_fail(cc: CommandContext, a: FailWorkflowExecutionCommandAttributes) -> HistoryEvent | None:
    failure = a.failure if a.HasField("failure") else None
    attrs = WorkflowExecutionFailedEventAttributes(workflow_task_completed_event_id=cc.completed_event_id)
    copy_fields(attrs, a, "failure")
    state, successor = retry_or_cron(cc.engine, cc.tx, failure)
    attrs.retry_state = state  # type: ignore[assignment]
    attrs.new_execution_run_id = successor
    return _close(cc, attrs, WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED)


def _apply_cancel(cc: CommandContext, a: CancelWorkflowExecutionCommandAttributes) -> HistoryEvent | None:
    attrs = WorkflowExecutionCanceledEventAttributes(workflow_task_completed_event_id=cc.completed_event_id)
    copy_fields(attrs, a, "details")
    return _close(cc, attrs, WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CANCELED)


def _validate_continue_as_new(cc: CommandContext, a: ContinueAsNewWorkflowExecutionCommandAttributes) -> None:
    bad = Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_CONTINUE_AS_NEW_ATTRIBUTES
    _check_durations(bad, a, ("workflow_run_timeout", "workflow_task_timeout", "backoff_start_interval"))
    _check_retry_policy(bad, a)
    if a.HasField("search_attributes"):
        _check_search_attributes(cc, Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES, a.search_attributes)


def _apply_continue_as_new(
    cc: CommandContext, a: ContinueAsNewWorkflowExecutionCommandAttributes
) -> HistoryEvent | None:
    ms = cc.ms
    new_run_id = new_id()
    workflow_type = a.workflow_type if a.workflow_type.name else ms.started.workflow_type
    queue = TaskQueue(name=a.task_queue.name or ms.task_queue, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL)
    run_timeout = capped(a.workflow_run_timeout) if seconds(a.workflow_run_timeout) else ms.started.workflow_run_timeout
    task_timeout = (
        capped(a.workflow_task_timeout) if seconds(a.workflow_task_timeout) else ms.started.workflow_task_timeout
    )
    initiator = a.initiator or ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_WORKFLOW
    closed = WorkflowExecutionContinuedAsNewEventAttributes(
        new_execution_run_id=new_run_id,
        workflow_type=workflow_type,
        task_queue=queue,
        workflow_run_timeout=run_timeout,
        workflow_task_timeout=task_timeout,
        workflow_task_completed_event_id=cc.completed_event_id,
        initiator=a.initiator,
        inherit_build_id=a.inherit_build_id,
    )
    copy_fields(closed, a, "input", "header", "memo", "search_attributes", "backoff_start_interval")
    # Memo and search attributes carry over unless the command replaces them.
    if not a.HasField("memo") and ms.memo.fields:
        closed.memo.CopyFrom(ms.memo)
    if not a.HasField("search_attributes") and ms.search_attributes.indexed_fields:
        closed.search_attributes.CopyFrom(ms.search_attributes)
    event = _close(cc, closed, WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW)
    started = WorkflowExecutionStartedEventAttributes(
        workflow_type=workflow_type,
        task_queue=queue,
        workflow_run_timeout=run_timeout,
        workflow_task_timeout=task_timeout,
        continued_execution_run_id=ms.run_id,
        initiator=initiator,
        first_execution_run_id=ms.started.first_execution_run_id,
        attempt=1,
        cron_schedule=ms.started.cron_schedule,
        prev_auto_reset_points=ms.auto_reset_points,
    )
    copy_fields(started, closed, "input", "header", "memo", "search_attributes")
    copy_fields(started, ms.started, "workflow_execution_timeout", "retry_policy")
    copy_fields(started, a, "retry_policy")
    copy_fields(
        started, ms.started, "parent_workflow_namespace", "parent_workflow_namespace_id",
        "parent_workflow_execution", "parent_initiated_event_id", "root_workflow_execution",
    )  # fmt: skip
    # Like the reference, a run that continues as new quickly waits until a minimum
    # interval has passed since it started, so a loop cannot spin.
    minimum = CONTINUE_AS_NEW_MIN_INTERVAL - (cc.engine.now() - ms.start_time)
    backoff = max(seconds(capped(a.backoff_start_interval)), minimum)
    append_successor(cc.engine, cc.tx, started, backoff, run_id=new_run_id)
    return event


# -- markers, search attributes, memo --------------------------------------------------------


def _validate_marker(cc: CommandContext, a: RecordMarkerCommandAttributes) -> None:
    if not a.marker_name:
        raise CommandError(
            Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_RECORD_MARKER_ATTRIBUTES,
            "MarkerName is not set on RecordMarkerCommand.",
        )


def _apply_marker(cc: CommandContext, a: RecordMarkerCommandAttributes) -> HistoryEvent | None:
    attrs = MarkerRecordedEventAttributes(workflow_task_completed_event_id=cc.completed_event_id)
    copy_fields(attrs, a, "marker_name", "details", "header", "failure")
    return cc.ms.add_event(attrs)


def _validate_upsert_search_attributes(cc: CommandContext, a: UpsertWorkflowSearchAttributesCommandAttributes) -> None:
    if not a.search_attributes.indexed_fields:
        raise CommandError(
            Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES,
            "SearchAttributes are not set on UpsertWorkflowSearchAttributesCommand.",
        )
    _check_search_attributes(cc, Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES, a.search_attributes)


def _check_search_attributes(cc: CommandContext, cause: int, attributes: SearchAttributes) -> None:
    """CommandError for attributes the run may not set (undefined, of the wrong type, too large)."""
    try:
        cc.engine.validate_search_attributes(cc.ms.namespace_id, attributes, cc.ms.namespace)
    except InvalidArgumentError as error:
        raise CommandError(cause, error.message) from None


def _apply_upsert_search_attributes(
    cc: CommandContext, a: UpsertWorkflowSearchAttributesCommandAttributes
) -> HistoryEvent | None:
    cc.engine.annotate_search_attributes(cc.ms.namespace_id, a.search_attributes)
    event = cc.ms.add_event(
        UpsertWorkflowSearchAttributesEventAttributes(
            workflow_task_completed_event_id=cc.completed_event_id,
            search_attributes=a.search_attributes,
        )
    )
    cc.ms.visibility_changed = True
    fields = cc.ms.search_attributes.indexed_fields
    for key, payload in a.search_attributes.indexed_fields.items():
        if payload.data in (b"", b"null") or payload.data == b"[]":
            fields.pop(key, None)  # an empty value removes the attribute
        else:
            fields[key].CopyFrom(payload)
    return event


def _apply_modify_properties(cc: CommandContext, a: ModifyWorkflowPropertiesCommandAttributes) -> HistoryEvent | None:
    event = cc.ms.add_event(
        WorkflowPropertiesModifiedEventAttributes(
            workflow_task_completed_event_id=cc.completed_event_id,
            upserted_memo=a.upserted_memo,
        )
    )
    cc.ms.visibility_changed = True
    fields = cc.ms.memo.fields
    for key, payload in a.upserted_memo.fields.items():
        if payload.data in (b"", b"null"):
            fields.pop(key, None)
        else:
            fields[key].CopyFrom(payload)
    return event


# -- children and other workflows ------------------------------------------------------------


def _target_namespace(cc: CommandContext, name: str, cause: int) -> tuple[str, str]:
    if not name or name == cc.ms.namespace:
        return cc.ms.namespace, cc.ms.namespace_id
    try:
        return name, cc.engine.namespaces.id_of(name)
    except NotFoundError:
        raise CommandError(cause, f"Namespace {name} is not found.") from None


def _validate_start_child(cc: CommandContext, a: StartChildWorkflowExecutionCommandAttributes) -> None:
    bad = Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_CHILD_EXECUTION_ATTRIBUTES
    if not a.workflow_id:
        raise CommandError(bad, "WorkflowId is not set on StartChildWorkflowExecutionCommand.")
    if not a.workflow_type.name:
        raise CommandError(bad, "WorkflowType is not set on StartChildWorkflowExecutionCommand.")
    _check_durations(bad, a, ("workflow_execution_timeout", "workflow_run_timeout", "workflow_task_timeout"))
    _check_retry_policy(bad, a)
    _target_namespace(cc, a.namespace, bad)
    if a.HasField("search_attributes") and (not a.namespace or a.namespace == cc.ms.namespace):
        _check_search_attributes(cc, Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES, a.search_attributes)


def _apply_start_child(cc: CommandContext, a: StartChildWorkflowExecutionCommandAttributes) -> HistoryEvent | None:
    ms = cc.ms
    namespace, namespace_id = _target_namespace(
        cc,
        a.namespace,
        Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_CHILD_EXECUTION_ATTRIBUTES,
    )
    attrs = StartChildWorkflowExecutionInitiatedEventAttributes(
        namespace=namespace,
        namespace_id=namespace_id,
        task_queue=TaskQueue(name=a.task_queue.name or ms.task_queue, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
        parent_close_policy=a.parent_close_policy or ParentClosePolicy.PARENT_CLOSE_POLICY_TERMINATE,
        workflow_task_completed_event_id=cc.completed_event_id,
    )
    copy_fields(
        attrs, a, "workflow_id", "workflow_type", "input", "workflow_execution_timeout", "workflow_run_timeout",
        "workflow_task_timeout", "control", "workflow_id_reuse_policy", "retry_policy", "cron_schedule", "header",
        "memo", "search_attributes", "priority", "inherit_build_id",
    )  # fmt: skip
    for timeout in (attrs.workflow_execution_timeout, attrs.workflow_run_timeout, attrs.workflow_task_timeout):
        if timeout.seconds >= MAX_DURATION_SECONDS:  # only a set one can be that long: unset ones stay unset
            timeout.CopyFrom(capped(timeout))
    # The reference records the run and task timeouts the child will get.
    attrs.workflow_run_timeout.SetInParent()
    task_timeout = seconds(attrs.workflow_task_timeout) or DEFAULT_WORKFLOW_TASK_TIMEOUT
    run_timeout = seconds(attrs.workflow_run_timeout) or seconds(attrs.workflow_execution_timeout)
    attrs.workflow_task_timeout.CopyFrom(duration(min(task_timeout, run_timeout) if run_timeout else task_timeout))
    for name in ("memo", "search_attributes"):
        if attrs.HasField(name) and not getattr(attrs, name).ListFields():
            attrs.ClearField(name)
    event = ms.add_event(attrs)
    ms.children[event.event_id] = ChildInfo(
        initiated_event_id=event.event_id,
        namespace=namespace,
        namespace_id=namespace_id,
        workflow_id=attrs.workflow_id,
        workflow_type=attrs.workflow_type.name,
        create_request_id=new_id(),
        parent_close_policy=attrs.parent_close_policy,
        initiated_event=event,
    )
    return event


def _validate_external(
    cause: int,
) -> Callable[[CommandContext, SignalExternalWorkflowExecutionCommandAttributes], None]:
    def validate(cc: CommandContext, a: SignalExternalWorkflowExecutionCommandAttributes) -> None:
        if not a.execution.workflow_id:
            raise CommandError(cause, "WorkflowId is not set on the command's execution.")
        _target_namespace(cc, a.namespace, cause)

    return validate


def _apply_signal_external(
    cc: CommandContext, a: SignalExternalWorkflowExecutionCommandAttributes
) -> HistoryEvent | None:
    namespace, namespace_id = _target_namespace(
        cc,
        a.namespace,
        Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SIGNAL_WORKFLOW_EXECUTION_ATTRIBUTES,
    )
    event = cc.ms.add_event(
        SignalExternalWorkflowExecutionInitiatedEventAttributes(
            workflow_task_completed_event_id=cc.completed_event_id,
            namespace=namespace,
            namespace_id=namespace_id,
            workflow_execution=WorkflowExecution(
                workflow_id=a.execution.workflow_id,
                run_id=a.execution.run_id,
            ),
        )
    )
    copy_fields(
        event.signal_external_workflow_execution_initiated_event_attributes,
        a, "signal_name", "input", "control", "child_workflow_only", "header",
    )  # fmt: skip
    cc.ms.signals_out[event.event_id] = ExternalRequestInfo(event.event_id, new_id(), event)
    return event


def _apply_cancel_external(
    cc: CommandContext, a: RequestCancelExternalWorkflowExecutionCommandAttributes
) -> HistoryEvent | None:
    namespace, namespace_id = _target_namespace(
        cc,
        a.namespace,
        Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_ATTRIBUTES,
    )
    event = cc.ms.add_event(
        RequestCancelExternalWorkflowExecutionInitiatedEventAttributes(
            workflow_task_completed_event_id=cc.completed_event_id,
            namespace=namespace,
            namespace_id=namespace_id,
            workflow_execution=WorkflowExecution(
                workflow_id=a.workflow_id,
                run_id=a.run_id,
            ),
            control=a.control,
            child_workflow_only=a.child_workflow_only,
            reason=a.reason,
        )
    )
    cc.ms.cancels_out[event.event_id] = ExternalRequestInfo(event.event_id, new_id(), event)
    return event


def _validate_cancel_external(cc: CommandContext, a: RequestCancelExternalWorkflowExecutionCommandAttributes) -> None:
    cause = Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_ATTRIBUTES
    if not a.workflow_id:
        raise CommandError(cause, "WorkflowId is not set on RequestCancelExternalWorkflowExecutionCommand.")
    _target_namespace(cc, a.namespace, cause)


def _validate_protocol_message(cc: CommandContext, a: ProtocolMessageCommandAttributes) -> None:
    if cc.messages is None or a.message_id not in cc.messages.messages:
        raise CommandError(
            Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_UPDATE_WORKFLOW_EXECUTION_MESSAGE,
            f"ProtocolMessageCommand refers to message {a.message_id!r}, which the completion does not carry.",
        )


def _apply_protocol_message(cc: CommandContext, a: ProtocolMessageCommandAttributes) -> HistoryEvent | None:
    assert cc.messages is not None
    cc.messages.apply(a.message_id)
    return None  # the message's own events carry no command metadata


C = CommandType
HANDLERS: dict[int, Handler] = {
    C.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK: Handler(
        _validate_schedule_activity,
        _apply_schedule_activity,
        Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES,
    ),
    C.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK: Handler(
        _validate_cancel_activity,
        _apply_cancel_activity,
        Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES,
    ),
    C.COMMAND_TYPE_START_TIMER: Handler(
        _validate_start_timer,
        _apply_start_timer,
        Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_TIMER_ATTRIBUTES,
    ),
    C.COMMAND_TYPE_CANCEL_TIMER: Handler(
        _validate_cancel_timer,
        _apply_cancel_timer,
        Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_CANCEL_TIMER_ATTRIBUTES,
    ),
    C.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION: Handler(
        _no_validation,
        _apply_complete,
        Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_COMPLETE_WORKFLOW_EXECUTION_ATTRIBUTES,
    ),
    C.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION: Handler(
        _no_validation,
        _apply_fail,
        Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_FAIL_WORKFLOW_EXECUTION_ATTRIBUTES,
    ),
    C.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION: Handler(
        _no_validation,
        _apply_cancel,
        Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_CANCEL_WORKFLOW_EXECUTION_ATTRIBUTES,
    ),
    C.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION: Handler(
        _validate_continue_as_new,
        _apply_continue_as_new,
        Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_CONTINUE_AS_NEW_ATTRIBUTES,
    ),
    C.COMMAND_TYPE_RECORD_MARKER: Handler(
        _validate_marker,
        _apply_marker,
        Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_RECORD_MARKER_ATTRIBUTES,
    ),
    C.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION: Handler(
        _validate_start_child,
        _apply_start_child,
        Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_CHILD_EXECUTION_ATTRIBUTES,
    ),
    C.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION: Handler(
        _validate_external(Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SIGNAL_WORKFLOW_EXECUTION_ATTRIBUTES),
        _apply_signal_external,
        Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SIGNAL_WORKFLOW_EXECUTION_ATTRIBUTES,
    ),
    C.COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION: Handler(
        _validate_cancel_external,
        _apply_cancel_external,
        Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_ATTRIBUTES,
    ),
    C.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: Handler(
        _validate_upsert_search_attributes,
        _apply_upsert_search_attributes,
        Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES,
    ),
    C.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES: Handler(
        _no_validation,
        _apply_modify_properties,
        Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_MODIFY_WORKFLOW_PROPERTIES_ATTRIBUTES,
    ),
    C.COMMAND_TYPE_PROTOCOL_MESSAGE: Handler(
        _validate_protocol_message,
        _apply_protocol_message,
        Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_UPDATE_WORKFLOW_EXECUTION_MESSAGE,
    ),
}
_COMMAND_TYPES = frozenset(CommandType.values())
