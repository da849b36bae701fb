"""A short crash loop: SDK load of every workflow shape while the server is SIGKILLed every 1-5 s.

``bench/crashloop.py --kills 100`` is the long run; see ``tests/durability/crash_loop.py`` for what is
checked. Set ``GNOMON_CRASH_LOOP_SEED`` for another seed of shapes and kill intervals.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from temporalio.client import Client

from tests.durability.crash_loop import CrashLoop
from tests.durability.crashable import CrashableServer

pytestmark = pytest.mark.timeout(240)

KILLS = 4
SEED = int(os.environ.get("GNOMON_CRASH_LOOP_SEED", "20261206"))


async def test_acknowledged_work_survives_repeated_kill_9(output_dir: Path, tmp_path: Path) -> None:
    server = CrashableServer(output_dir, tmp_path / "gnomon.db")
    await server.start()
    try:
        client = await Client.connect(server.address, namespace="default")
        report = await CrashLoop(server, client, f"loop-{uuid.uuid4().hex[:8]}", SEED).run(KILLS)
    finally:
        await server.stop()
    print(report.summary())  # shown when the test fails
    assert report.kills == KILLS
    assert report.acknowledged > 0 and report.completed == report.acknowledged, report.summary()
    assert report.lost == [], report.summary()
    assert report.duplicated == [], report.summary()
    assert report.incorrect == [], report.summary()
