"""Activity implementations for the failure-semantics suite.

Each test builds its own :class:`FailureActivities`, so it can watch what every attempt saw
(attempt number, heartbeat details from the previous attempt, start time) without global
state. Workflows call these activities by their registered names.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError


@dataclass
class Attempt:
    """What one activity attempt observed when it started."""

    name: str
    attempt: int
    heartbeat_details: list[Any]
    started_at: float = field(default_factory=time.monotonic)
    task_token: bytes = b""
    workflow_id: str = ""


class FailureActivities:
    """Activities bound to one test, plus the records and events the test waits on."""

    def __init__(self) -> None:
        self.attempts: list[Attempt] = []
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.cancelled = asyncio.Event()
        self.heartbeats_sent = 0

    def _record(self) -> Attempt:
        info = activity.info()
        record = Attempt(
            info.activity_type,
            info.attempt,
            list(info.heartbeat_details),
            task_token=info.task_token,
            workflow_id=info.workflow_id or "",
        )
        self.attempts.append(record)
        self.started.set()
        return record

    def attempts_for(self, workflow_id: str) -> list[Attempt]:
        return [a for a in self.attempts if a.workflow_id == workflow_id]

    @activity.defn(name="succeed")
    async def succeed(self, value: str) -> str:
        """Returns its argument at once."""
        self._record()
        return value

    @activity.defn(name="stall")
    async def stall(self, details: str | None) -> str:
        """Heartbeats ``details`` once (unless None), then never heartbeats again until released."""
        self._record()
        if details is not None:
            activity.heartbeat(details)
        await self.release.wait()
        return "released"

    @activity.defn(name="stall_first_attempt")
    async def stall_first_attempt(self, details: str) -> list[Any]:
        """Attempt 1 heartbeats ``details`` and stalls; later attempts return the details they got."""
        record = self._record()
        if record.attempt == 1:
            activity.heartbeat(details)
            await self.release.wait()
        return [record.attempt, *record.heartbeat_details]

    @activity.defn(name="flaky")
    async def flaky(self, succeed_on_attempt: int) -> str:
        """Heartbeats ``hb-<attempt>``, then fails (retryably) until attempt ``succeed_on_attempt``."""
        record = self._record()
        activity.heartbeat(f"hb-{record.attempt}")
        if record.attempt < succeed_on_attempt:
            raise ApplicationError(f"attempt {record.attempt} fails", f"detail-{record.attempt}", type="Flaky")
        return f"succeeded on attempt {record.attempt}"

    @activity.defn(name="fail_with_type")
    async def fail_with_type(self, error_type: str) -> str:
        """Always fails with an application error of ``error_type`` (retryable as far as it is concerned)."""
        record = self._record()
        raise ApplicationError(f"attempt {record.attempt} fails with {error_type}", type=error_type)

    @activity.defn(name="fail_with_next_retry_delay")
    async def fail_with_next_retry_delay(self, delay_seconds: float) -> str:
        """Attempt 1 fails asking for its own retry delay; attempt 2 succeeds."""
        record = self._record()
        if record.attempt == 1:
            raise ApplicationError("retry me later", type="Delayed", next_retry_delay=timedelta(seconds=delay_seconds))
        return f"succeeded on attempt {record.attempt}"

    @activity.defn(name="rapid_heartbeats")
    async def rapid_heartbeats(self, count: int) -> int:
        """Heartbeats 1..count as fast as it can (far faster than the throttle interval), then
        keeps the activity alive with the last value for a while: the throttled last value
        must reach the server, and the activity must never time out."""
        self._record()
        for i in range(1, count + 1):
            activity.heartbeat(i)
            self.heartbeats_sent += 1
            await asyncio.sleep(0)
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            activity.heartbeat(count)
            await asyncio.sleep(0.1)
        return count

    @activity.defn(name="heartbeat_until_cancelled")
    async def heartbeat_until_cancelled(self, report: str) -> str:
        """Heartbeats every 0.1 s until cancelled; then, per ``report``, acknowledges the
        cancellation ("cancel"), or completes anyway ("complete")."""
        self._record()
        try:
            while True:
                activity.heartbeat("alive")
                await asyncio.sleep(0.1)
        except asyncio.CancelledError:
            self.cancelled.set()
            if report == "complete":
                return "completed despite cancellation"
            raise

    @activity.defn(name="capture_token")
    async def capture_token(self) -> str:
        """Completes at once; the test keeps the task token to use after completion."""
        self._record()
        return "done"

    @activity.defn(name="complete_async")
    async def complete_async(self) -> str:
        """Leaves completion (and heartbeats) to the test, which holds the task token."""
        self._record()
        activity.raise_complete_async()

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.succeed,
            self.stall,
            self.stall_first_attempt,
            self.flaky,
            self.fail_with_type,
            self.fail_with_next_retry_delay,
            self.rapid_heartbeats,
            self.heartbeat_until_cancelled,
            self.capture_token,
            self.complete_async,
        ]


async def wait_released(activities: FailureActivities) -> None:
    """Release any stalled activity (used in test cleanup)."""
    activities.release.set()
    with contextlib.suppress(Exception):
        await asyncio.sleep(0)
