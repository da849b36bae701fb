"""Workflows the durability tests run across server crashes.

This module is imported inside the SDK's workflow sandbox, so it imports only the
standard library and ``temporalio``. Activities are called by *name*; the test process
registers their implementations (see ``tests/durability/activities.py``).
"""

from __future__ import annotations

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


ALL_WORKFLOWS = [TimerThenActivityWorkflow, SignalCollectorWorkflow, ActivityChainWorkflow]
