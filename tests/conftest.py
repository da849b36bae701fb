"""Session-wide fixtures: one Gnomon server (and, lazily, one reference server) per test session.

Set ``GNOMON_TEST_TARGET=reference`` to run the end-to-end suites against the reference
Temporal dev server instead of Gnomon: a test that fails there is a wrong test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.client import Client

from tests.support.servers import ServerProcess, start_gnomon, start_reference

OUTPUT_DIR = Path(__file__).resolve().parent.parent / "test-output"


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT_DIR.mkdir(exist_ok=True)
    return OUTPUT_DIR


@pytest.fixture(scope="session")
def server(output_dir: Path) -> Iterator[ServerProcess]:
    """The server under test: Gnomon, or the reference when GNOMON_TEST_TARGET=reference."""
    target = os.environ.get("GNOMON_TEST_TARGET", "gnomon")
    proc = start_reference(output_dir) if target == "reference" else start_gnomon(output_dir)
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def reference_server(output_dir: Path) -> Iterator[ServerProcess]:
    """The real Temporal dev server, for differential tests."""
    proc = start_reference(output_dir)
    yield proc
    proc.stop()


@pytest.fixture
async def client(server: ServerProcess) -> AsyncIterator[Client]:
    yield await Client.connect(server.address, namespace="default")


@pytest.fixture
def task_queue() -> str:
    """A task queue no other test uses."""
    return f"tq-{uuid.uuid4().hex[:12]}"
