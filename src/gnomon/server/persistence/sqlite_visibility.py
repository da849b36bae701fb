"""Visibility rows in SQLite, written in batches.

A run's visibility row changes at least twice (start and close), and each write touches
ten B-trees (the table, its key and eight indexes that serve list queries) plus the
counts and search-attribute tables. Written with every state change, that was about a
sixth of the server's work per workflow. So a state change only records the run's new
row in ``visibility_pending`` (one small table, in the same transaction, so it is as
durable as the change itself), and :func:`flush_pending` moves every pending row into
the visibility tables in one go, later. A run that starts and closes between two
flushes is written to the visibility tables once, and the rows of many runs share the
index pages they touch.

The persistence flushes shortly after a change, before every visibility read (so a list
or count sees every acknowledged change), at start (rows pending when the server
stopped) and at close.
"""

from __future__ import annotations

import base64
import sqlite3
from collections import Counter
from functools import cache
from typing import Any

import orjson

from gnomon.server.persistence.interface import VisibilityRecord

PENDING_TABLE = "visibility_pending"
PENDING_SCHEMA = [
    f"""CREATE TABLE {PENDING_TABLE} (
        namespace_id TEXT NOT NULL,
        run_id TEXT NOT NULL,
        record BLOB NOT NULL,                    -- the row, as encoded by encode_record
        PRIMARY KEY (namespace_id, run_id)
    ) WITHOUT ROWID""",
]
# Columns that hold serialized protobuf; JSON carries them as base64.
_BLOB_COLUMNS = ("memo", "search_attributes")


def encode_record(record: VisibilityRecord) -> bytes:
    columns = dict(record.columns)
    for name in _BLOB_COLUMNS:
        if columns.get(name) is not None:
            columns[name] = base64.b64encode(columns[name]).decode("ascii")
    return orjson.dumps([columns, record.search_rows])


def decode_record(data: bytes) -> VisibilityRecord:
    columns, search_rows = orjson.loads(data)
    for name in _BLOB_COLUMNS:
        if columns.get(name) is not None:
            columns[name] = base64.b64decode(columns[name])
    return VisibilityRecord(columns=columns, search_rows=[(name, value) for name, value in search_rows])


def stage(conn: sqlite3.Connection, namespace_id: str, run_id: str, record: VisibilityRecord) -> None:
    """Record the run's new visibility row, to be written by the next flush."""
    conn.execute(
        f"INSERT OR REPLACE INTO {PENDING_TABLE} (namespace_id, run_id, record) VALUES (?, ?, ?)",
        (namespace_id, run_id, encode_record(record)),
    )


def flush_pending(conn: sqlite3.Connection) -> int:
    """Write every pending row into the visibility tables; return how many there were."""
    rows = conn.execute(f"SELECT namespace_id, run_id, record FROM {PENDING_TABLE}").fetchall()
    if not rows:
        return 0
    counts: Counter[tuple[str, int, str | None]] = Counter()
    for namespace_id, run_id, data in rows:
        _write(conn, namespace_id, run_id, decode_record(data), counts)
    _add_counts(conn, counts)
    conn.execute(f"DELETE FROM {PENDING_TABLE}")
    return len(rows)


def delete(conn: sqlite3.Connection, namespace_id: str, run_id: str) -> None:
    """Remove a run from visibility, pending or written."""
    conn.execute(f"DELETE FROM {PENDING_TABLE} WHERE namespace_id = ? AND run_id = ?", (namespace_id, run_id))
    previous = _previous(conn, namespace_id, run_id)
    if previous is None:
        return
    _add_counts(conn, Counter({(namespace_id, previous[0], previous[1]): -1}))
    conn.execute("DELETE FROM visibility WHERE namespace_id = ? AND run_id = ?", (namespace_id, run_id))
    conn.execute(
        "DELETE FROM visibility_search_attributes WHERE namespace_id = ? AND run_id = ?", (namespace_id, run_id)
    )


def _write(
    conn: sqlite3.Connection,
    namespace_id: str,
    run_id: str,
    record: VisibilityRecord,
    counts: Counter[tuple[str, int, str | None]],
) -> None:
    """Write the run's row; its change to the per-status counts is added to ``counts``."""
    columns = record.columns
    previous = _previous(conn, namespace_id, run_id)
    if previous is not None:
        counts[namespace_id, previous[0], previous[1]] -= 1
        conn.execute(
            "DELETE FROM visibility_search_attributes WHERE namespace_id = ? AND run_id = ?", (namespace_id, run_id)
        )
    counts[namespace_id, columns["status"], columns["namespace_division"]] += 1
    conn.execute(_insert_statement(tuple(columns)), list(columns.values()))
    if record.search_rows:
        conn.executemany(
            "INSERT OR IGNORE INTO visibility_search_attributes (namespace_id, name, value, run_id)"
            " VALUES (?, ?, ?, ?)",
            [(namespace_id, name, value, run_id) for name, value in record.search_rows],
        )


@cache
def _insert_statement(names: tuple[str, ...]) -> str:
    """The row's INSERT; records share a few column sets, so each statement text is built once."""
    return f"INSERT OR REPLACE INTO visibility ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})"


def _previous(conn: sqlite3.Connection, namespace_id: str, run_id: str) -> tuple[Any, ...] | None:
    row: tuple[Any, ...] | None = conn.execute(
        "SELECT status, namespace_division FROM visibility WHERE namespace_id = ? AND run_id = ?",
        (namespace_id, run_id),
    ).fetchone()
    return row


def _add_counts(conn: sqlite3.Connection, counts: Counter[tuple[str, int, str | None]]) -> None:
    """Keep visibility_counts in step, one statement per (namespace, status) that changed.

    Runs of a namespace division (internal workflows such as batch jobs) are not counted.
    """
    changes = [(ns, status, delta) for (ns, status, division), delta in counts.items() if delta and division is None]
    conn.executemany(
        "INSERT INTO visibility_counts (namespace_id, status, runs) VALUES (?, ?, ?)"
        " ON CONFLICT (namespace_id, status) DO UPDATE SET runs = runs + excluded.runs",
        changes,
    )
