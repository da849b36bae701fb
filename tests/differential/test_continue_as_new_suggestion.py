"""The continue-as-new suggestion, on servers started with low history limits.

Both servers get the same ``--dynamic-config-value`` flags (Gnomon takes them like
``temporal server start-dev``); with ``GNOMON_TEST_TARGET=reference`` both are reference servers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.differential.continue_as_new_scenarios import SUGGESTION_DYNAMIC_CONFIG, SUGGESTION_SCENARIOS
from tests.differential.harness import assert_matches_reference
from tests.differential.scenarios import Scenario
from tests.support.servers import ServerProcess, start_gnomon, start_reference
from tests.support.targets import ON_GNOMON

FLAGS = [arg for setting in SUGGESTION_DYNAMIC_CONFIG for arg in ("--dynamic-config-value", setting)]


@pytest.fixture(scope="module")
def limited_reference(output_dir: Path) -> Iterator[ServerProcess]:
    server = start_reference(output_dir, extra_args=FLAGS)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def limited_server(output_dir: Path) -> Iterator[ServerProcess]:
    server = start_gnomon(output_dir, extra_args=FLAGS) if ON_GNOMON else start_reference(output_dir, extra_args=FLAGS)
    yield server
    server.stop()


@pytest.mark.timeout(90)
@pytest.mark.parametrize("scenario", SUGGESTION_SCENARIOS, ids=str)
async def test_suggestion_matches_reference(
    scenario: Scenario, limited_reference: ServerProcess, limited_server: ServerProcess, output_dir: Path
) -> None:
    await assert_matches_reference(scenario, limited_reference, limited_server, output_dir)
