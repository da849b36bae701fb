"""The WAL is checkpointed by a thread of its own, not by the commits (autocheckpoint is off)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from gnomon.server.persistence import SqlitePersistence, WorkflowMutation
from gnomon.server.persistence.interface import CurrentChange


def creation(run_id: str) -> WorkflowMutation:
    return WorkflowMutation(
        namespace_id="ns",
        workflow_id=f"wf-{run_id}",
        run_id=run_id,
        expected_db_version=0,
        db_version=1,
        status=1,
        state=b"{}",
        workflow_type="Wf",
        task_queue="tq",
        start_time=1.0,
        close_time=None,
        current=CurrentChange(expected_run_id=None, start_request_id=f"req-{run_id}"),
    )


def runs_in_database_file(db: Path) -> list[str]:
    """The runs in the main database file alone: immutable=1 makes SQLite ignore the WAL."""
    with sqlite3.connect(f"file:{db}?immutable=1", uri=True) as conn:
        try:
            return [row[0] for row in conn.execute("SELECT run_id FROM executions ORDER BY run_id")]
        except sqlite3.OperationalError:
            return []  # not even the schema has been checkpointed yet


async def test_commits_reach_the_database_file_while_the_server_runs(tmp_path: Path) -> None:
    db = tmp_path / "gnomon.db"
    store = SqlitePersistence(db)
    await store.start()
    try:
        await asyncio.gather(*(store.commit([creation(f"run-{i}")]) for i in range(20)))
        assert (await store.get_run("ns", "run-3")) is not None
        expected = sorted(f"run-{i}" for i in range(20))
        for _ in range(100):  # a checkpoint follows within about a second
            if runs_in_database_file(db) == expected:
                break
            await asyncio.sleep(0.05)
        assert runs_in_database_file(db) == expected
    finally:
        await store.close()
