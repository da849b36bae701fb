"""Fixtures for the end-to-end suite (additive to ``tests/conftest.py``)."""

from __future__ import annotations

import asyncio
import time

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.client import Client

from tests.e2e.activities import E2EActivities
from tests.e2e.helpers import NAMESPACE
from tests.e2e.workflows import INT_SA, KEYWORD_SA
from tests.support.search_attributes import ensure_search_attributes
from tests.support.servers import ServerProcess

CUSTOM_SEARCH_ATTRIBUTES: dict[str, IndexedValueType.ValueType] = {
    KEYWORD_SA.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    INT_SA.name: IndexedValueType.INDEXED_VALUE_TYPE_INT,
}


#: Per-test time limit for this suite (tests are small; a broken server should fail fast, not hang).
E2E_TEST_TIMEOUT = 30


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give every e2e test without its own ``timeout`` mark a short one."""
    for item in items:
        if item.nodeid.startswith("tests/e2e/") and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(E2E_TEST_TIMEOUT))


@pytest.fixture(scope="session", autouse=True)
async def server_ready(server: ServerProcess) -> None:
    """Wait until the server answers GetSystemInfo: the reference listens before its frontend is healthy."""
    deadline = time.monotonic() + 30
    while True:
        try:
            await Client.connect(server.address, namespace=NAMESPACE)
            return
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


@pytest.fixture
def activities() -> E2EActivities:
    """Fresh activity implementations (and their events) for one test."""
    return E2EActivities()


@pytest.fixture(scope="session")
async def search_attributes(server: ServerProcess) -> dict[str, IndexedValueType.ValueType]:
    """Register the suite's custom search attributes (OperatorService.AddSearchAttributes) once per session."""
    client = await Client.connect(server.address, namespace=NAMESPACE)
    await ensure_search_attributes(client, NAMESPACE, CUSTOM_SEARCH_ATTRIBUTES)
    return CUSTOM_SEARCH_ATTRIBUTES
