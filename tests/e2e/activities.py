"""Activity implementations for the end-to-end suite.

Each test builds its own :class:`E2EActivities` so that it can synchronise with the
activities it runs (events, captured task tokens) without global state. Workflows call
these activities by their registered names.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError


class E2EActivities:
    """Activities bound to one test, plus the events the test waits on."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.cancelled = asyncio.Event()
        self.task_tokens: list[bytes] = []
        self.identities: list[str] = []

    @activity.defn(name="echo")
    async def echo(self, value: str) -> str:
        """Returns its argument."""
        self.identities.append(activity.info().workflow_id or "")
        return value

    @activity.defn(name="fail")
    async def fail(self, message: str) -> str:
        """Fails with a non-retryable application error."""
        raise ApplicationError(message, type="E2EActivityFailure", non_retryable=True)

    @activity.defn(name="heartbeat_and_wait")
    async def heartbeat_and_wait(self, details: str) -> str:
        """Heartbeats ``details`` once, then waits until the test releases it."""
        activity.heartbeat(details)
        self.started.set()
        while not self.release.is_set():
            # Keep heartbeating so the server never times the activity out while we wait.
            activity.heartbeat(details)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.release.wait(), timeout=0.2)
        return "released"

    @activity.defn(name="complete_async")
    async def complete_async(self) -> str:
        """Hands its task token to the test and leaves completion to someone else."""
        self.task_tokens.append(activity.info().task_token)
        self.started.set()
        activity.raise_complete_async()

    @activity.defn(name="heartbeat_until_cancelled")
    async def heartbeat_until_cancelled(self) -> str:
        """Heartbeats until the server delivers a cancellation, then reports it."""
        self.started.set()
        try:
            while True:
                activity.heartbeat("alive")
                await asyncio.sleep(0.1)
        except asyncio.CancelledError:
            self.cancelled.set()
            raise

    @activity.defn(name="flaky")
    async def flaky(self, succeed_on_attempt: int) -> str:
        """Fails (retryably) until attempt ``succeed_on_attempt``."""
        attempt = activity.info().attempt
        if attempt < succeed_on_attempt:
            raise ApplicationError(f"attempt {attempt} fails", type="Flaky")
        return f"succeeded on attempt {attempt}"

    @activity.defn(name="stall")
    async def stall(self, details: str) -> str:
        """Heartbeats ``details`` once, then stops heartbeating (until cancelled or released)."""
        activity.heartbeat(details)
        self.started.set()
        await self.release.wait()
        return "stalled"

    def all(self) -> list[Callable[..., Any]]:
        """Every activity, for ``Worker(activities=...)``."""
        return [
            self.echo,
            self.fail,
            self.heartbeat_and_wait,
            self.complete_async,
            self.heartbeat_until_cancelled,
            self.flaky,
            self.stall,
        ]
