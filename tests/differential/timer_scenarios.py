"""Differential scenarios for timer durations at the edges: zero, unset, negative, absurdly long.

``workflow.sleep(0)`` sends a StartTimer command with a zero duration; the reference accepts
it and fires the timer at once. What the SDK refuses to send (a negative duration, or seconds
and nanos of different signs) is sent by a driver that plays the worker itself over raw
PollWorkflowTaskQueue / RespondWorkflowTaskCompleted calls, so the server's own validation
shows: the workflow task fails with BAD_START_TIMER_ATTRIBUTES and the worker is told why.

Like ``scenarios.py`` this module is imported by the workflow sandbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from temporalio import workflow

from tests.differential.scenarios import Scenario, ScenarioRun, outcome

with workflow.unsafe.imports_passed_through():
    from google.protobuf.duration_pb2 import Duration
    from temporalio.api.command.v1 import (
        Command,
        CompleteWorkflowExecutionCommandAttributes,
        StartTimerCommandAttributes,
    )
    from temporalio.api.enums.v1 import CommandType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import (
        PollWorkflowTaskQueueRequest,
        RespondWorkflowTaskCompletedRequest,
    )
    from temporalio.client import Client
    from temporalio.service import RPCError

#: 200 years: past the reference's 100-year cap on durations.
TWO_CENTURIES_SECONDS = 200 * 365 * 24 * 3600


@workflow.defn
class ZeroTimerWorkflow:
    """A zero-length sleep, then a zero timeout on a condition that is never true."""

    @workflow.run
    async def run(self) -> str:
        await workflow.sleep(0)
        try:
            await workflow.wait_condition(lambda: False, timeout=0)
        except TimeoutError:
            return "slept 0 s, then timed out at once"
        return "the condition cannot be true"


TIMER_WORKFLOWS: Sequence[type] = (ZeroTimerWorkflow,)


async def _zero_timer(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
    handle = await client.start_workflow(ZeroTimerWorkflow.run, id=workflow_id, task_queue=task_queue)
    observations = await outcome(handle)
    return ScenarioRun([await handle.fetch_history()], observations)


def _start_timer(timer_id: str, timeout: Duration | None) -> Command:
    attributes = StartTimerCommandAttributes(timer_id=timer_id)
    if timeout is not None:
        attributes.start_to_fire_timeout.CopyFrom(timeout)
    return Command(command_type=CommandType.COMMAND_TYPE_START_TIMER, start_timer_command_attributes=attributes)


#: What the driver answers the workflow's tasks with, one command list per task, in order.
#: Each refused list fails its task, so the next task is a retry of it (attempt 2, 3...).
_RAW_TIMER_TASKS: tuple[tuple[str, list[Command]], ...] = (
    ("negative", [_start_timer("negative", Duration(seconds=-1))]),
    ("mismatched_signs", [_start_timer("mismatched", Duration(seconds=1, nanos=-5))]),
    # Accepted: an unset duration is a zero one; one past 100 years is capped, not refused.
    (
        "unset_and_capped",
        [_start_timer("unset", None), _start_timer("centuries", Duration(seconds=TWO_CENTURIES_SECONDS))],
    ),
)


async def _raw_timer_durations(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
    """Play the worker: answer each task with the next command list, note what the server says."""
    manual = f"{task_queue}-manual"
    # A refused retry (attempt 2 on) is dropped by the reference, which waits for it to time out.
    handle = await client.start_workflow(
        "RawTimerWorkflow", id=workflow_id, task_queue=manual, task_timeout=timedelta(seconds=1)
    )
    service = client.workflow_service
    poll = PollWorkflowTaskQueueRequest(namespace="default", task_queue=TaskQueue(name=manual), identity="raw-worker")
    answers: dict[str, Any] = {}
    for label, commands in _RAW_TIMER_TASKS:
        task = await service.poll_workflow_task_queue(poll)
        respond = RespondWorkflowTaskCompletedRequest(
            namespace="default", task_token=task.task_token, commands=commands, identity="raw-worker"
        )
        try:
            await service.respond_workflow_task_completed(respond)
            answers[label] = {"attempt": task.attempt, "accepted": True}
        except RPCError as error:
            answers[label] = {"attempt": task.attempt, "status": error.status.name, "message": error.message}
    # The unset timer fires at once and brings a new task, which completes the workflow.
    task = await service.poll_workflow_task_queue(poll)
    complete = Command(
        command_type=CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
        complete_workflow_execution_command_attributes=CompleteWorkflowExecutionCommandAttributes(),
    )
    await service.respond_workflow_task_completed(
        RespondWorkflowTaskCompletedRequest(
            namespace="default", task_token=task.task_token, commands=[complete], identity="raw-worker"
        )
    )
    observations = {"answers": answers, **await outcome(handle)}
    return ScenarioRun([await handle.fetch_history()], observations)


TIMER_SCENARIOS: Sequence[Scenario] = (
    Scenario("timer_zero_duration", _zero_timer, workflows=TIMER_WORKFLOWS),
    Scenario("timer_raw_durations", _raw_timer_durations),
)
