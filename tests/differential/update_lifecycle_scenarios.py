"""Differential scenarios for the end of an update's life: when its run closes, or continues.

Each one checks what the update's caller is told (a result, a failure, or an error with
its status code), not only the history: a run that closes in the same workflow task as
it completes or accepts an update must still give the caller the update's outcome.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateHandle,
    WorkflowUpdateStage,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError
from temporalio.worker import Worker

from tests.differential.scenarios import Scenario, ScenarioRun, outcome, wait_until_idle
from tests.support.updates import wait_until_admitted

# How long an update-only driver gives the server to admit one update before sending the next,
# so that updates sent with no worker polling are admitted in the order they were sent.
ADMISSION_GAP_SECONDS = 0.2


@workflow.defn
class HandlersFinishWorkflow:
    """Returns once its one update has run: the update completes in the task that closes the run."""

    def __init__(self) -> None:
        self.count = 0

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.count > 0)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.count

    @workflow.update
    async def bump(self) -> int:
        self.count += 1
        return self.count


@workflow.defn
class ReturnAtOnceWorkflow:
    """Returns in its first task; an update-with-start's update is answered in that same task."""

    @workflow.run
    async def run(self) -> str:
        return "returned"

    @workflow.update
    async def hello(self, name: str) -> str:
        return f"hello {name}"


@workflow.defn
class HoldingWorkflow:
    """Accepts ``hold`` updates that never finish on their own; told by signal how to end."""

    def __init__(self) -> None:
        self.ending = ""

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.ending != "")
        if self.ending == "fail":
            raise ApplicationError("told to fail", type="ToldToFail", non_retryable=True)
        if self.ending == "continue_after_activity":
            await workflow.execute_local_activity(
                wait_for_driver, workflow.info().workflow_id, start_to_close_timeout=timedelta(seconds=10)
            )
            # The new run goes to a queue the driver polls only once the update has moved there.
            workflow.continue_as_new(task_queue=f"{workflow.info().task_queue}-next")
        if self.ending == "continue":
            workflow.continue_as_new()
        return f"ended by {self.ending}"

    @workflow.update
    async def hold(self, item: str) -> str:
        await workflow.wait_condition(lambda: False)
        return item

    @workflow.update
    async def quick(self, item: str) -> str:
        return item

    @workflow.signal
    def end(self, how: str) -> None:
        self.ending = how


@workflow.defn
class LockedUpdatesWorkflow:
    """Runs each update's body under one lock, around a timer; reports the most inside at once."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.inside = 0
        self.most_inside = 0
        self.finished = 0
        self.order: list[int] = []

    @workflow.run
    async def run(self, expected: int) -> dict[str, Any]:
        await workflow.wait_condition(lambda: self.finished == expected)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return {"most_inside": self.most_inside, "order": self.order}

    @workflow.update
    async def work(self, number: int) -> int:
        async with self.lock:
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
            self.order.append(number)
            await workflow.sleep(0.1)
            self.inside -= 1
        self.finished += 1
        return number


async def caller_sees(wait: Awaitable[Any]) -> Any:
    """What an update's caller is told: its result, its failure, or the RPC error and status."""
    try:
        return {"result": await wait}
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        return {"failure": f"{type(cause).__name__}: {cause}", "type": getattr(cause, "type", None)}
    except RPCError as error:
        return {"rpc_error": error.message, "status": error.status.name}


