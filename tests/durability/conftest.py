"""Fixtures of the durability suite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.durability.crashable import CrashableServer


@pytest.fixture
async def crashable_server(output_dir: Path, tmp_path: Path) -> AsyncIterator[CrashableServer]:
    """A crashable server on a fresh SQLite file (logs go to ``test-output/gnomon-<port>.log``)."""
    crashable = CrashableServer(output_dir, tmp_path / "gnomon.db")
    await crashable.start()
    yield crashable
    await crashable.stop()
    # Captured, so shown only when the test fails: what the server said across its lives.
    print(f"--- server log ({crashable.crashes} crashes) ---\n{crashable.log_text()[-6000:]}")
