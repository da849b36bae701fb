"""Workflows the durability tests run across server crashes.

This module is imported inside the SDK's workflow sandbox, so it imports only the
standard library and ``temporalio``. Activities are called by *name*; the test process
registers their implementations (see ``tests/durability/activities.py``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy


async def run_activity(name: str, value: int) -> int:
    """Run the named activity; an attempt whose completion a crash lost times out soon and retries."""
    result: int = await workflow.execute_activity(
        name,
        value,
        start_to_close_timeout=timedelta(seconds=3),
        retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=1)),
    )
    return result


@dataclass
class TimerInput:
    """Sleep ``seconds`` on a durable timer, then double ``value`` in an activity."""

    seconds: float
    value: int


@workflow.defn
class TimerThenActivityWorkflow:
    """A timer followed by one activity; returns the activity's result."""

    @workflow.run
    async def run(self, params: TimerInput) -> int:
        await workflow.sleep(params.seconds)
        return await run_activity("double", params.value)


@workflow.defn
class SignalCollectorWorkflow:
    """Collects ``add`` signals until ``finish``; returns them in arrival order."""

    def __init__(self) -> None:
        self._items: list[str] = []
        self._finished = False

    @workflow.signal
    def add(self, item: str) -> None:
        self._items.append(item)

    @workflow.signal
    def finish(self) -> None:
        self._finished = True

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: self._finished)
        return self._items


@workflow.defn
class ActivityChainWorkflow:
    """Squares each value in its own activity, one after the other; returns the squares."""

    @workflow.run
    async def run(self, values: list[int]) -> list[int]:
        results: list[int] = []
        for value in values:
            results.append(await run_activity("square", value))
        return results


@workflow.defn
class ChildWorkflow:
    """Doubles its value in an activity (run as a child of :class:`ParentWorkflow`)."""

    @workflow.run
    async def run(self, value: int) -> int:
        return await run_activity("double", value)


@workflow.defn
class ParentWorkflow:
    """Runs one child per value, all at once, with ids derived from its own; returns the sum of their results."""

    @workflow.run
    async def run(self, values: list[int]) -> int:
        parent_id = workflow.info().workflow_id
        children = [
            workflow.execute_child_workflow(ChildWorkflow.run, value, id=f"{parent_id}-child-{i}")
            for i, value in enumerate(values)
        ]
        results = await asyncio.gather(*children)
        return sum(results)


@dataclass
class ContinueInput:
    """Continue as new ``remaining`` more times, adding an activity's result to ``total`` in each run."""

    remaining: int
    total: int = 0


@workflow.defn
class ContinueAsNewWorkflow:
    """One activity per run, then continue-as-new until ``remaining`` reaches 0; returns the total."""

    @workflow.run
    async def run(self, params: ContinueInput) -> int:
        total = params.total + await run_activity("double", params.remaining)
        if params.remaining == 0:
            return total
        workflow.continue_as_new(ContinueInput(params.remaining - 1, total))


@workflow.defn
class UpdateCollectorWorkflow:
    """Collects ``add`` updates (each returns how many it holds) until ``finish``; returns them in order."""

    def __init__(self) -> None:
        self._items: list[str] = []
        self._finished = False

    @workflow.update
    def add(self, item: str) -> int:
        self._items.append(item)
        return len(self._items)

    @workflow.signal
    def finish(self) -> None:
        self._finished = True

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: self._finished and workflow.all_handlers_finished())
        return self._items


@workflow.defn
class LocalActivityWorkflow:
    """Doubles each value in a local activity; returns the doubles."""

    @workflow.run
    async def run(self, values: list[int]) -> list[int]:
        results: list[int] = []
        for value in values:
            result: int = await workflow.execute_local_activity(
                "double", value, start_to_close_timeout=timedelta(seconds=3)
            )
            results.append(result)
        return results


@dataclass
class FlakyInput:
    """The ``flaky`` activity fails its first ``failures`` attempts, then triples ``value``."""

    value: int
    failures: int


@workflow.defn
class RetryingActivityWorkflow:
    """One activity that fails a few attempts before it succeeds; returns its result."""

    @workflow.run
    async def run(self, params: FlakyInput) -> int:
        result: int = await workflow.execute_activity(
            "flaky",
            params,
            start_to_close_timeout=timedelta(seconds=3),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(milliseconds=100),
                backoff_coefficient=1.0,
                maximum_interval=timedelta(milliseconds=200),
            ),
        )
        return result


ALL_WORKFLOWS = [
    TimerThenActivityWorkflow,
    SignalCollectorWorkflow,
    ActivityChainWorkflow,
    ChildWorkflow,
    ParentWorkflow,
    ContinueAsNewWorkflow,
    UpdateCollectorWorkflow,
    LocalActivityWorkflow,
    RetryingActivityWorkflow,
]
