"""Fill a Gnomon database with N completed workflow runs, in minutes.

Running a million workflows through the server would take hours, so the runs are made
once and copied: a real Gnomon server runs a few template workflows (the ``raw`` driver,
so the rows are exactly what Gnomon writes), then every seeded run is a copy of a
template's rows with a new workflow id, run id and start request id, inserted in large
transactions. "A run's rows" is every row of every table with a ``run_id`` column
(mutable state, history batches, current-run pointer, visibility and its search
attribute index, ...), found from the schema itself, so the copy follows Gnomon's schema
as it changes. The ids are swapped in every text and blob value: byte for byte in
protobuf blobs (the new ids have the same length, so the encoding stays valid), and in
JSON blobs both in plain strings and inside their base64-encoded protobuf fields.
Timestamps and the template's task queue are kept: they do not change what the rows
cost to store or index. Run ids are made the way the server makes them (time-ordered
UUIDs, see ``gnomon.server.ids``), so the seeded runs sit in the indexes where runs
closed earlier would; start request ids are ``uuid4``, as the SDKs make them.

Seeding writes without a journal and without fsync (a crash means seeding again) and
switches the file back to WAL at the end, which is how Gnomon opens it. Afterwards a
Gnomon server is started on the file and a few seeded runs are read back through the
API (describe, history, and a visibility query) and checked.

    python bench/seed.py --db /tmp/seeded.db --runs 1000000
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import json
import random
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: import from the repository, not from bench/
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import grpc  # noqa: E402
from temporalio.api.common.v1 import WorkflowExecution  # noqa: E402
from temporalio.api.enums.v1 import WorkflowExecutionStatus  # noqa: E402
from temporalio.api.workflowservice.v1 import (  # noqa: E402
    DescribeWorkflowExecutionRequest,
    ListWorkflowExecutionsRequest,
)
from temporalio.api.workflowservice.v1.service_pb2_grpc import WorkflowServiceStub  # noqa: E402

from bench.drivers import raw  # noqa: E402
from bench.drivers.common import run_workflows, workflow_id  # noqa: E402
from bench.histories import event_types  # noqa: E402
from bench.workloads import NAMESPACE, WORKLOADS, Step, expected_event_types  # noqa: E402
from gnomon.server.ids import new_id  # noqa: E402
from tests.support.servers import start_gnomon  # noqa: E402

TEMPLATE_RUNS = 16
TEMPLATE_PREFIX = "seed-template"
SEEDED_PREFIX = "seeded-"
RUNS_PER_TRANSACTION = 20_000
VERIFY_SAMPLE = 5
CACHE_KIB = 1_000_000  # SQLite page cache while seeding: keeps the indexes in memory

Row = tuple[Any, ...]


@dataclass
class TableRows:
    """A template run's rows in one table, and where its ids hide inside them."""

    table: str
    columns: list[str]
    rows: list[Row]
    # Per (row, column): base64 strings inside a JSON value whose decoded bytes hold an id.
    encoded_ids: dict[tuple[int, int], list[str]]

    @property
    def insert_sql(self) -> str:
        marks = ", ".join("?" * len(self.columns))
        return f"INSERT INTO {self.table} ({', '.join(self.columns)}) VALUES ({marks})"


@dataclass
class TemplateRun:
    """A completed run's rows in every table, ready to be copied under other ids."""

    ids: list[str]  # workflow id, run id, start request id
    tables: list[TableRows]

    @property
    def workflow_id(self) -> str:
        return self.ids[0]

    def copy(self, new_ids: list[str]) -> dict[str, list[Row]]:
        """The copy's rows, by table, with every id swapped for its new one."""
        swaps = list(zip(self.ids, new_ids, strict=True))
        copied: dict[str, list[Row]] = {}
        for table in self.tables:
            rows = copied.setdefault(table.table, [])
            for r, row in enumerate(table.rows):
                rows.append(
                    tuple(_swap(value, swaps, table.encoded_ids.get((r, c), ())) for c, value in enumerate(row))
                )
        return copied


