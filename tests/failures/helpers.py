"""Helpers for the failure-semantics suite: the Gnomon-only xfail marker, workers, waits.

Everything generic (waiting, history access, describe) comes from ``tests/e2e/helpers.py``;
this module adds what the failure tests need on top.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflow.v1 import PendingActivityInfo
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from tests.e2e.helpers import describe, history_events, type_names, wait_for
from tests.failures.activities import FailureActivities
from tests.failures.workflows import ALL_WORKFLOWS
from tests.support.targets import ON_GNOMON, TARGET, gnomon_xfail

E = EventType

__all__ = ["ON_GNOMON", "TARGET", "gnomon_xfail"]  # re-exported from tests.support.targets


@asynccontextmanager
async def failure_worker(
    client: Client,
    task_queue: str,
    activities: FailureActivities | None = None,
    *,
    workflows: Sequence[type] = ALL_WORKFLOWS,
    **options: Any,
) -> AsyncIterator[Worker]:
    """A worker with every failure-suite workflow and the given activities (eager dispatch off)."""
    acts = (activities or FailureActivities()).all()
    options.setdefault("disable_eager_activity_execution", True)
    worker = Worker(client, task_queue=task_queue, workflows=list(workflows), activities=acts, **options)
    async with worker:
        yield worker


async def pending_activity(
    client: Client, workflow_id: str, predicate: Any = None, *, what: str = "a pending activity"
) -> PendingActivityInfo:
    """The workflow's first pending activity once ``predicate(info)`` holds (or once there is one)."""

    async def probe() -> PendingActivityInfo | None:
        pending = (await describe(client, workflow_id)).pending_activities
        if pending and (predicate is None or predicate(pending[0])):
            return pending[0]
        return None

    return await wait_for(probe, what=f"{what} in {workflow_id}")


async def closed_history(client: Client, workflow_id: str, run_id: str | None = None) -> list[HistoryEvent]:
    """The history of a run once its last event is a close event."""

    async def probe() -> list[HistoryEvent] | None:
        events = await history_events(client, workflow_id, run_id)
        return events if events and events[-1].event_type in CLOSE_EVENTS else None

    return await wait_for(probe, what=f"{workflow_id} ({run_id or 'latest run'}) to close")


CLOSE_EVENTS = {
    E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
}


def assert_types(events: Sequence[HistoryEvent], expected: Sequence[EventType.ValueType]) -> None:
    """The history's event types are exactly ``expected``, in order."""
    assert type_names(events) == [E.Name(t) for t in expected]


def event_time(event: HistoryEvent) -> datetime:
    return event.event_time.ToDatetime()


def gap(later: HistoryEvent | datetime, earlier: HistoryEvent | datetime) -> timedelta:
    """``later - earlier`` for events (by event time) or datetimes."""
    late = event_time(later) if isinstance(later, HistoryEvent) else later
    early = event_time(earlier) if isinstance(earlier, HistoryEvent) else earlier
    return late - early


async def terminate_quietly(handle: WorkflowHandle[Any, Any], reason: str = "test cleanup") -> None:
    """Terminate a workflow a test leaves running; ignore it if it already closed."""
    with contextlib.suppress(Exception):
        await handle.terminate(reason=reason)


# ---------------------------------------------------------------------------- worker processes


REPO_ROOT = Path(__file__).resolve().parents[2]


class WorkerProcess:
    """An SDK worker in a child process (``python -m tests.failures.worker_process``) that a test
    can SIGKILL: the honest way to make a worker die with tasks in hand."""

    def __init__(self, proc: asyncio.subprocess.Process, marker: Path) -> None:
        self.proc = proc
        self.marker = marker

    @classmethod
    async def start(cls, address: str, task_queue: str, marker: Path, *extra: str) -> WorkerProcess:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.failures.worker_process",
            "--address",
            address,
            "--task-queue",
            task_queue,
            "--marker",
            str(marker),
            *extra,
            cwd=str(REPO_ROOT),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
        assert line.strip() == b"worker ready", f"worker process did not start: {line!r}"
        return cls(proc, marker)

    async def wait_marker(self, timeout: float = 15.0) -> str:
        """Wait until the worker's activity wrote its marker file; return the file's text."""
        deadline = time.monotonic() + timeout
        while not self.marker.exists():
            if time.monotonic() > deadline:
                raise AssertionError(f"the worker process never wrote {self.marker}")
            await asyncio.sleep(0.05)
        return self.marker.read_text()

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
        await self.proc.wait()
