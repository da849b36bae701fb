"""Fixtures for the failure-semantics suite (additive to ``tests/conftest.py``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from temporalio.client import Client

from tests.e2e.conftest import search_attributes  # noqa: F401 - re-exported fixture (continue-as-new test)
from tests.failures.activities import FailureActivities
from tests.support.servers import ServerProcess


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here uses timeouts of a second or two: 60 s means something is stuck."""
    for item in items:
        if item.nodeid.startswith("tests/failures/") and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(60))


@pytest.fixture(scope="session")
async def failures_server_ready(server: ServerProcess) -> None:
    """Wait until the server answers GetSystemInfo: the reference listens before its frontend is healthy."""
    deadline = time.monotonic() + 30
    while True:
        try:
            await Client.connect(server.address, namespace="default")
            return
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


@pytest.fixture
async def client(failures_server_ready: None, server: ServerProcess) -> Client:
    """The root ``client`` fixture, once the server is ready."""
    return await Client.connect(server.address, namespace="default")


@pytest.fixture
def activities() -> Iterator[FailureActivities]:
    """Fresh activity implementations for one test; stalled activities are released afterwards."""
    acts = FailureActivities()
    yield acts
    acts.release.set()