def _swap(value: Any, swaps: list[tuple[str, str]], encoded: Sequence[str]) -> Any:
    """``value`` with the ids swapped, also inside the given base64 strings it contains."""
    if isinstance(value, str):
        for old, new in swaps:
            value = value.replace(old, new)
        return value
    if not isinstance(value, bytes):
        return value
    for old, new in swaps:
        value = value.replace(old.encode(), new.encode())
    for text in encoded:
        data = base64.b64decode(text)
        for old, new in swaps:
            data = data.replace(old.encode(), new.encode())
        value = value.replace(text.encode(), base64.b64encode(data))
    return value


def _json_strings(value: Any) -> Iterator[str]:
    """Every string value in a decoded JSON tree."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _json_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_strings(item)


def _encoded_ids(value: Any, ids: list[str]) -> list[str]:
    """The base64 strings in a JSON blob whose decoded bytes contain one of ``ids``.

    Base64 text never contains ``-``, which every id has, so the plain swap cannot touch them.
    """
    if not isinstance(value, bytes):
        return []
    try:
        tree = json.loads(value)
    except (UnicodeDecodeError, ValueError):
        return []  # not JSON: a protobuf blob, swapped byte for byte
    found = []
    for text in set(_json_strings(tree)):
        try:
            decoded = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            continue
        if any(i.encode() in decoded for i in ids):
            found.append(text)
    return found


def run_tables(conn: sqlite3.Connection) -> list[tuple[str, list[str]]]:
    """Every table that holds rows per run (it has a ``run_id`` column), with its columns."""
    found = []
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"):
        columns = [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
        if "run_id" in columns:
            found.append((table, columns))
    return found


def load_templates(conn: sqlite3.Connection) -> list[TemplateRun]:
    """The completed template runs in the database, with their rows in every per-run table."""
    tables = run_tables(conn)
    templates = []
    runs = conn.execute(
        "SELECT e.namespace_id, e.workflow_id, e.run_id, c.start_request_id FROM executions e"
        " JOIN current_executions c ON c.namespace_id = e.namespace_id AND c.run_id = e.run_id"
        " WHERE e.workflow_id LIKE ? AND e.status = ?",
        (f"{TEMPLATE_PREFIX}-%", WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED),
    ).fetchall()
    for namespace_id, wid, run_id, request_id in runs:
        ids = [wid, run_id, request_id]
        rows_by_table = []
        for table, columns in tables:
            rows = conn.execute(
                f"SELECT {', '.join(columns)} FROM {table} WHERE namespace_id = ? AND run_id = ?",
                (namespace_id, run_id),
            ).fetchall()
            encoded = {
                (r, c): found
                for r, row in enumerate(rows)
                for c, value in enumerate(row)
                if (found := _encoded_ids(value, ids))
            }
            rows_by_table.append(TableRows(table, columns, rows, encoded))
        templates.append(TemplateRun(ids=ids, tables=rows_by_table))
    if not templates:
        raise RuntimeError("the template database holds no completed template run")
    return templates


def make_template_db(path: Path, workload: str, log_dir: Path) -> None:
    """Run the template workflows on a real Gnomon server writing to ``path``."""
    server = start_gnomon(log_dir, db_filename=path)
    try:
        outcome = asyncio.run(
            run_workflows(
                raw.open_session,
                server.address,
                WORKLOADS[workload],
                workflows=TEMPLATE_RUNS,
                concurrency=4,
                id_prefix=TEMPLATE_PREFIX,
                task_queue=f"seed-template-{uuid.uuid4().hex[:8]}",
            )
        )
    finally:
        server.stop()
    if outcome.error_count:
        raise RuntimeError(f"template workflows failed: {outcome.errors}")


def _copy_database(source: Path, target: Path) -> None:
    """A consistent single-file copy (the source may still have a WAL beside it)."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def insert_copies(conn: sqlite3.Connection, templates: list[TemplateRun], runs: int, *, progress: bool) -> None:
    """Insert ``runs`` copies of the templates, many runs per transaction."""
    width = len(templates[0].workflow_id) - len(SEEDED_PREFIX)
    if len(str(runs)) > width or any(len(t.workflow_id) != width + len(SEEDED_PREFIX) for t in templates):
        raise ValueError(f"cannot make {runs} workflow ids as long as the templates'")
    statements = {table.table: table.insert_sql for table in templates[0].tables}
    started = time.monotonic()
    for first in range(0, runs, RUNS_PER_TRANSACTION):
        last = min(runs, first + RUNS_PER_TRANSACTION)
        rows: dict[str, list[Row]] = {table: [] for table in statements}
        for i in range(first, last):
            new_ids = [f"{SEEDED_PREFIX}{i:0{width}d}", new_id(), str(uuid.uuid4())]
            for table, copied in templates[i % len(templates)].copy(new_ids).items():
                rows[table] += copied
        conn.execute("BEGIN")
        for table, sql in statements.items():
            conn.executemany(sql, rows[table])
        conn.execute("COMMIT")
        if progress:
            rate = last / (time.monotonic() - started)
            print(f"  seeded {last:,}/{runs:,} runs ({rate:,.0f} runs/s)", file=sys.stderr, flush=True)


