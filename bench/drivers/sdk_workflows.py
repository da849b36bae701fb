"""The workloads written as a user would, with the official Python SDK.

Each class is registered under the workflow type name the ``raw`` driver uses
(:data:`bench.workloads.WORKLOADS`), so both drivers' runs can be compared event by event.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from bench.workloads import (
        ACTIVITY_RESULT,
        ACTIVITY_START_TO_CLOSE_SECONDS,
        ACTIVITY_TYPE,
        CHILD_WORKFLOW_TYPE,
        SIGNAL_NAME,
        TIMER_SECONDS,
        WORKLOADS,
    )

_ACTIVITY_TIMEOUT = timedelta(seconds=ACTIVITY_START_TO_CLOSE_SECONDS)


@activity.defn(name=ACTIVITY_TYPE)
async def bench_activity() -> str:
    return ACTIVITY_RESULT


@workflow.defn(name=WORKLOADS["one_activity"].workflow_type)
class OneActivity:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_activity(bench_activity, start_to_close_timeout=_ACTIVITY_TIMEOUT)


@workflow.defn(name=WORKLOADS["ten_activities"].workflow_type)
class TenActivities:
    @workflow.run
    async def run(self) -> str:
        result = ""
        for _ in range(len(WORKLOADS["ten_activities"].steps)):
            result = await workflow.execute_activity(bench_activity, start_to_close_timeout=_ACTIVITY_TIMEOUT)
        return result


@workflow.defn(name=WORKLOADS["timer"].workflow_type)
class Timer:
    @workflow.run
    async def run(self) -> str:
        await workflow.sleep(TIMER_SECONDS)
        return ACTIVITY_RESULT


@workflow.defn(name=WORKLOADS["signal"].workflow_type)
class Signal:
    def __init__(self) -> None:
        self._signalled = False

    @workflow.signal(name=SIGNAL_NAME)
    def go(self) -> None:
        self._signalled = True

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self._signalled)
        return ACTIVITY_RESULT


@workflow.defn(name=CHILD_WORKFLOW_TYPE)
class Child:
    @workflow.run
    async def run(self) -> str:
        return ACTIVITY_RESULT


@workflow.defn(name=WORKLOADS["child"].workflow_type)
class Parent:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_child_workflow(Child.run, id=f"{workflow.info().workflow_id}-child-1")


WORKFLOWS = [OneActivity, TenActivities, Timer, Signal, Child, Parent]
ACTIVITIES = [bench_activity]
