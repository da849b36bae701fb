"""Timeouts and retries survive a server crash: every timer that fell due while the server was
down (activity start-to-close, heartbeat and schedule-to-start timeouts, an activity retry
backoff, a workflow run timeout, a workflow retry backoff) fires right after the restart.

The server is SIGKILLed and restarted on the same database file and port (the pattern of
``tests/durability/test_crash.py``). With ``GNOMON_TEST_TARGET=reference`` the reference dev
server is crashed the same way (``start-dev --db-filename``), which validates the test.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType, TimeoutType
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, TimeoutError
from temporalio.exceptions import TimeoutType as SdkTimeoutType

from tests.e2e.helpers import events_of, history_events, one_event, seconds, unique_id, wait_for, wait_for_event
from tests.failures.activities import FailureActivities
from tests.failures.helpers import ON_GNOMON, closed_history, failure_worker, pending_activity
from tests.failures.workflows import ActivityCall, ActivityWorkflow, FailUntilAttemptWorkflow, Retry, WaitWorkflow
from tests.support.servers import ServerProcess, free_port, start_gnomon, start_reference

E = EventType

#: Every deadline below is 2 s after its start; the server stays down longer than that.
DUE_AFTER = 2.0
DOWNTIME = 3.5
#: "Right after the restart": generous for a loaded machine, far below any deadline a server
#: would only reach by recomputing (the timers are long overdue when the server comes back).
PROMPT = 8.0


class CrashableServer:
    """The server under test on one database file and one port; SIGKILL and restart at will."""

    def __init__(self, log_dir: Path, db_path: Path) -> None:
        self.log_dir = log_dir
        self.db_path = db_path
        self.port = free_port()
        self.process: ServerProcess | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        assert self.process is None
        if ON_GNOMON:
            self.process = await asyncio.to_thread(start_gnomon, self.log_dir, db_filename=self.db_path, port=self.port)
        else:
            self.process = await asyncio.to_thread(
                start_reference, self.log_dir, db_filename=self.db_path, port=self.port
            )

    def crash(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process = None

    async def stop(self) -> None:
        if self.process is not None:
            await asyncio.to_thread(self.process.stop)
            self.process = None


@pytest.fixture
async def crashable(output_dir: Path, tmp_path: Path) -> AsyncIterator[CrashableServer]:
    server = CrashableServer(output_dir, tmp_path / "server.db")
    await server.start()
    yield server
    await server.stop()


async def connect(address: str) -> Client:
    """Connect, retrying while a freshly started server reports itself not yet healthy."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return await Client.connect(address, namespace="default")
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


def wall(event: Any) -> float:
    return event.event_time.ToDatetime().replace(tzinfo=UTC).timestamp()