async def _completes_with_run(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
    handle = await client.start_workflow(HandlersFinishWorkflow.run, id=workflow_id, task_queue=task_queue)
    await wait_until_idle(handle)
    update = await caller_sees(handle.execute_update(HandlersFinishWorkflow.bump, id="bump-1"))
    observations = {"update": update, **await outcome(handle)}
    return ScenarioRun([await handle.fetch_history()], observations)


async def _with_start_returns_at_once(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
    start = WithStartWorkflowOperation(
        ReturnAtOnceWorkflow.run,
        id=workflow_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
    )
    update = await caller_sees(
        client.execute_update_with_start_workflow(
            ReturnAtOnceWorkflow.hello, "there", id="hello-1", start_workflow_operation=start
        )
    )
    handle = client.get_workflow_handle(workflow_id)
    observations = {"update": update, **await outcome(handle)}
    return ScenarioRun([await handle.fetch_history()], observations)


def _accepted_then(ending: str) -> Callable[[Client, str, str], Awaitable[ScenarioRun]]:
    """An accepted update still running when the run ends by ``ending`` (a signal, or terminate)."""

    async def drive(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
        started = await client.start_workflow(HoldingWorkflow.run, id=workflow_id, task_queue=task_queue)
        # Addressed by run id: after a continue-as-new the workflow id alone means the new run.
        handle = client.get_workflow_handle(workflow_id, run_id=started.first_execution_run_id)
        await wait_until_idle(handle)
        held = await handle.start_update(
            HoldingWorkflow.hold, "held", id="hold-1", wait_for_stage=WorkflowUpdateStage.ACCEPTED
        )
        await wait_until_idle(handle, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)
        if ending == "terminate":
            await handle.terminate("told to terminate")
        else:
            await handle.signal(HoldingWorkflow.end, ending)
        observations: dict[str, Any] = {"waiter": await caller_sees(held.result())}
        if ending != "continue":
            observations.update(await _closed_outcome(handle))
        # Asked again after the close, the answer is the same.
        observations["poll_after_close"] = await caller_sees(handle.get_update_handle("hold-1").result())
        histories = [await handle.fetch_history()]
        if ending == "continue":
            histories.append(await _successor_history(client, workflow_id))
            await client.get_workflow_handle(workflow_id).signal(HoldingWorkflow.end, "signal")
        return ScenarioRun(histories, observations)

    return drive


async def _closed_outcome(handle: WorkflowHandle[Any, Any]) -> dict[str, Any]:
    try:
        return await outcome(handle)
    except Exception as error:  # terminated: the SDK raises its own error type
        return {"closed": f"{type(error).__name__}: {error}"}


async def _successor_history(client: Client, workflow_id: str) -> Any:
    successor = client.get_workflow_handle(workflow_id)
    await wait_until_idle(successor)
    return await successor.fetch_history()


async def _admitted_then_terminated(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
    # Started on a queue no worker polls: the update is admitted and never delivered.
    unpolled = f"{task_queue}-unpolled"
    handle = await client.start_workflow(HoldingWorkflow.run, id=workflow_id, task_queue=unpolled)
    waiting = asyncio.create_task(caller_sees(handle.execute_update(HoldingWorkflow.quick, "x", id="quick-1")))
    await asyncio.sleep(ADMISSION_GAP_SECONDS)
    await handle.terminate("told to terminate")
    observations = {"waiter": await waiting}
    return ScenarioRun([await handle.fetch_history()], observations)


async def _admitted_then_continued(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
    # Admitted while the run's last task is in flight (held open by a local activity that
    # waits for the driver): the workflow never sees it, and it goes to the new run, which
    # is polled only after that so that its first task carries it on both servers.
    gate = _gates[workflow_id] = asyncio.Event()
    handle = await client.start_workflow(HoldingWorkflow.run, id=workflow_id, task_queue=task_queue)
    await wait_until_idle(handle)
    await handle.signal(HoldingWorkflow.end, "continue_after_activity")
    while workflow_id not in _gated_activities_running:
        await asyncio.sleep(0.01)
    waiting = asyncio.create_task(caller_sees(handle.execute_update(HoldingWorkflow.quick, "moved", id="quick-1")))
    await asyncio.sleep(ADMISSION_GAP_SECONDS)
    gate.set()
    await wait_until_admitted(client, workflow_id, "quick-1")
    async with Worker(client, task_queue=f"{task_queue}-next", workflows=[HoldingWorkflow]):
        observations = {"waiter": await waiting}
        successor = await _successor_history(client, workflow_id)
        await client.get_workflow_handle(workflow_id).signal(HoldingWorkflow.end, "signal")
    first = await client.get_workflow_handle(workflow_id, run_id=handle.first_execution_run_id).fetch_history()
    return ScenarioRun([first, successor], observations)


# The driver's gate for each run of `_admitted_then_continued`, by workflow id; the local
# activity runs in the driver's process (the worker's), so it can wait on it.
_gates: dict[str, asyncio.Event] = {}
_gated_activities_running: set[str] = set()


@activity.defn
async def wait_for_driver(workflow_id: str) -> None:
    _gated_activities_running.add(workflow_id)
    await _gates.pop(workflow_id).wait()


async def _with_start_fail_attaches(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
    """Update-with-start, conflict policy FAIL, on a run that already has the update id."""

    def start() -> WithStartWorkflowOperation[Any, Any]:
        return WithStartWorkflowOperation(
            HoldingWorkflow.run, id=workflow_id, task_queue=task_queue, id_conflict_policy=WorkflowIDConflictPolicy.FAIL
        )

    handle = await client.start_workflow(HoldingWorkflow.run, id=workflow_id, task_queue=task_queue)
    await wait_until_idle(handle)
    observations: dict[str, Any] = {"first": await handle.execute_update(HoldingWorkflow.quick, "q", id="quick-1")}
    observations["completed_again"] = await caller_sees(
        client.execute_update_with_start_workflow(
            HoldingWorkflow.quick, "q", id="quick-1", start_workflow_operation=start()
        )
    )
    await handle.start_update(HoldingWorkflow.hold, "h", id="hold-1", wait_for_stage=WorkflowUpdateStage.ACCEPTED)
    await wait_until_idle(handle, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)
    attached: WorkflowUpdateHandle[Any] = await client.start_update_with_start_workflow(
        HoldingWorkflow.hold,
        "h",
        id="hold-1",
        start_workflow_operation=start(),
        wait_for_stage=WorkflowUpdateStage.ACCEPTED,
    )
    observations["in_flight_attached"] = attached.id
    try:
        await client.execute_update_with_start_workflow(
            HoldingWorkflow.quick, "new", id="quick-2", start_workflow_operation=start()
        )
        observations["new_id"] = "no error"
    except Exception as error:
        observations["new_id"] = type(error).__name__
    await handle.signal(HoldingWorkflow.end, "signal")
    observations.update(await outcome(handle))
    observations["completed_after_close"] = await caller_sees(
        client.execute_update_with_start_workflow(
            HoldingWorkflow.quick, "q", id="quick-1", start_workflow_operation=start()
        )
    )
    return ScenarioRun([await handle.fetch_history()], observations)


async def _locked_updates_before_worker(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
    """Several updates admitted before any worker polls, each handled under one asyncio.Lock."""
    late = f"{task_queue}-late"
    count = 4
    handle = await client.start_workflow(LockedUpdatesWorkflow.run, count, id=workflow_id, task_queue=late)
    waiting = []
    for number in range(count):
        update = handle.execute_update(LockedUpdatesWorkflow.work, number, id=f"work-{number}")
        waiting.append(asyncio.create_task(caller_sees(update)))
        await asyncio.sleep(ADMISSION_GAP_SECONDS)
    async with Worker(client, task_queue=late, workflows=[LockedUpdatesWorkflow]):
        observations = {"updates": list(await asyncio.gather(*waiting)), **await outcome(handle)}
    return ScenarioRun([await handle.fetch_history()], observations)


UPDATE_LIFECYCLE_SCENARIOS: Sequence[Scenario] = (
    Scenario("update_completes_with_run", _completes_with_run, workflows=[HandlersFinishWorkflow]),
    Scenario("update_with_start_run_returns_at_once", _with_start_returns_at_once, workflows=[ReturnAtOnceWorkflow]),
    Scenario("update_accepted_run_completes", _accepted_then("signal"), workflows=[HoldingWorkflow]),
    Scenario("update_accepted_run_fails", _accepted_then("fail"), workflows=[HoldingWorkflow]),
    Scenario("update_accepted_run_continues_as_new", _accepted_then("continue"), workflows=[HoldingWorkflow]),
    Scenario("update_accepted_run_terminated", _accepted_then("terminate"), workflows=[HoldingWorkflow]),
    Scenario("update_admitted_run_terminated", _admitted_then_terminated, workflows=[HoldingWorkflow]),
    Scenario(
        "update_admitted_run_continues_as_new",
        _admitted_then_continued,
        workflows=[HoldingWorkflow],
        activities=[wait_for_driver],
    ),
    Scenario("update_with_start_fail_attaches", _with_start_fail_attaches, workflows=[HoldingWorkflow]),
    Scenario("updates_under_lock_before_worker", _locked_updates_before_worker, workflows=[LockedUpdatesWorkflow]),
)
