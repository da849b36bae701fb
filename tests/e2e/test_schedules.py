"""Schedules through the SDK: create, describe, trigger, pause/unpause, list and delete."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleDescription,
    ScheduleIntervalSpec,
    ScheduleSpec,
    ScheduleState,
)
from temporalio.service import RPCError, RPCStatusCode

from tests.e2e.helpers import running_worker, unique_id, wait_for
from tests.e2e.workflows import EchoWorkflow
from tests.support.targets import gnomon_xfail

# Schedules are not part of Gnomon yet (no issue asks for them so far); these tests keep
# the reference's behaviour on record for when they are built.
pytestmark = gnomon_xfail("the Schedules API (CreateSchedule, ...) is not implemented")


def _hourly_echo(workflow_id: str, task_queue: str, *, paused: bool = False) -> Schedule:
    """A schedule that would start EchoWorkflow once an hour (so only triggers run it during a test)."""
    return Schedule(
        action=ScheduleActionStartWorkflow(EchoWorkflow.run, "scheduled", id=workflow_id, task_queue=task_queue),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(hours=1))]),
        state=ScheduleState(paused=paused, note="e2e"),
    )


async def test_create_describe_and_delete_schedule(client: Client, task_queue: str) -> None:
    schedule_id = unique_id("sched")
    handle = await client.create_schedule(schedule_id, _hourly_echo(unique_id("sched-wf"), task_queue, paused=True))
    desc = await handle.describe()
    assert desc.id == schedule_id
    assert desc.schedule.state.paused is True
    assert desc.schedule.state.note == "e2e"
    assert isinstance(desc.schedule.action, ScheduleActionStartWorkflow)
    assert desc.schedule.action.workflow == "EchoWorkflow"
    assert desc.schedule.spec.intervals[0].every == timedelta(hours=1)

    with pytest.raises(ScheduleAlreadyRunningError):
        await client.create_schedule(schedule_id, _hourly_echo(unique_id("sched-wf"), task_queue))

    await handle.delete()

    async def gone() -> bool:
        try:
            await handle.describe()
        except RPCError as err:
            assert err.status == RPCStatusCode.NOT_FOUND, err
            return True
        return False

    await wait_for(gone, what="the deleted schedule to be NOT_FOUND")


async def test_trigger_starts_a_workflow(client: Client, task_queue: str) -> None:
    workflow_id = unique_id("sched-trig-wf")
    handle = await client.create_schedule(unique_id("sched-trig"), _hourly_echo(workflow_id, task_queue, paused=True))
    async with running_worker(client, task_queue):
        await handle.trigger()

        async def acted() -> ScheduleDescription | None:
            desc = await handle.describe()
            return desc if desc.info.recent_actions else None

        desc = await wait_for(acted, what="the triggered action to be recorded")
        started = desc.info.recent_actions[0].action
        assert isinstance(started, ScheduleActionExecutionStartWorkflow)
        assert started.workflow_id.startswith(workflow_id)
        assert desc.info.num_actions == 1
        result = await client.get_workflow_handle(started.workflow_id, run_id=started.first_execution_run_id).result()
        assert result == "scheduled"
    await handle.delete()


async def test_pause_and_unpause(client: Client, task_queue: str) -> None:
    handle = await client.create_schedule(unique_id("sched-pause"), _hourly_echo(unique_id("wf"), task_queue))
    assert (await handle.describe()).schedule.state.paused is False
    await handle.pause(note="paused by e2e")
    desc = await handle.describe()
    assert desc.schedule.state.paused is True
    assert desc.schedule.state.note == "paused by e2e"
    await handle.unpause(note="resumed by e2e")
    assert (await handle.describe()).schedule.state.paused is False
    # An hourly schedule has its next run about an hour away.
    next_times = (await handle.describe()).info.next_action_times
    assert next_times
    await handle.delete()


async def test_list_schedules(client: Client, task_queue: str) -> None:
    schedule_id = unique_id("sched-list")
    handle = await client.create_schedule(schedule_id, _hourly_echo(unique_id("wf"), task_queue, paused=True))

    async def listed() -> bool:
        return schedule_id in [s.id async for s in await client.list_schedules()]

    await wait_for(listed, what=f"schedule {schedule_id} in ListSchedules")
    await handle.delete()
