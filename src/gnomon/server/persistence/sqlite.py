"""SQLite persistence with group commit.

Every write of one event-loop iteration, and every write that arrives while the previous
group is being committed, shares one transaction and pays for one fsync. Under load many
runs' state changes share a commit: that is where the throughput comes from.

The statements of a group run on the event-loop thread: they only touch pages in
memory, and running them there avoids handing the GIL back and forth with another
thread for every statement (each handoff can wait for the event loop to reach a switch
point, which made commits several times slower than the statements themselves). Only
``COMMIT``, which writes the WAL and waits for the fsync, runs on the commit thread, and
the loop does not touch the connection again until it is done. Reads use connections
of their own, which WAL mode lets run beside the writer and which see only committed
data: lookups of a row by key on the loop thread (a trip to another thread would cost
more than the lookup), everything else on a read thread.

An in-memory database has one connection (a second would be another, empty database)
and nothing that waits for a disk, so there everything runs on the event-loop thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from gnomon.server.persistence import sqlite_visibility as visibility
from gnomon.server.persistence.disk_full import DiskFullEpisodes, is_disk_full
from gnomon.server.persistence.interface import (
    ConditionFailedError,
    CurrentRun,
    DerivedColumns,
    NamespaceRecord,
    Persistence,
    RunRecord,
    RunRef,
    StorageFullError,
    WorkflowMutation,
)
from gnomon.server.persistence.schema import MIGRATIONS
from gnomon.server.persistence.worker_thread import WorkerThread

logger = logging.getLogger(__name__)

T = TypeVar("T")
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
    visibility.PENDING_TABLE,
    "search_attributes",
)
# Checkpoint the WAL this long after a commit (at most once per interval).
CHECKPOINT_EVERY_S = 1.0
# The WAL file is truncated back to this size after a checkpoint let it restart.
WAL_SIZE_LIMIT = 64 * 1024 * 1024
# How long a visibility change may wait for other changes to share its write (see sqlite_visibility).
# A run that starts and closes within one wait is written to the visibility tables once. Short
# runs last tens of milliseconds: at 50 ms, 1.6 writes per run were measured; this cuts it to
# about 1.1. Reads flush first, so the wait never hides a change from a list or count.
VISIBILITY_FLUSH_DELAY_S = 0.25

Outcome = tuple[Any, BaseException | None]


@dataclass
class _Write:
    fn: Callable[[sqlite3.Connection], Any]
    future: asyncio.Future[Any]
    # Work that may take long (deleting a namespace): its group runs on the commit thread.
    heavy: bool = False


class SqlitePersistence(Persistence):
    """Persistence on one SQLite database file (or ``:memory:``)."""

    def __init__(self, path: str | Path) -> None:
        self._path = str(path)
        self._durable = self._path != ":memory:"
        self._writer: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None  # a file database only, on the read thread
        self._lookups: sqlite3.Connection | None = None  # a file database only, on the loop thread
        self._commit_thread: WorkerThread | None = None
        self._read_thread: ThreadPoolExecutor | None = None
        self._checkpoint_thread: ThreadPoolExecutor | None = None
        self._checkpointer: sqlite3.Connection | None = None
        self._checkpoint_timer: asyncio.TimerHandle | None = None
        self._checkpoint: asyncio.Future[None] | None = None
        self._pending: list[_Write] = []
        self._group_running = False
        self._idle = asyncio.Event()
        self._idle.set()
        # Changes submitted with a visibility row, and how many of them a flush has written.
        self._visibility_staged = 0
        self._visibility_flushed = 0
        self._flush_timer: asyncio.TimerHandle | None = None
        self._flushes: set[asyncio.Task[None]] = set()
        self.commits = 0  # transactions committed, for the benchmark and tests
        self.mutations = 0
        self._disk = DiskFullEpisodes(self._path)

    @property
    def path(self) -> str:
        return self._path

    # -- lifecycle -----------------------------------------------------------------

    async def start(self) -> None:
        if not self._durable:
            self._writer = self._open_writer()
            return
        self._commit_thread = WorkerThread("gnomon-sqlite-commit")
        self._read_thread = ThreadPoolExecutor(1, thread_name_prefix="gnomon-sqlite-read")
        loop = asyncio.get_running_loop()
        # Migrations and ANALYZE may take a while on a large database: not on the loop.
        self._writer = await self._commit_thread.run(self._open_writer)
        self._reader = await loop.run_in_executor(self._read_thread, self._open_reader)
        self._lookups = self._open_reader()
        self._checkpoint_thread = ThreadPoolExecutor(1, thread_name_prefix="gnomon-sqlite-checkpoint")
        self._checkpointer = await loop.run_in_executor(self._checkpoint_thread, self._connect)
        # Rows still staged when the server stopped; on a full disk they stay staged, and lists
        # flush again before reading once there is space.
        with contextlib.suppress(StorageFullError):
            await self.flush_visibility()

    async def close(self) -> None:
        writer = self._writer
        if writer is None:
            return
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        await asyncio.gather(*self._flushes)
        await self.flush_visibility()
        await self._idle.wait()
        self._writer = None
        loop = asyncio.get_running_loop()
        if self._commit_thread is not None:
            await self._commit_thread.run(_close_writer, writer)
            self._commit_thread.shutdown()
        else:
            _close_writer(writer)
        if self._read_thread is not None and self._reader is not None:
            await loop.run_in_executor(self._read_thread, self._reader.close)
            self._read_thread.shutdown()
        if self._lookups is not None:
            self._lookups.close()
        self._reader = self._lookups = None
        if self._checkpoint_timer is not None:
            self._checkpoint_timer.cancel()
        if self._checkpoint is not None:
            await self._checkpoint
        if self._checkpoint_thread is not None and self._checkpointer is not None:
            await loop.run_in_executor(self._checkpoint_thread, self._checkpointer.close)
            self._checkpoint_thread.shutdown()
        self._checkpointer = None

    def _open_writer(self) -> sqlite3.Connection:
        if self._durable:
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        if self._durable:
            conn.execute("PRAGMA journal_mode=WAL")
            # FULL: the WAL is fsynced at every commit, so an acknowledged RPC survives a crash.
            conn.execute("PRAGMA synchronous=FULL")
            # Checkpoints run on a thread of their own (see _checkpoint_later), not inside a
            # COMMIT: on a large database one writes pages all over the file and fsyncs it,
            # and every acknowledgement would wait for that.
            conn.execute("PRAGMA wal_autocheckpoint=0")
            conn.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
        conn.execute("PRAGMA foreign_keys=OFF")
        self._migrate(conn)
        # Planner statistics: without them SQLite may walk a whole time range for a
        # filtered list page. A bounded analysis keeps this quick on large databases.
        conn.execute(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
        try:
            conn.execute("ANALYZE")
        except sqlite3.Error as error:
            if not is_disk_full(error):
                raise
            # Statistics are an optimisation: start without fresh ones (writes wait for space anyway).
            _rollback(conn)
            logger.warning("disk full: starting without refreshing planner statistics (%s)", error)
        return conn

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)

    def _open_reader(self) -> sqlite3.Connection:
        conn = self._connect()
        conn.execute("PRAGMA query_only=ON")
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

    # -- reads ---------------------------------------------------------------------

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._writer is None:
            raise RuntimeError("persistence is not started")
        if self._reader is None:
            return fn(self._writer)  # in memory: between groups, nothing uncommitted is visible
        # Every read is one statement, so it sees one committed state of the database.
        return await asyncio.get_running_loop().run_in_executor(self._read_thread, fn, self._reader)

    def _lookup(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """A read of a few rows by key, on the loop thread: cheaper than a trip to the read thread."""
        conn = self._lookups or self._writer
        if conn is None:
            raise RuntimeError("persistence is not started")
        return fn(conn)

    # -- writes: group commit --------------------------------------------------------

    async def _write(self, fn: Callable[[sqlite3.Connection], T], *, heavy: bool = False) -> T:
        if self._writer is None:
            raise RuntimeError("persistence is not started")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._pending.append(_Write(fn, future, heavy))
        if not self._group_running:
            # Start on the next loop iteration, so that every write of this one joins the group.
            self._group_running = True
            self._idle.clear()
            loop.call_soon(self._run_group)
        return await future

    def _run_group(self) -> None:
        writer = self._writer
        assert writer is not None
        batch, self._pending = self._pending, []
        self.mutations += len(batch)
        optimize = (self.mutations - len(batch)) // OPTIMIZE_EVERY != self.mutations // OPTIMIZE_EVERY
        if self._commit_thread is None:
            self._group_done(batch, *_apply_and_commit(writer, batch, optimize))
            return
        if any(work.heavy for work in batch):
            job = functools.partial(_apply_and_commit, writer, batch, optimize)
        else:
            try:
                outcomes = _apply_group(writer, batch)
            except sqlite3.Error as error:
                _rollback(writer)
                self._group_done(batch, None, error)
                return
            job = functools.partial(_commit, writer, outcomes, optimize)

        def committed(result: Any, error: BaseException | None) -> None:
            self._group_done(batch, *((None, error) if error is not None else result))

        self._commit_thread.submit(job, committed)

    def _group_done(self, batch: list[_Write], outcomes: list[Outcome] | None, error: BaseException | None) -> None:
        if error is not None:
            if is_disk_full(error):
                error = self._disk.refused(error, len(batch))
            else:
                logger.error("group commit of %d writes failed: %s", len(batch), error)
            outcomes = [(None, error)] * len(batch)
        else:
            self.commits += 1
            self._disk.succeeded()
            if self._checkpoint_thread is not None and self._checkpoint_timer is None:
                self._checkpoint_later()
        assert outcomes is not None
        for work, (result, failure) in zip(batch, outcomes, strict=True):
            if work.future.done():
                continue  # its caller gave up waiting (the write may still have landed)
            if failure is not None:
                if is_disk_full(failure):
                    failure = self._disk.refused(failure)
                work.future.set_exception(failure)
            else:
                work.future.set_result(result)
        if self._pending:
            self._run_group()
        else:
            self._group_running = False
            self._idle.set()

    def _checkpoint_later(self) -> None:
        loop = asyncio.get_running_loop()

        def run() -> None:
            if self._checkpoint is not None and not self._checkpoint.done():
                self._checkpoint_timer = loop.call_later(CHECKPOINT_EVERY_S, run)  # still busy with the last one
                return
            self._checkpoint_timer = None
            self._checkpoint = loop.run_in_executor(self._checkpoint_thread, _checkpoint, self._checkpointer)

        self._checkpoint_timer = loop.call_later(CHECKPOINT_EVERY_S, run)

    # -- workflow runs ---------------------------------------------------------------

    async def commit(self, mutations: Sequence[WorkflowMutation]) -> None:
        mutations = list(mutations)
        if any(m.visibility is not None for m in mutations):
            self._visibility_staged += 1
            if self._flush_timer is None:
                self._flush_timer = asyncio.get_running_loop().call_later(
                    VISIBILITY_FLUSH_DELAY_S, self._flush_in_background
                )
        await self._write(lambda conn: _apply_mutations(conn, mutations))

    # -- visibility --------------------------------------------------------------------

    async def flush_visibility(self) -> None:
        """Write every visibility row staged so far into the visibility tables."""
        staged = self._visibility_staged
        await self._write(visibility.flush_pending)
        # Writes are applied in the order submitted: every row staged before this flush is in.
        self._visibility_flushed = max(self._visibility_flushed, staged)

    async def _visibility_current(self) -> None:
        """Before a visibility read: flush, so that it sees every acknowledged change."""
        if self._visibility_flushed < self._visibility_staged:
            await self.flush_visibility()

    def _flush_in_background(self) -> None:
        self._flush_timer = None
        if self._visibility_flushed < self._visibility_staged:
            task = asyncio.get_running_loop().create_task(self._flush_logged())
            self._flushes.add(task)
            task.add_done_callback(self._flushes.discard)

    async def _flush_logged(self) -> None:
        try:
            await self.flush_visibility()
        except StorageFullError:
            pass  # the episode is logged; the rows stay pending until there is space
        except sqlite3.Error:
            # The rows stay pending: the next change or visibility read flushes again.
            logger.exception("flushing visibility rows failed")

    async def get_run(self, namespace_id: str, run_id: str) -> RunRecord | None:
        def read(conn: sqlite3.Connection) -> RunRecord | None:
            row = conn.execute(
                "SELECT namespace_id, workflow_id, run_id, db_version, status, state, next_deadline, has_work"
                " FROM executions WHERE namespace_id = ? AND run_id = ?",
                (namespace_id, run_id),
            ).fetchone()
            if row is None:
                return None
            namespace, workflow, run, version, status, state, next_deadline, has_work = row
            return RunRecord(
                namespace, workflow, run, version, status, state, DerivedColumns(next_deadline, bool(has_work))
            )

        return self._lookup(read)

    async def get_current(self, namespace_id: str, workflow_id: str) -> CurrentRun | None:
        def read(conn: sqlite3.Connection) -> CurrentRun | None:
            row = conn.execute(
                "SELECT run_id, status, start_request_id, close_time FROM current_executions"
                " WHERE namespace_id = ? AND workflow_id = ?",
                (namespace_id, workflow_id),
            ).fetchone()
            return CurrentRun(*row) if row else None

        return self._lookup(read)

    async def read_history(self, namespace_id: str, run_id: str, first_event_id: int = 1) -> list[bytes]:
        def read(conn: sqlite3.Connection) -> list[bytes]:
            rows = conn.execute(
                "SELECT data FROM history_batches WHERE namespace_id = ? AND run_id = ? AND last_event_id >= ?"
                " ORDER BY first_event_id",
                (namespace_id, run_id, first_event_id),
            ).fetchall()
            return [row[0] for row in rows]

        return await self._read(read)

    async def runs_due(
        self, until: float, after: tuple[float, str, str] | None, limit: int
    ) -> list[tuple[float, RunRef]]:
        def read(conn: sqlite3.Connection) -> list[tuple[float, RunRef]]:
            start = after or (float("-inf"), "", "")
            rows = conn.execute(
                "SELECT next_deadline, namespace_id, run_id FROM executions"
                " WHERE next_deadline IS NOT NULL AND next_deadline <= ?"
                " AND (next_deadline, namespace_id, run_id) > (?, ?, ?)"
                " ORDER BY next_deadline, namespace_id, run_id LIMIT ?",
                (until, *start, limit),
            ).fetchall()
            return [(when, RunRef(ns, run)) for when, ns, run in rows]

        return await self._read(read)

    async def runs_with_work(self, after: RunRef | None, limit: int) -> list[RunRef]:
        def read(conn: sqlite3.Connection) -> list[RunRef]:
            start = (after.namespace_id, after.run_id) if after else ("", "")
            rows = conn.execute(
                "SELECT namespace_id, run_id FROM executions WHERE has_work = 1"
                " AND (namespace_id, run_id) > (?, ?) ORDER BY namespace_id, run_id LIMIT ?",
                (*start, limit),
            ).fetchall()
            return [RunRef(ns, run) for ns, run in rows]

        return await self._read(read)

    async def set_derived(self, namespace_id: str, run_id: str, db_version: int, derived: DerivedColumns) -> None:
        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE executions SET next_deadline = ?, has_work = ?"
                " WHERE namespace_id = ? AND run_id = ? AND db_version = ?",
                (derived.next_deadline, int(derived.has_work), namespace_id, run_id, db_version),
            )

        await self._write(write)

    async def delete_run(self, namespace_id: str, workflow_id: str, run_id: str) -> None:
        def write(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM executions WHERE namespace_id = ? AND run_id = ?", (namespace_id, run_id))
            conn.execute("DELETE FROM history_batches WHERE namespace_id = ? AND run_id = ?", (namespace_id, run_id))
            visibility.delete(conn, namespace_id, run_id)
            conn.execute(
                "DELETE FROM current_executions WHERE namespace_id = ? AND workflow_id = ? AND run_id = ?",
                (namespace_id, workflow_id, run_id),
            )

        await self._write(write)

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

        await self._write(write)

    async def delete_namespace(self, namespace_id: str) -> None:
        def write(conn: sqlite3.Connection) -> None:
            for table in _NAMESPACE_TABLES:
                conn.execute(f"DELETE FROM {table} WHERE namespace_id = ?", (namespace_id,))
            conn.execute("DELETE FROM namespaces WHERE id = ?", (namespace_id,))

        await self._write(write, heavy=True)  # may delete millions of rows: not on the loop

    async def list_namespaces(self) -> list[NamespaceRecord]:
        def read(conn: sqlite3.Connection) -> list[NamespaceRecord]:
            rows = conn.execute("SELECT id, name, data FROM namespaces ORDER BY name").fetchall()
            return [NamespaceRecord(*row) for row in rows]

        return await self._read(read)

    async def query_visibility(self, statement: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        args = list(params)
        await self._visibility_current()
        return await self._read(lambda conn: conn.execute(statement, args).fetchall())

    async def count_by_status(self, namespace_id: str) -> dict[int, int]:
        def read(conn: sqlite3.Connection) -> dict[int, int]:
            rows = conn.execute(
                "SELECT status, runs FROM visibility_counts WHERE namespace_id = ? AND runs > 0", (namespace_id,)
            )
            return dict(rows.fetchall())

        await self._visibility_current()
        return await self._read(read)

    # -- search attributes -----------------------------------------------------------

    async def list_search_attributes(self) -> dict[str, dict[str, int]]:
        def read(conn: sqlite3.Connection) -> dict[str, dict[str, int]]:
            result: dict[str, dict[str, int]] = {}
            for namespace_id, name, value_type in conn.execute(
                "SELECT namespace_id, name, value_type FROM search_attributes"
            ):
                result.setdefault(namespace_id, {})[name] = value_type
            return result

        return await self._read(read)

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

        await self._write(write)


# -- the group commit's steps (on the event-loop thread, or the commit thread) ----------


def _apply_group(conn: sqlite3.Connection, batch: list[_Write]) -> list[Outcome]:
    """Run a group's writes in one transaction, left open; one caller's failure is its own."""
    outcomes = _try_group(conn, batch, savepoints=False)
    if outcomes is None:
        # One write failed: redo the group with a savepoint around each write, so that only
        # the failed one is rolled back. Failures are rare (a lost race), and savepoints cost
        # two statements per write, so they are not the default.
        outcomes = _try_group(conn, batch, savepoints=True)
        assert outcomes is not None
    return outcomes


def _try_group(conn: sqlite3.Connection, batch: list[_Write], *, savepoints: bool) -> list[Outcome] | None:
    """Without savepoints, a failed write rolls everything back and None is returned."""
    outcomes: list[Outcome] = []
    conn.execute("BEGIN IMMEDIATE")
    for work in batch:
        if savepoints:
            conn.execute("SAVEPOINT unit")
        try:
            result = work.fn(conn)
        except Exception as error:  # noqa: BLE001 - this caller's failure only
            if not savepoints:
                conn.execute("ROLLBACK")
                return None
            conn.execute("ROLLBACK TO unit")
            conn.execute("RELEASE unit")
            outcomes.append((None, error))
        else:
            if savepoints:
                conn.execute("RELEASE unit")
            outcomes.append((result, None))
    return outcomes


def _commit(
    conn: sqlite3.Connection, outcomes: list[Outcome], optimize: bool
) -> tuple[list[Outcome] | None, BaseException | None]:
    """Commit the open group; on failure roll it back and return the error for every caller."""
    try:
        conn.execute("COMMIT")
        if optimize:
            conn.execute("PRAGMA optimize")  # refresh the planner's statistics as tables grow
    except sqlite3.Error as error:
        _rollback(conn)
        return None, error
    return outcomes, None


def _apply_and_commit(
    conn: sqlite3.Connection, batch: list[_Write], optimize: bool
) -> tuple[list[Outcome] | None, BaseException | None]:
    try:
        outcomes = _apply_group(conn, batch)
    except sqlite3.Error as error:
        _rollback(conn)
        return None, error
    return _commit(conn, outcomes, optimize)


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _checkpoint(conn: sqlite3.Connection | None) -> None:
    """Copy committed WAL frames into the database file; PASSIVE never blocks the writer."""
    if conn is None:
        return
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except sqlite3.Error as error:
        logger.warning("WAL checkpoint failed, retried after the next commits: %s", error)


def _close_writer(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA optimize")  # keep the statistics current for the next start
    conn.close()


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
            " task_queue, start_time, close_time, state, next_deadline, has_work)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                m.namespace_id, m.run_id, m.workflow_id, m.db_version, m.status, m.workflow_type,
                m.task_queue, m.start_time, m.close_time, m.state, m.derived.next_deadline, m.derived.has_work,
            ),
        )  # fmt: skip
    else:
        cursor = conn.execute(
            "UPDATE executions SET db_version = ?, status = ?, close_time = ?, state = ?, next_deadline = ?,"
            " has_work = ? WHERE namespace_id = ? AND run_id = ? AND db_version = ?",
            (
                m.db_version, m.status, m.close_time, m.state, m.derived.next_deadline, m.derived.has_work,
                m.namespace_id, m.run_id, m.expected_db_version,
            ),
        )  # fmt: skip
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
        visibility.stage(conn, m.namespace_id, m.run_id, m.visibility)


def _move_current(conn: sqlite3.Connection, m: WorkflowMutation) -> None:
    """Point the workflow id at this run, if it points where the caller expects (one statement)."""
    assert m.current is not None
    if m.current.expected_run_id is None:
        try:
            conn.execute(
                "INSERT INTO current_executions (namespace_id, workflow_id, run_id, status, start_request_id,"
                " close_time) VALUES (?, ?, ?, ?, ?, ?)",
                (m.namespace_id, m.workflow_id, m.run_id, m.status, m.current.start_request_id, m.close_time),
            )
        except sqlite3.IntegrityError:
            raise ConditionFailedError(f"workflow {m.workflow_id} has a current run, expected none") from None
        return
    cursor = conn.execute(
        "UPDATE current_executions SET run_id = ?, status = ?, start_request_id = ?, close_time = ?"
        " WHERE namespace_id = ? AND workflow_id = ? AND run_id = ?",
        (
            m.run_id, m.status, m.current.start_request_id, m.close_time,
            m.namespace_id, m.workflow_id, m.current.expected_run_id,
        ),
    )  # fmt: skip
    if cursor.rowcount != 1:
        raise ConditionFailedError(
            f"workflow {m.workflow_id} current run is not {m.current.expected_run_id}: another run took its place"
        )
