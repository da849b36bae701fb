"""Smoke test of the benchmark's raw driver: real runs, with the SDK's history shape.

No timing is asserted: this only shows the driver completes workflows against the
server under test and that what it leaves behind is what an SDK worker leaves.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path

from temporalio.api.enums.v1 import CommandType, EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

from bench.drivers.common import LINE_PREFIX, workflow_id
from bench.drivers.decide import decide
from bench.stats import closed_loop_throughput
from bench.workloads import WORKLOADS, Workload, expected_event_types
from tests.support.servers import ServerProcess

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = 5


async def run_raw_driver(address: str, id_prefix: str) -> dict:
    """Run ``python -m bench.drivers.raw`` to completion; its result line, decoded."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.drivers.raw", "--address", address, "--workload", "one_activity",
        "--concurrency", "2", "--workflows", str(WORKFLOWS), "--warmup", "0", "--id-prefix", id_prefix,
        cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 0, stderr.decode()
    lines = [line for line in stdout.decode().splitlines() if line.startswith(LINE_PREFIX)]
    assert len(lines) == 1, stdout.decode()
    return json.loads(lines[0][len(LINE_PREFIX) :])


async def test_raw_driver_completes_runs_with_the_sdk_history_shape(server: ServerProcess, client: Client) -> None:
    prefix = f"smoke-{uuid.uuid4().hex[:8]}"
    result = await run_raw_driver(server.address, prefix)

    assert result["error_count"] == 0, result["errors"]
    assert len(result["samples"]) == WORKFLOWS
    assert all(end >= start for start, end in result["samples"])
    expected = expected_event_types(WORKLOADS["one_activity"])
    for i in range(WORKFLOWS):
        history = await client.get_workflow_handle(workflow_id(prefix, i)).fetch_history()
        names = [EventType.Name(event.event_type).removeprefix("EVENT_TYPE_") for event in history.events]
        assert names == expected, f"run {i}: {names}"


def _events(*types: EventType.ValueType) -> list[HistoryEvent]:
    return [HistoryEvent(event_id=i + 1, event_type=t) for i, t in enumerate(types)]


def test_raw_decider_follows_the_steps_from_history_alone() -> None:
    started = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
    signal, child = WORKLOADS["signal"], WORKLOADS["child"]

    def command_types(workload: Workload, *types: EventType.ValueType) -> list[str]:
        commands = decide(workload, _events(started, *types), workflow_id="w", task_queue="q")
        return [CommandType.Name(c.command_type).removeprefix("COMMAND_TYPE_") for c in commands]

    assert command_types(signal) == []  # nothing to do until the signal arrives
    assert command_types(signal, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED) == ["COMPLETE_WORKFLOW_EXECUTION"]
    assert command_types(child) == ["START_CHILD_WORKFLOW_EXECUTION"]
    initiated = EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED
    assert command_types(child, initiated, EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED) == []
    completed = EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED
    assert command_types(child, initiated, completed) == ["COMPLETE_WORKFLOW_EXECUTION"]


def test_closed_loop_throughput_ignores_the_drain() -> None:
    # 4 lanes, each running 10 workflows of 100 ms back to back: 40 workflows/s.
    samples = [(i * 0.1, (i + 1) * 0.1) for _ in range(4) for i in range(10)]
    # Then one lane lingers: the drain must not drag the rate down.
    samples.append((1.0, 3.0))
    assert abs(closed_loop_throughput(samples) - 40.0) < 1.0