async def _verify_copies(address: str, workload: str, workflow_ids: list[str]) -> None:
    expected = expected_event_types(WORKLOADS[workload])
    async with grpc.aio.insecure_channel(address) as channel:
        stub = WorkflowServiceStub(channel)
        for wid in workflow_ids:
            described = await stub.DescribeWorkflowExecution(
                DescribeWorkflowExecutionRequest(namespace=NAMESPACE, execution=WorkflowExecution(workflow_id=wid))
            )
            status = described.workflow_execution_info.status
            if status != WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED:
                raise RuntimeError(f"seeded run {wid} has status {status}")
            got = await event_types(stub, wid)
            if expected is not None and got != expected:
                raise RuntimeError(f"seeded run {wid} has history {got}, expected {expected}")
            listed = await stub.ListWorkflowExecutions(
                ListWorkflowExecutionsRequest(namespace=NAMESPACE, query=f"WorkflowId = '{wid}'")
            )
            if [e.execution.run_id for e in listed.executions] != [described.workflow_execution_info.execution.run_id]:
                raise RuntimeError(f"visibility does not list seeded run {wid}: {listed}")


def verify(db: Path, runs: int, workload: str, log_dir: Path) -> None:
    """Start Gnomon on the seeded file and read a few seeded runs back through the API."""
    width = len(workflow_id(TEMPLATE_PREFIX, 0)) - len(SEEDED_PREFIX)
    sample = [f"{SEEDED_PREFIX}{i:0{width}d}" for i in random.sample(range(runs), min(VERIFY_SAMPLE, runs))]
    server = start_gnomon(log_dir, db_filename=db)
    try:
        asyncio.run(_verify_copies(server.address, workload, sample))
    finally:
        server.stop()


@dataclass(frozen=True)
class SeedReport:
    runs: int
    seconds: float
    db_bytes: int


def seed(db: Path, runs: int, *, workload: str = "one_activity", progress: bool = True) -> SeedReport:
    """Create ``db`` holding ``runs`` completed runs of ``workload`` (plus the few templates)."""
    if db.exists():
        raise FileExistsError(f"{db} exists; seeding wants a new file")
    db.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="gnomon-seed-") as tmp:
        template_db = Path(tmp) / "template.db"
        make_template_db(template_db, workload, Path(tmp))
        _copy_database(template_db, db)
        conn = sqlite3.connect(db, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=OFF")
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
            insert_copies(conn, load_templates(conn), runs, progress=progress)
            conn.execute("PRAGMA journal_mode=WAL")
        finally:
            conn.close()
        seconds = time.monotonic() - started
        verify(db, runs, workload, Path(tmp))
    return SeedReport(runs=runs, seconds=seconds, db_bytes=db.stat().st_size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="database file to create")
    parser.add_argument("--runs", type=int, default=1_000_000, help="completed runs to create")
    # A child run would be a second run per copy, under an id of another length: not supported.
    single_run = sorted(name for name, w in WORKLOADS.items() if Step.CHILD not in w.steps)
    parser.add_argument("--workload", default="one_activity", choices=single_run)
    args = parser.parse_args()
    if shutil.disk_usage(args.db.resolve().parent if args.db.parent.exists() else Path.cwd()).free < args.runs * 8192:
        print("warning: the disk may be too small (one_activity runs take about 6 KB each)", file=sys.stderr)
    report = seed(args.db, args.runs, workload=args.workload)
    print(
        f"seeded {report.runs:,} runs into {args.db} in {report.seconds:.0f}s"
        f" ({report.runs / report.seconds:,.0f} runs/s, {report.db_bytes / 1e9:.2f} GB)"
    )


if __name__ == "__main__":
    main()
