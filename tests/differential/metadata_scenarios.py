"""Differential scenarios for user metadata: the summary and details of starts, timers,
activities, local activities and children (and the event groups of commands).

The reference records a start's ``user_metadata`` on the WorkflowExecutionStarted event and
shows it in DescribeWorkflowExecution (``execution_config.user_metadata``); a command's
``user_metadata`` lands on the event the command produced. The drivers compare both, and
what the SDK decodes from describe (``static_summary()`` / ``static_details()``).

Like ``scenarios.py`` this module is imported by the workflow sandbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from temporalio import workflow

from tests.differential.scenarios import (
    ACTIVITY_TIMEOUT,
    ChildWorkflow,
    Scenario,
    ScenarioRun,
    SignalWithStartWorkflow,
    greet,
    outcome,
    wait_until_idle,
)
from tests.differential.update_scenarios import UpdatableWorkflow

with workflow.unsafe.imports_passed_through():
    from google.protobuf.json_format import MessageToDict
    from temporalio.api.enums.v1 import EventType
    from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle
    from temporalio.common import WorkflowIDConflictPolicy


@workflow.defn
class SummarizedWorkflow:
    """Gives every command it can a summary: a timer, an activity, a local activity, a child.

    The timer is in an event group too (an experimental SDK API): the reference puts a
    command's event group markers on its event the same way.
    """

    @workflow.run
    async def run(self) -> str:
        naps = workflow.create_event_group("naps", label="every nap")
        await workflow.sleep(timedelta(milliseconds=100), summary="a short nap", event_groups=[naps])
        remote = await workflow.execute_activity(
            greet, "remote", start_to_close_timeout=ACTIVITY_TIMEOUT, summary="greet remotely"
        )
        local = await workflow.execute_local_activity(
            greet, "local", start_to_close_timeout=ACTIVITY_TIMEOUT, summary="greet locally"
        )
        child = await workflow.execute_child_workflow(
            ChildWorkflow.run,
            "kid",
            id=f"{workflow.info().workflow_id}-child",
            static_summary="the child",
            static_details="a child with **details**",
        )
        return f"{remote} / {local} / {child}"


METADATA_WORKFLOWS: Sequence[type] = (SummarizedWorkflow,)


async def described_metadata(handle: WorkflowHandle[Any, Any]) -> dict[str, Any]:
    """What describe shows of a run's user metadata: raw, and as the SDK decodes it."""
    description = await handle.describe()
    config = description.raw_description.execution_config
    return {
        "execution_config": MessageToDict(config.user_metadata, preserving_proto_field_name=True)
        if config.HasField("user_metadata")
        else None,
        "static_summary": await description.static_summary(),
        "static_details": await description.static_details(),
    }


async def _summarized_commands(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
    parent = await client.start_workflow(
        SummarizedWorkflow.run,
        id=workflow_id,
        task_queue=task_queue,
        static_summary="the parent",
        static_details="a parent with\nmultiple lines",
    )
    child = client.get_workflow_handle(f"{workflow_id}-child")
    # As in scenarios._child_workflow: release the child only when both are idle.
    await wait_until_idle(parent, EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED)
    await wait_until_idle(child)
    await child.signal(ChildWorkflow.finish)
    observations = await outcome(parent)
    observations["parent_described"] = await described_metadata(parent)
    observations["child_described"] = await described_metadata(child)
    return ScenarioRun([await parent.fetch_history(), await child.fetch_history()], observations)


async def _signal_with_start(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
    handle = await client.start_workflow(
        SignalWithStartWorkflow.run,
        id=workflow_id,
        task_queue=task_queue,
        start_signal="add",
        start_signal_args=["first"],
        static_summary="signalled into being",
    )
    await wait_until_idle(handle, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
    await handle.signal(SignalWithStartWorkflow.add, "second")
    observations = await outcome(handle)
    observations["described"] = await described_metadata(handle)
    return ScenarioRun([await handle.fetch_history()], observations)


async def _update_with_start(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
    start = WithStartWorkflowOperation(
        UpdatableWorkflow.run,
        id=workflow_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        static_summary="updated into being",
        static_details="by ExecuteMultiOperation",
    )
    size = await client.execute_update_with_start_workflow(
        UpdatableWorkflow.add, "apple", id="update-1", start_workflow_operation=start
    )
    handle = client.get_workflow_handle(workflow_id)
    await wait_until_idle(handle, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)
    await handle.signal(UpdatableWorkflow.finish)
    observations = {"update_result": size, **await outcome(handle)}
    observations["described"] = await described_metadata(handle)
    return ScenarioRun([await handle.fetch_history()], observations)


METADATA_SCENARIOS: Sequence[Scenario] = (
    Scenario("user_metadata_commands", _summarized_commands, workflows=METADATA_WORKFLOWS),
    Scenario("user_metadata_signal_with_start", _signal_with_start),
    Scenario("user_metadata_update_with_start", _update_with_start, workflows=(UpdatableWorkflow,)),
)
