"""Visibility rows are staged with each change and written in batches (sqlite_visibility).

What must hold whatever the batching: a visibility read sees every acknowledged change,
a run written twice before a flush ends up with its last row (and is counted once), and
rows staged but not yet flushed survive a crash of the process.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gnomon.server.persistence import SqlitePersistence, WorkflowMutation
from gnomon.server.persistence.interface import CurrentChange, VisibilityRecord
from gnomon.server.persistence.sqlite_visibility import PENDING_TABLE

NS = "ns-1"
RUNNING, COMPLETED = 1, 2


def record(run_id: str, status: int, *, color: str = "blue") -> VisibilityRecord:
    """A visibility row as the history engine builds it (blobs included)."""
    closed = status != RUNNING
    return VisibilityRecord(
        columns={
            "namespace_id": NS,
            "run_id": run_id,
            "workflow_id": f"wf-{run_id}",
            "workflow_type": "Wf",
            "status": status,
            "start_time": 1_000_000,
            "execution_time": 1_000_000,
            "close_time": 2_000_000 if closed else None,
            "execution_duration": 1_000_000_000 if closed else None,
            "history_length": 5 if closed else 2,
            "history_size_bytes": 300,
            "state_transition_count": 2 if closed else 1,
            "task_queue": "tq",
            "parent_workflow_id": None,
            "parent_run_id": None,
            "root_workflow_id": f"wf-{run_id}",
            "root_run_id": run_id,
            "namespace_division": None,
            "memo": b"\x0a\x03memo\xff",
            "search_attributes": b"\x0a\x05attrs\x00",
        },
        search_rows=[("CustomKeywordField", color)],
    )


def change(run_id: str, version: int, status: int, *, color: str = "blue") -> WorkflowMutation:
    """Creates the run (version 1) or moves it on, with its new visibility row."""
    return WorkflowMutation(
        namespace_id=NS,
        workflow_id=f"wf-{run_id}",
        run_id=run_id,
        expected_db_version=version - 1,
        db_version=version,
        status=status,
        state=b"{}",
        workflow_type="Wf",
        task_queue="tq",
        start_time=1.0,
        close_time=2.0 if status != RUNNING else None,
        current=CurrentChange(expected_run_id=None, start_request_id=f"req-{run_id}") if version == 1 else None,
        status_changed=version > 1,
        visibility=record(run_id, status, color=color),
    )


async def listed(store: SqlitePersistence) -> list[tuple[object, ...]]:
    return await store.query_visibility(
        "SELECT run_id, status, memo, search_attributes FROM visibility WHERE namespace_id = ? ORDER BY run_id", [NS]
    )


async def attributes(store: SqlitePersistence) -> list[tuple[object, ...]]:
    return await store.query_visibility(
        "SELECT run_id, name, value FROM visibility_search_attributes WHERE namespace_id = ? ORDER BY run_id", [NS]
    )


@pytest.fixture(params=["memory", "file"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlitePersistence]:
    persistence = SqlitePersistence(":memory:" if request.param == "memory" else tmp_path / "gnomon.db")
    await persistence.start()
    yield persistence
    await persistence.close()


async def test_a_visibility_read_sees_every_acknowledged_change(store: SqlitePersistence) -> None:
    await store.commit([change("run-1", 1, RUNNING)])

    assert await listed(store) == [("run-1", RUNNING, b"\x0a\x03memo\xff", b"\x0a\x05attrs\x00")]
    assert await attributes(store) == [("run-1", "CustomKeywordField", "blue")]
    assert await store.count_by_status(NS) == {RUNNING: 1}


async def test_a_run_changed_twice_before_a_flush_keeps_its_last_row_counted_once(store: SqlitePersistence) -> None:
    await asyncio.gather(store.commit([change("run-1", 1, RUNNING)]), store.commit([change("run-2", 1, RUNNING)]))
    await store.commit([change("run-1", 2, COMPLETED, color="red")])

    assert [(run, status) for run, status, *_ in await listed(store)] == [("run-1", COMPLETED), ("run-2", RUNNING)]
    assert await attributes(store) == [("run-1", "CustomKeywordField", "red"), ("run-2", "CustomKeywordField", "blue")]
    assert await store.count_by_status(NS) == {RUNNING: 1, COMPLETED: 1}


async def test_changes_are_flushed_without_a_read(tmp_path: Path) -> None:
    store = SqlitePersistence(tmp_path / "gnomon.db")
    await store.start()
    try:
        await store.commit([change("run-1", 1, RUNNING)])
        for _ in range(100):
            if _pending(tmp_path / "gnomon.db") == 0:
                break
            await asyncio.sleep(0.02)
        assert _pending(tmp_path / "gnomon.db") == 0
    finally:
        await store.close()


async def test_deleting_a_run_removes_its_pending_row(store: SqlitePersistence) -> None:
    await store.commit([change("run-1", 1, RUNNING)])
    await store.delete_run(NS, "wf-run-1", "run-1")

    assert await listed(store) == []
    assert await store.count_by_status(NS) == {}


def test_staged_rows_survive_a_crash_before_their_flush(tmp_path: Path) -> None:
    db = tmp_path / "gnomon.db"
    # A process that commits, then dies at once: no flush, no close.
    crash = textwrap.dedent(
        f"""
        import asyncio, os, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_visibility_batching import change, RUNNING
        from gnomon.server.persistence import SqlitePersistence

        async def main():
            store = SqlitePersistence({str(db)!r})
            await store.start()
            await store.commit([change("run-1", 1, RUNNING)])
            os._exit(0)

        asyncio.run(main())
        """
    )
    subprocess.run([sys.executable, "-c", crash], check=True, timeout=60)
    assert _pending(db) == 1, "the change should still be staged, not yet written"

    async def reopen() -> None:
        store = SqlitePersistence(db)
        await store.start()
        try:
            assert _pending(db) == 0
            assert [run for run, *_ in await listed(store)] == ["run-1"]
            assert await store.count_by_status(NS) == {RUNNING: 1}
        finally:
            await store.close()

    asyncio.run(reopen())


def _pending(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        (count,) = conn.execute(f"SELECT COUNT(*) FROM {PENDING_TABLE}").fetchone()
    return int(count)
