"""Run each scenario on the reference Temporal server and on the server under test; compare.

The server under test is the ``server`` fixture: Gnomon, or a second reference server when
``GNOMON_TEST_TARGET=reference`` (which validates this harness: every scenario must match).
See ``harness.py`` for the comparison and what it writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.differential.failure_scenarios import FAILURE_SCENARIOS, GNOMON_KNOWN_DIFFERENCES
from tests.differential.harness import assert_matches_reference
from tests.differential.metadata_scenarios import METADATA_SCENARIOS
from tests.differential.scenarios import SCENARIOS, Scenario
from tests.differential.timer_scenarios import TIMER_SCENARIOS
from tests.differential.update_lifecycle_scenarios import UPDATE_LIFECYCLE_SCENARIOS
from tests.differential.update_scenarios import UPDATE_SCENARIOS
from tests.differential.versioning_scenarios import VERSIONING_SCENARIOS
from tests.support.servers import ServerProcess
from tests.support.targets import gnomon_xfail


def scenario_params() -> list[Any]:
    """Every scenario; those with a known Gnomon difference are xfail (strict) on Gnomon only."""
    return [
        pytest.param(
            scenario,
            id=scenario.name,
            marks=[gnomon_xfail(GNOMON_KNOWN_DIFFERENCES[scenario.name])]
            if scenario.name in GNOMON_KNOWN_DIFFERENCES
            else [],
        )
        for scenario in [
            *SCENARIOS,
            *FAILURE_SCENARIOS,
            *UPDATE_SCENARIOS,
            *TIMER_SCENARIOS,
            *METADATA_SCENARIOS,
            *VERSIONING_SCENARIOS,
            *UPDATE_LIFECYCLE_SCENARIOS,
        ]
    ]


@pytest.mark.timeout(90)
@pytest.mark.parametrize("scenario", scenario_params())
async def test_history_matches_reference(
    scenario: Scenario, reference_server: ServerProcess, server: ServerProcess, output_dir: Path
) -> None:
    await assert_matches_reference(scenario, reference_server, server, output_dir)