@pytest.mark.timeout(90)
async def test_deadlines_due_during_downtime_fire_right_after_restart(
    crashable: CrashableServer, task_queue: str
) -> None:
    client = await connect(crashable.address)
    activities = FailureActivities()
    ids = {name: unique_id(f"restart-{name}") for name in ("s2c", "hb", "s2s", "backoff", "run", "wfretry")}
    no_retry_after_first = Retry(initial_interval=0.1, maximum_attempts=2)
    calls = {
        # Attempt 1 stalls; its start-to-close / heartbeat timeout falls due during the downtime.
        "s2c": ActivityCall("stall_first_attempt", ["s2c"], start_to_close=DUE_AFTER, retry=no_retry_after_first),
        "hb": ActivityCall(
            "stall_first_attempt", ["hb"], start_to_close=30, heartbeat=DUE_AFTER, retry=no_retry_after_first
        ),
        # Nobody polls this queue: the schedule-to-start timeout falls due during the downtime.
        "s2s": ActivityCall("succeed", ["x"], task_queue=f"{task_queue}-nobody", schedule_to_start=DUE_AFTER),
        # Attempt 1 fails at once; the retry's backoff timer falls due during the downtime.
        "backoff": ActivityCall("flaky", [2], retry=Retry(initial_interval=DUE_AFTER, maximum_attempts=3)),
    }
    try:
        async with failure_worker(client, task_queue, activities):
            handles: dict[str, WorkflowHandle[Any, Any]] = {
                name: await client.start_workflow(ActivityWorkflow.run, call, id=ids[name], task_queue=task_queue)
                for name, call in calls.items()
            }
            handles["run"] = await client.start_workflow(
                WaitWorkflow.run, id=ids["run"], task_queue=task_queue, run_timeout=seconds(DUE_AFTER)
            )
            handles["wfretry"] = await client.start_workflow(
                FailUntilAttemptWorkflow.run,
                2,
                id=ids["wfretry"],
                task_queue=task_queue,
                retry_policy=RetryPolicy(initial_interval=seconds(DUE_AFTER), maximum_attempts=3),
            )

            # Everything is waiting on its deadline.
            async def first_attempt_started(name: str) -> bool:
                return bool(activities.attempts_for(ids[name]))

            for name in ("s2c", "hb", "backoff"):
                await wait_for(lambda n=name: first_attempt_started(n), what=f"{name}: attempt 1 started")
            # The server knows attempt 1 failed (its report is not lost in the crash).
            await pending_activity(client, ids["backoff"], lambda p: p.attempt == 2, what="the retry backoff")
            await wait_for_event(client, ids["s2s"], E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
            await wait_for_event(client, ids["run"], E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
            await closed_history(client, ids["wfretry"], handles["wfretry"].first_execution_run_id)

            crashed = time.time()
            crashable.crash()
            await asyncio.sleep(DOWNTIME)
            await crashable.start()
            restarted, restarted_mono = time.time(), time.monotonic()

            outcomes = await asyncio.wait_for(
                asyncio.gather(*(_outcome(h) for h in handles.values())), timeout=PROMPT + 10
            )
            results = dict(zip(handles, outcomes, strict=True))
    finally:
        activities.release.set()

    assert results["s2c"][0] == 2 and results["hb"][0] == 2, results
    assert results["backoff"] == "succeeded on attempt 2"
    assert isinstance(results["s2s"], ActivityError)
    assert isinstance(results["s2s"].cause, TimeoutError)
    assert results["s2s"].cause.type == SdkTimeoutType.SCHEDULE_TO_START
    assert isinstance(results["run"], TimeoutError)
    assert results["wfretry"]["attempt"] == 2

    def fired_promptly(name: str, event: Any) -> None:
        at = wall(event)
        assert crashed - 0.5 <= at, f"{name}: {E.Name(event.event_type)} at {at} is before the crash at {crashed}"
        assert at <= restarted + PROMPT, f"{name}: {E.Name(event.event_type)} {at - restarted:.1f}s after restart"

    for name in ("s2c", "hb"):
        events = await history_events(client, ids[name])
        started = one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_STARTED).activity_task_started_event_attributes
        assert started.attempt == 2
        expected = TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE if name == "s2c" else TimeoutType.TIMEOUT_TYPE_HEARTBEAT
        assert started.last_failure.timeout_failure_info.timeout_type == expected
        assert [a.attempt for a in activities.attempts_for(ids[name])] == [1, 2]
        assert activities.attempts_for(ids[name])[1].started_at - restarted_mono <= PROMPT, name
    s2s = one_event(await history_events(client, ids["s2s"]), E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT)
    fired_promptly("s2s", s2s)
    backoff_attempts = activities.attempts_for(ids["backoff"])
    assert [a.attempt for a in backoff_attempts] == [1, 2]
    assert backoff_attempts[1].started_at - restarted_mono <= PROMPT
    run_events = await history_events(client, ids["run"])
    fired_promptly("run", one_event(run_events, E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT))
    retry_run = await history_events(client, ids["wfretry"])
    assert retry_run[0].workflow_execution_started_event_attributes.attempt == 2
    first_task = events_of(retry_run, E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED)[0]
    fired_promptly("wfretry", first_task)


async def _outcome(handle: WorkflowHandle[Any, Any]) -> Any:
    """The result, or the cause of the workflow's failure."""
    try:
        return await handle.result()
    except WorkflowFailureError as err:
        return err.cause
