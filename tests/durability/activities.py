"""Activity implementations for the durability tests, with counters the tests watch."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from tests.durability.workflows import FlakyInput


class CrashActivities:
    """Deterministic, idempotent activities (a crash may make the SDK run one twice)."""

    def __init__(self, delay: float = 0.3) -> None:
        self.delay = delay
        self.started = 0
        self.finished = 0

    @property
    def in_flight(self) -> int:
        return self.started - self.finished

    async def _run(self, result: int) -> int:
        self.started += 1
        try:
            await asyncio.sleep(self.delay)
            return result
        finally:
            self.finished += 1

    @activity.defn(name="double")
    async def double(self, value: int) -> int:
        return await self._run(2 * value)

    @activity.defn(name="square")
    async def square(self, value: int) -> int:
        return await self._run(value * value)

    @activity.defn(name="flaky")
    async def flaky(self, params: FlakyInput) -> int:
        if activity.info().attempt <= params.failures:
            raise ApplicationError(f"attempt {activity.info().attempt} fails on purpose")
        return await self._run(3 * params.value)

    def all(self) -> list[Callable[..., Any]]:
        return [self.double, self.square, self.flaky]
