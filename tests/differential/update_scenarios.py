"""Differential scenarios for updates, update-with-start and local activities.

Each drives the workflow only once it is idle (see ``wait_until_idle``), so the update's
workflow task lands at one possible place in history on both servers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import RetryPolicy, WorkflowIDConflictPolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from tests.differential.scenarios import Scenario, ScenarioRun, outcome, wait_until_idle


@workflow.defn
class UpdatableWorkflow:
    """Collects items through an update (whose validator refuses 'bad') until told to finish."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.done = False

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: self.done)
        return self.items

    @workflow.update
    async def add(self, item: str) -> int:
        self.items.append(item)
        return len(self.items)

    @add.validator
    def check(self, item: str) -> None:
        if item == "bad":
            raise ValueError("bad items are refused")

    @workflow.signal
    def finish(self) -> None:
        self.done = True


@activity.defn
async def flaky_local(fail_times: int) -> int:
    """Fails its first ``fail_times`` attempts."""
    attempt = activity.info().attempt
    if attempt <= fail_times:
        raise RuntimeError(f"attempt {attempt} fails")
    return attempt


@workflow.defn
class LocalActivityRetryWorkflow:
    @workflow.run
    async def run(self, fail_times: int) -> int:
        return await workflow.execute_local_activity(
            flaky_local,
            fail_times,
            start_to_close_timeout=timedelta(seconds=5),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=400), backoff_coefficient=1.0),
        )


async def _finish(handle: Any) -> dict[str, Any]:
    await handle.signal(UpdatableWorkflow.finish)
    return await outcome(handle)


async def _update_accepted(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
    handle = await client.start_workflow(UpdatableWorkflow.run, id=workflow_id, task_queue=task_queue)
    await wait_until_idle(handle)
    size = await handle.execute_update(UpdatableWorkflow.add, "apple", id="update-1")
    await wait_until_idle(handle, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)
    observations = {"update_result": size, **await _finish(handle)}
    return ScenarioRun([await handle.fetch_history()], observations)


async def _update_rejected(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
    handle = await client.start_workflow(UpdatableWorkflow.run, id=workflow_id, task_queue=task_queue)
    await wait_until_idle(handle)
    try:
        await handle.execute_update(UpdatableWorkflow.add, "bad", id="update-1")
        rejection = "accepted"
    except WorkflowUpdateFailedError as error:
        rejection = f"{type(error.cause).__name__}: {error.cause}"
    observations = {"rejection": rejection, **await _finish(handle)}
    return ScenarioRun([await handle.fetch_history()], observations)


def _with_start(workflow_id: str, task_queue: str, policy: WorkflowIDConflictPolicy) -> WithStartWorkflowOperation:
    return WithStartWorkflowOperation(
        UpdatableWorkflow.run, id=workflow_id, task_queue=task_queue, id_conflict_policy=policy
    )


async def _update_with_start_use_existing(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
    use_existing = WorkflowIDConflictPolicy.USE_EXISTING
    first = await client.execute_update_with_start_workflow(
        UpdatableWorkflow.add,
        "apple",
        id="update-1",
        start_workflow_operation=_with_start(workflow_id, task_queue, use_existing),
    )
    handle = client.get_workflow_handle(workflow_id)
    await wait_until_idle(handle, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)
    second = await client.execute_update_with_start_workflow(
        UpdatableWorkflow.add,
        "pear",
        id="update-2",
        start_workflow_operation=_with_start(workflow_id, task_queue, use_existing),
    )
    await wait_until_idle(handle, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)
    observations = {"update_results": [first, second], **await _finish(handle)}
    return ScenarioRun([await handle.fetch_history()], observations)


async def _update_with_start_fail(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
    handle = await client.start_workflow(UpdatableWorkflow.run, id=workflow_id, task_queue=task_queue)
    await wait_until_idle(handle)
    fail = WorkflowIDConflictPolicy.FAIL
    try:
        await client.execute_update_with_start_workflow(
            UpdatableWorkflow.add,
            "pear",
            id="update-1",
            start_workflow_operation=_with_start(workflow_id, task_queue, fail),
        )
        conflict = "no error"
    except WorkflowAlreadyStartedError as error:
        conflict = type(error).__name__
    observations = {"conflict": conflict, **await _finish(handle)}
    return ScenarioRun([await handle.fetch_history()], observations)


async def _local_activity_retry(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
    # Four failures 400 ms apart outlast the 1 s workflow task timeout: the worker must
    # heartbeat its workflow task, and the marker is recorded once, after the retries.
    handle = await client.start_workflow(
        LocalActivityRetryWorkflow.run, 4, id=workflow_id, task_queue=task_queue, task_timeout=timedelta(seconds=1)
    )
    observations = await outcome(handle)
    return ScenarioRun([await handle.fetch_history()], observations)


UPDATE_SCENARIOS: Sequence[Scenario] = (
    Scenario("update_accepted", _update_accepted, workflows=[UpdatableWorkflow]),
    Scenario("update_rejected", _update_rejected, workflows=[UpdatableWorkflow]),
    Scenario("update_with_start_use_existing", _update_with_start_use_existing, workflows=[UpdatableWorkflow]),
    Scenario("update_with_start_fail", _update_with_start_fail, workflows=[UpdatableWorkflow]),
    Scenario(
        "local_activity_retry_past_task_timeout",
        _local_activity_retry,
        workflows=[LocalActivityRetryWorkflow],
        activities=[flaky_local],
    ),
)
