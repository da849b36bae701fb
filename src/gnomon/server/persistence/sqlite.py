"""SQLite persistence with group commit.

SQLite serialises writers anyway, so one dedicated thread owns the connection. Callers
queue work items; the thread drains every write that is waiting and applies them in one
transaction (each inside its own savepoint, so one caller's conflict does not fail the
others), then pays for one fsync. Under load many runs' state changes share a commit:
that is where the throughput comes from. Reads go through the same thread, between
write transactions, which keeps the connection single-threaded.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from gnomon.server.persistence.interface import (
    ConditionFailedError,
    CurrentRun,
    NamespaceRecord,
    Persistence,
    RunRecord,
    WorkflowMutation,
)
from gnomon.server.persistence.schema import MIGRATIONS

logger = logging.getLogger(__name__)

T = TypeVar("T")
OPEN_STATUS = 1  # WORKFLOW_EXECUTION_STATUS_RUNNING
# Rows sampled per index when planner statistics are refreshed: ~15 ms at a million runs.
ANALYSIS_LIMIT = 10_000
# Refresh the statistics after this many writes, as the tables grow.
OPTIMIZE_EVERY = 50_000
# Every table keyed by namespace: what deleting a namespace empties.
_NAMESPACE_TABLES = (
    "executions",
    "current_executions",
    "history_batches",
    "visibility",
    "visibility_search_attributes",
    "visibility_counts",
    "search_attributes",
)


@dataclass
class _Work:
    fn: Callable[[sqlite3.Connection], Any]
    is_write: bool
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]


_STOP = object()


class SqlitePersistence(Persistence):
    """Persistence on one SQLite database file (or ``:memory:``)."""

    def __init__(self, path: str | Path) -> None:
        self._path = str(path)
        self._queue: queue.SimpleQueue[_Work | object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None
        self.commits = 0  # transactions committed, for the benchmark and tests
        self.mutations = 0

    @property
    def path(self) -> str:
        return self._path

    # -- lifecycle -----------------------------------------------------------------

    async def start(self) -> None:
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        loop = asyncio.get_running_loop()

        def opened(error: BaseException | None) -> None:
            if error is None:
                loop.call_soon_threadsafe(ready.set_result, None)
            else:
                loop.call_soon_threadsafe(ready.set_exception, error)

        self._thread = threading.Thread(target=self._run, args=(opened,), name="gnomon-sqlite", daemon=True)
        self._thread.start()
        await ready

    async def close(self) -> None:
        if self._thread is None:
            return
        self._queue.put(_STOP)
        await asyncio.to_thread(self._thread.join)
        self._thread = None

    def _open(self) -> sqlite3.Connection:
        if self._path != ":memory:":
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        if self._path != ":memory:":
            conn.execute("PRAGMA journal_mode=WAL")
            # FULL: the WAL is fsynced at every commit, so an acknowledged RPC survives a crash.
            conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=OFF")
        self._migrate(conn)
        # Planner statistics: without them SQLite may walk a whole time range for a
        # filtered list page. A bounded analysis keeps this quick on large databases.
        conn.execute(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
        conn.execute("ANALYZE")
        return conn

    @staticmethod
    def _migrate(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        current = row[0] or 0
        for version, statements in MIGRATIONS:
            if version <= current:
                continue
            conn.execute("BEGIN IMMEDIATE")
            for statement in statements:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
            conn.execute("COMMIT")
            logger.info("applied schema migration %s", version)

    def _run(self, opened: Callable[[BaseException | None], None]) -> None:
        try:
            conn = self._open()
        except BaseException as error:  # noqa: BLE001 - reported to the awaiting caller
            opened(error)
            return
        opened(None)
        try:
            while True:
                item = self._queue.get()
                if item is _STOP:
                    return
                assert isinstance(item, _Work)
                if not item.is_write:
                    self._execute_read(conn, item)
                    continue
                batch = [item]
                stop = False
                # Drain every write already waiting: they all share this transaction.
                while True:
                    try:
                        more = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is _STOP:
                        stop = True
                        break
                    assert isinstance(more, _Work)
                    if more.is_write:
                        batch.append(more)
                    else:
                        self._execute_read(conn, more)
                self._execute_writes(conn, batch)
                if stop:
                    return
        finally:
            conn.execute("PRAGMA optimize")  # keep the statistics current for the next start
            conn.close()

    @classmethod
    def _resolve(cls, work: _Work, result: Any = None, error: BaseException | None = None) -> None:
        cls._resolve_all([work], [(result, error)])

    @staticmethod
    def _resolve_all(batch: list[_Work], outcomes: list[tuple[Any, BaseException | None]]) -> None:
        """Settle a group's futures with one wake-up of the event loop, not one per write."""

        def settle() -> None:
            for work, (result, error) in zip(batch, outcomes, strict=True):
                if work.future.done():
                    continue
                if error is not None:
                    work.future.set_exception(error)
                else:
                    work.future.set_result(result)

        batch[0].loop.call_soon_threadsafe(settle)

    def _execute_read(self, conn: sqlite3.Connection, work: _Work) -> None:
        try:
            result = work.fn(conn)
        except Exception as error:  # noqa: BLE001 - handed to the caller
            self._resolve(work, error=error)
        else:
            self._resolve(work, result)

    def _execute_writes(self, conn: sqlite3.Connection, batch: list[_Work]) -> None:
        try:
            outcomes = self._write_group(conn, batch, isolated=len(batch) == 1)
            if outcomes is None:
                # One write failed: redo the group with a savepoint around each write, so
                # that only the failed one is rolled back. Failures are rare (a lost race),
                # and savepoints cost two statements per write, so they are not the default.
                outcomes = self._write_group(conn, batch, isolated=True)
                assert outcomes is not None
        except sqlite3.Error as error:
            logger.exception("group commit of %d writes failed", len(batch))
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            for work in batch:
                self._resolve(work, error=error)
            return
        self.commits += 1
        before = self.mutations
        self.mutations += len(batch)
        if before // OPTIMIZE_EVERY != self.mutations // OPTIMIZE_EVERY:
            conn.execute("PRAGMA optimize")
        self._resolve_all(batch, outcomes)

    @staticmethod
    def _write_group(
        conn: sqlite3.Connection, batch: list[_Work], *, isolated: bool
    ) -> list[tuple[Any, BaseException | None]] | None:
        """Run the writes in one transaction and commit it.

        ``isolated``: each write's failure is its own (one savepoint each, or the group is
        that one write). Otherwise a failure rolls everything back and returns None.
        """
        savepoints = isolated and len(batch) > 1
        outcomes: list[tuple[Any, BaseException | None]] = []
        conn.execute("BEGIN IMMEDIATE")
        for work in batch:
            if savepoints:
                conn.execute("SAVEPOINT unit")
            try:
                result = work.fn(conn)
            except Exception as error:  # noqa: BLE001 - this caller's failure only
                if not savepoints:
                    conn.execute("ROLLBACK")
                    return [(None, error)] if isolated else None  # isolated: the group was this write
                conn.execute("ROLLBACK TO unit")
                conn.execute("RELEASE unit")
                outcomes.append((None, error))
            else:
                if savepoints:
                    conn.execute("RELEASE unit")
                outcomes.append((result, None))
        conn.execute("COMMIT")
        return outcomes

    async def _submit(self, fn: Callable[[sqlite3.Connection], T], *, write: bool) -> T:
        if self._thread is None:
            raise RuntimeError("persistence is not started")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Work(fn=fn, is_write=write, loop=loop, future=future))
        return await future

    # -- workflow runs ---------------------------------------------------------------

    async def commit(self, mutations: Sequence[WorkflowMutation]) -> None:
        mutations = list(mutations)
        await self._submit(lambda conn: _apply_mutations(conn, mutations), write=True)

    async def get_run(self, namespace_id: str, run_id: str) -> RunRecord | None:
        def read(conn: sqlite3.Connection) -> RunRecord | None:
            row = conn.execute(
                "SELECT namespace_id, workflow_id, run_id, db_version, status, state FROM executions"
                " WHERE namespace_id = ? AND run_id = ?",
                (namespace_id, run_id),
            ).fetchone()
            return RunRecord(*row) if row else None

        return await self._submit(read, write=False)

    async def get_current(self, namespace_id: str, workflow_id: str) -> CurrentRun | None:
        def read(conn: sqlite3.Connection) -> CurrentRun | None:
            row = conn.execute(
                "SELECT run_id, status, start_request_id, close_time FROM current_executions"
                " WHERE namespace_id = ? AND workflow_id = ?",
                (namespace_id, workflow_id),
            ).fetchone()
            return CurrentRun(*row) if row else None

        return await self._submit(read, write=False)

    async def read_history(self, namespace_id: str, run_id: str, first_event_id: int = 1) -> list[bytes]:
        def read(conn: sqlite3.Connection) -> list[bytes]:
            rows = conn.execute(
                "SELECT data FROM history_batches WHERE namespace_id = ? AND run_id = ? AND last_event_id >= ?"
                " ORDER BY first_event_id",
                (namespace_id, run_id, first_event_id),
            ).fetchall()
            return [row[0] for row in rows]

        return await self._submit(read, write=False)

    async def list_open_runs(self) -> list[RunRecord]:
        def read(conn: sqlite3.Connection) -> list[RunRecord]:
            rows = conn.execute(
                "SELECT namespace_id, workflow_id, run_id, db_version, status, state FROM executions WHERE status = ?",
                (OPEN_STATUS,),
            ).fetchall()
            return [RunRecord(*row) for row in rows]

        return await self._submit(read, write=False)

    async def delete_run(self, namespace_id: str, workflow_id: str, run_id: str) -> None:
        def write(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM executions WHERE namespace_id = ? AND run_id = ?", (namespace_id, run_id))
            conn.execute("DELETE FROM history_batches WHERE namespace_id = ? AND run_id = ?", (namespace_id, run_id))
            _delete_visibility(conn, namespace_id, run_id)
            conn.execute(
                "DELETE FROM current_executions WHERE namespace_id = ? AND workflow_id = ? AND run_id = ?",
                (namespace_id, workflow_id, run_id),
            )

        await self._submit(write, write=True)

    # -- namespaces ------------------------------------------------------------------

    async def save_namespace(self, record: NamespaceRecord, *, create: bool) -> None:
        def write(conn: sqlite3.Connection) -> None:
            if create:
                try:
                    conn.execute(
                        "INSERT INTO namespaces (id, name, data) VALUES (?, ?, ?)",
                        (record.id, record.name, record.data),
                    )
                except sqlite3.IntegrityError:
                    raise ConditionFailedError(f"namespace {record.name} already exists") from None
            else:
                conn.execute("UPDATE namespaces SET data = ? WHERE id = ?", (record.data, record.id))

        await self._submit(write, write=True)

    async def delete_namespace(self, namespace_id: str) -> None:
        def write(conn: sqlite3.Connection) -> None:
            for table in _NAMESPACE_TABLES:
                conn.execute(f"DELETE FROM {table} WHERE namespace_id = ?", (namespace_id,))
            conn.execute("DELETE FROM namespaces WHERE id = ?", (namespace_id,))

        await self._submit(write, write=True)

    async def list_namespaces(self) -> list[NamespaceRecord]:
        def read(conn: sqlite3.Connection) -> list[NamespaceRecord]:
            rows = conn.execute("SELECT id, name, data FROM namespaces ORDER BY name").fetchall()
            return [NamespaceRecord(*row) for row in rows]

        return await self._submit(read, write=False)

    async def query_visibility(self, statement: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        args = list(params)
        return await self._submit(lambda conn: conn.execute(statement, args).fetchall(), write=False)

    async def count_by_status(self, namespace_id: str) -> dict[int, int]:
        def read(conn: sqlite3.Connection) -> dict[int, int]:
            rows = conn.execute(
                "SELECT status, runs FROM visibility_counts WHERE namespace_id = ? AND runs > 0", (namespace_id,)
            )
            return dict(rows.fetchall())

        return await self._submit(read, write=False)

    # -- search attributes -----------------------------------------------------------

    async def list_search_attributes(self) -> dict[str, dict[str, int]]:
        def read(conn: sqlite3.Connection) -> dict[str, dict[str, int]]:
            result: dict[str, dict[str, int]] = {}
            for namespace_id, name, value_type in conn.execute(
                "SELECT namespace_id, name, value_type FROM search_attributes"
            ):
                result.setdefault(namespace_id, {})[name] = value_type
            return result

        return await self._submit(read, write=False)

    async def save_search_attributes(self, namespace_id: str, add: dict[str, int], remove: list[str]) -> None:
        def write(conn: sqlite3.Connection) -> None:
            for name, value_type in add.items():
                conn.execute(
                    "INSERT INTO search_attributes (namespace_id, name, value_type) VALUES (?, ?, ?)"
                    " ON CONFLICT (namespace_id, name) DO UPDATE SET value_type = excluded.value_type",
                    (namespace_id, name, value_type),
                )
            for name in remove:
                conn.execute("DELETE FROM search_attributes WHERE namespace_id = ? AND name = ?", (namespace_id, name))

        await self._submit(write, write=True)


def _apply_mutations(conn: sqlite3.Connection, mutations: list[WorkflowMutation]) -> None:
    """Apply the mutations of one caller; runs inside that caller's savepoint."""
    try:
        for m in mutations:
            _apply_mutation(conn, m)
    except sqlite3.IntegrityError as error:
        # A run or history batch that already exists: another writer got there first.
        raise ConditionFailedError(f"conflicting write: {error}") from error


def _apply_mutation(conn: sqlite3.Connection, m: WorkflowMutation) -> None:
    if m.current is not None:
        _move_current(conn, m)
    elif m.status_changed:
        conn.execute(
            "UPDATE current_executions SET status = ?, close_time = ?"
            " WHERE namespace_id = ? AND workflow_id = ? AND run_id = ?",
            (m.status, m.close_time, m.namespace_id, m.workflow_id, m.run_id),
        )
    if m.expected_db_version == 0:
        conn.execute(
            "INSERT INTO executions (namespace_id, run_id, workflow_id, db_version, status, workflow_type,"
            " task_queue, start_time, close_time, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                m.namespace_id, m.run_id, m.workflow_id, m.db_version, m.status, m.workflow_type,
                m.task_queue, m.start_time, m.close_time, m.state,
            ),
        )  # fmt: skip
    else:
        cursor = conn.execute(
            "UPDATE executions SET db_version = ?, status = ?, close_time = ?, state = ?"
            " WHERE namespace_id = ? AND run_id = ? AND db_version = ?",
            (m.db_version, m.status, m.close_time, m.state, m.namespace_id, m.run_id, m.expected_db_version),
        )
        if cursor.rowcount != 1:
            raise ConditionFailedError(
                f"run {m.run_id} is not at version {m.expected_db_version}: a newer state was written"
            )
    if m.history is not None:
        conn.execute(
            "INSERT INTO history_batches (namespace_id, run_id, first_event_id, last_event_id, data)"
            " VALUES (?, ?, ?, ?, ?)",
            (m.namespace_id, m.run_id, m.history.first_event_id, m.history.last_event_id, m.history.data),
        )
    if m.visibility is not None:
        _write_visibility(conn, m)


def _write_visibility(conn: sqlite3.Connection, m: WorkflowMutation) -> None:
    assert m.visibility is not None
    columns = m.visibility.columns
    previous = conn.execute(
        "SELECT status, namespace_division FROM visibility WHERE namespace_id = ? AND run_id = ?",
        (m.namespace_id, m.run_id),
    ).fetchone()
    if previous is not None:
        _count(conn, m.namespace_id, previous[0], previous[1], -1)
    _count(conn, m.namespace_id, columns["status"], columns["namespace_division"], +1)
    names = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    conn.execute(f"INSERT OR REPLACE INTO visibility ({names}) VALUES ({marks})", list(columns.values()))
    conn.execute(
        "DELETE FROM visibility_search_attributes WHERE namespace_id = ? AND run_id = ?", (m.namespace_id, m.run_id)
    )
    conn.executemany(
        "INSERT OR IGNORE INTO visibility_search_attributes (namespace_id, name, value, run_id) VALUES (?, ?, ?, ?)",
        [(m.namespace_id, name, value, m.run_id) for name, value in m.visibility.search_rows],
    )


def _count(conn: sqlite3.Connection, namespace_id: str, status: int, division: str | None, delta: int) -> None:
    """Keep visibility_counts in step (runs of a namespace division are not counted there)."""
    if division is not None:
        return
    conn.execute(
        "INSERT INTO visibility_counts (namespace_id, status, runs) VALUES (?, ?, ?)"
        " ON CONFLICT (namespace_id, status) DO UPDATE SET runs = runs + excluded.runs",
        (namespace_id, status, delta),
    )


def _delete_visibility(conn: sqlite3.Connection, namespace_id: str, run_id: str) -> None:
    previous = conn.execute(
        "SELECT status, namespace_division FROM visibility WHERE namespace_id = ? AND run_id = ?",
        (namespace_id, run_id),
    ).fetchone()
    if previous is not None:
        _count(conn, namespace_id, previous[0], previous[1], -1)
    conn.execute("DELETE FROM visibility WHERE namespace_id = ? AND run_id = ?", (namespace_id, run_id))
    conn.execute(
        "DELETE FROM visibility_search_attributes WHERE namespace_id = ? AND run_id = ?", (namespace_id, run_id)
    )


def _move_current(conn: sqlite3.Connection, m: WorkflowMutation) -> None:
    assert m.current is not None
    row = conn.execute(
        "SELECT run_id FROM current_executions WHERE namespace_id = ? AND workflow_id = ?",
        (m.namespace_id, m.workflow_id),
    ).fetchone()
    found = row[0] if row else None
    if found != m.current.expected_run_id:
        raise ConditionFailedError(
            f"workflow {m.workflow_id} current run is {found}, expected {m.current.expected_run_id}"
        )
    conn.execute(
        "INSERT INTO current_executions (namespace_id, workflow_id, run_id, status, start_request_id, close_time)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (namespace_id, workflow_id) DO UPDATE SET"
        " run_id = excluded.run_id, status = excluded.status, start_request_id = excluded.start_request_id,"
        " close_time = excluded.close_time",
        (m.namespace_id, m.workflow_id, m.run_id, m.status, m.current.start_request_id, m.close_time),
    )
