"""Running one scenario on two servers and comparing what they did.

Both normalised runs are written to ``test-output/differential/`` for inspection, plus a
``.diff`` file when they differ.
"""

from __future__ import annotations

import difflib
import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from tests.differential.normalize import Json, Normalizer
from tests.differential.scenarios import Scenario, run_scenario
from tests.support.servers import ServerProcess


async def run_normalized(server: ServerProcess, scenario: Scenario) -> dict[str, Json]:
    """Run ``scenario`` on ``server`` with fresh ids; return its normalised histories and observations."""
    suffix = uuid.uuid4().hex[:12]
    workflow_id = f"diff-{scenario.name}-{suffix}"
    task_queue = f"diff-tq-{suffix}"
    client = await Client.connect(server.address, namespace="default")
    run = await run_scenario(scenario, client, task_queue, workflow_id)
    normalizer = Normalizer(workflow_id=workflow_id, task_queue=task_queue)
    return {
        "observations": normalizer.observations(run.observations),
        "histories": [normalizer.history(history) for history in run.histories],
    }


def first_difference(expected: Json, actual: Json, path: str = "") -> str | None:
    """The path of the first place ``actual`` departs from ``expected``, with both values."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in [*expected, *(k for k in actual if k not in expected)]:
            if key not in actual or key not in expected:
                return f"{path}.{key}: {expected.get(key, '<absent>')!r} != {actual.get(key, '<absent>')!r}"
            found = first_difference(expected[key], actual[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(expected, list) and isinstance(actual, list):
        for index, (left, right) in enumerate(zip(expected, actual, strict=False)):
            found = first_difference(left, right, f"{path}[{index}]")
            if found:
                return found
        if len(expected) != len(actual):
            return f"{path}: length {len(expected)} != {len(actual)}"
        return None
    return None if expected == actual else f"{path}: {expected!r} != {actual!r}"


def event_summary(run: dict[str, Json]) -> list[list[str]]:
    """Event ids and types per history: the quickest view of a structural difference."""
    return [[f"{event.get('event_id')} {event.get('event_type')}" for event in history] for history in run["histories"]]


def render(run: dict[str, Any]) -> str:
    return json.dumps(run, indent=2) + "\n"


async def assert_matches_reference(
    scenario: Scenario, reference_server: ServerProcess, server: ServerProcess, output_dir: Path
) -> None:
    """Run ``scenario`` on both servers; fail with a readable diff unless they did the same."""
    target = os.environ.get("GNOMON_TEST_TARGET", "gnomon")
    expected = await run_normalized(reference_server, scenario)
    actual = await run_normalized(server, scenario)

    out = output_dir / "differential"
    out.mkdir(parents=True, exist_ok=True)
    expected_path = out / f"{scenario.name}.expected-reference.json"
    actual_path = out / f"{scenario.name}.actual-{target}.json"
    diff_path = out / f"{scenario.name}.{target}.diff"
    expected_path.write_text(render(expected))
    actual_path.write_text(render(actual))
    diff_path.unlink(missing_ok=True)

    if expected != actual:
        diff = "".join(
            difflib.unified_diff(
                render(expected).splitlines(keepends=True),
                render(actual).splitlines(keepends=True),
                fromfile=f"reference ({expected_path.name})",
                tofile=f"{target} ({actual_path.name})",
                n=4,
            )
        )
        diff_path.write_text(diff)
        summary = "\n".join(
            difflib.unified_diff(
                json.dumps(event_summary(expected), indent=1).splitlines(),
                json.dumps(event_summary(actual), indent=1).splitlines(),
                fromfile="reference events",
                tofile=f"{target} events",
                lineterm="",
            )
        )
        pytest.fail(
            f"{scenario.name}: {target} history differs from the reference\n"
            f"first difference: {first_difference(expected, actual)}\n"
            f"event types:\n{summary or '(same event types)'}\n"
            f"full diff ({diff_path}):\n{diff}",
            pytrace=False,
        )
