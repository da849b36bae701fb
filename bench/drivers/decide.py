"""The raw driver's workflow logic: the next commands of a run, from its history alone.

A benchmark workflow runs its workload's steps one after another. Counting events is
enough to know where a run is: the number of *done* events (activity completed, timer
fired, signal received, child completed) is the index of the current step, and a *start*
event without its done event means that step is in flight. So the driver keeps no state
per run and can answer any task of any run, as a worker without a cache would.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from functools import cache

from google.protobuf.duration_pb2 import Duration
from temporalio.api.command.v1 import (
    Command,
    CompleteWorkflowExecutionCommandAttributes,
    ScheduleActivityTaskCommandAttributes,
    StartChildWorkflowExecutionCommandAttributes,
    StartTimerCommandAttributes,
)
from temporalio.api.common.v1 import ActivityType, Payload, Payloads, WorkflowType
from temporalio.api.enums.v1 import CommandType, EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.taskqueue.v1 import TaskQueue

from bench.workloads import (
    ACTIVITY_RESULT,
    ACTIVITY_START_TO_CLOSE_SECONDS,
    ACTIVITY_TYPE,
    CHILD_WORKFLOW_TYPE,
    NAMESPACE,
    TIMER_SECONDS,
    Step,
    Workload,
)

# The event that shows a step was begun by a command (a signal needs none).
_START_EVENT: dict[Step, EventType.ValueType] = {
    Step.ACTIVITY: EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
    Step.TIMER: EventType.EVENT_TYPE_TIMER_STARTED,
    Step.CHILD: EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
}
_DONE_EVENT: dict[Step, EventType.ValueType] = {
    Step.ACTIVITY: EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
    Step.TIMER: EventType.EVENT_TYPE_TIMER_FIRED,
    Step.SIGNAL: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
    Step.CHILD: EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
}


def json_payload(value: str) -> Payload:
    """``value`` encoded as the SDKs' default converter does (``json/plain``)."""
    return Payload(metadata={"encoding": b"json/plain"}, data=f'"{value}"'.encode())


RESULT = Payloads(payloads=[json_payload(ACTIVITY_RESULT)])

_COMPLETE = Command(
    command_type=CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
    complete_workflow_execution_command_attributes=CompleteWorkflowExecutionCommandAttributes(result=RESULT),
)


def decide(workload: Workload, events: Iterable[HistoryEvent], *, workflow_id: str, task_queue: str) -> list[Command]:
    """The commands that answer a workflow task of a run whose history is ``events``."""
    counts = Counter(event.event_type for event in events)
    done = sum(counts[_DONE_EVENT[step]] for step in set(workload.steps))
    if done >= len(workload.steps):
        return [_COMPLETE]
    step = workload.steps[done]
    start = _START_EVENT.get(step)
    if start is None or counts[start] > counts[_DONE_EVENT[step]]:
        return []  # waiting for a signal, or for the step begun earlier
    return [_begin(step, done + 1, workflow_id, task_queue)]


def completes(commands: list[Command]) -> bool:
    """Whether answering with ``commands`` completes the run."""
    return bool(commands) and commands[-1] is _COMPLETE


def _begin(step: Step, seq: int, workflow_id: str, task_queue: str) -> Command:
    if step is Step.CHILD:
        return Command(
            command_type=CommandType.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION,
            start_child_workflow_execution_command_attributes=StartChildWorkflowExecutionCommandAttributes(
                namespace=NAMESPACE,
                workflow_id=f"{workflow_id}-child-{seq}",
                workflow_type=WorkflowType(name=CHILD_WORKFLOW_TYPE),
                task_queue=TaskQueue(name=task_queue),
            ),
        )
    return _fixed_command(step, seq, task_queue)


@cache
def _fixed_command(step: Step, seq: int, task_queue: str) -> Command:
    """Commands that do not depend on the run are built once (ids are per-run sequence numbers)."""
    if step is Step.ACTIVITY:
        return Command(
            command_type=CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
            schedule_activity_task_command_attributes=ScheduleActivityTaskCommandAttributes(
                activity_id=str(seq),
                activity_type=ActivityType(name=ACTIVITY_TYPE),
                task_queue=TaskQueue(name=task_queue),
                start_to_close_timeout=Duration(seconds=ACTIVITY_START_TO_CLOSE_SECONDS),
            ),
        )
    if step is Step.TIMER:
        return Command(
            command_type=CommandType.COMMAND_TYPE_START_TIMER,
            start_timer_command_attributes=StartTimerCommandAttributes(
                timer_id=str(seq), start_to_fire_timeout=Duration(seconds=TIMER_SECONDS)
            ),
        )
    raise ValueError(f"step {step} has no command")
