"""Visibility at scale: list and count queries on a Gnomon database holding N closed runs.

The target: with 1,000,000 closed executions, a filtered list page (ExecutionStatus, a custom
Keyword attribute and a StartTime range) and a count by status (GROUP BY ExecutionStatus)
each answer in under 100 ms.

How it works. Running a million workflows would take hours, so the visibility rows are
written directly: a real Gnomon server is started once on a fresh SQLite file (its
migrations make the schema, it creates the ``default`` namespace) and the custom Keyword
attribute is registered through the OperatorService; the server is stopped, and N rows
are inserted into ``visibility`` and ``visibility_search_attributes`` in large transactions,
encoded with Gnomon's own code (``query_sql.index_values`` / ``to_micros``, the column set
``records.visibility_record`` writes). Secondary indexes are dropped during the bulk insert
and re-created afterwards from their own SQL (sqlite_master), so the schema ends up exactly
as the migrations made it; the file is switched back to WAL, which is how Gnomon opens it.
No ANALYZE is run: Gnomon does not run it either, so the planner sees what it would see.

The rows vary as a real namespace would: 8 workflow types and 4 task queues with skewed
frequencies, closed statuses (mostly Completed; Failed, Terminated, Canceled, TimedOut,
ContinuedAsNew), start times spread over the last 30 days, durations from seconds to hours,
and a custom Keyword attribute (``Tenant``) with 100 distinct values on 95% of the runs.

Then a Gnomon server is started on the file and each query shape is sent over gRPC with the
official SDK's client (raw ``ListWorkflowExecutions`` / ``CountWorkflowExecutions`` RPCs, the
calls ``client.list_workflows(...)`` and ``client.count_workflows(...)`` make) ``--repeat``
times after two warm-up calls; median and p95 are reported, and the plan SQLite chooses for
each (EXPLAIN QUERY PLAN of the SQL Gnomon compiles) is recorded in the JSON.

    python bench/visibility.py --json /tmp/visibility.json                 # 1,000,000 runs: a few minutes
    python bench/visibility.py --runs 100000 --json /tmp/visibility.json   # quick
    python bench/visibility.py --reuse                                     # time the seeded file again
    python bench/visibility.py --reuse --analyze                           # ... with planner statistics

The database goes to test-output/visibility-<runs>.db unless ``--db`` says otherwise (never commit it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: import from the repository, not from bench/
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from temporalio.api.common.v1 import Payload, SearchAttributes  # noqa: E402
from temporalio.api.enums.v1 import IndexedValueType, WorkflowExecutionStatus  # noqa: E402
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest  # noqa: E402
from temporalio.api.workflowservice.v1 import (  # noqa: E402
    CountWorkflowExecutionsRequest,
    ListWorkflowExecutionsRequest,
)
from temporalio.client import Client  # noqa: E402

from gnomon.server.visibility.query import compile_count_query, compile_query  # noqa: E402
from gnomon.server.visibility.query_sql import (  # noqa: E402
    SEARCH_ATTRIBUTES_TABLE,
    VISIBILITY_TABLE,
    index_values,
    to_micros,
)
from gnomon.server.visibility.records import LIST_COLUMNS  # noqa: E402
from tests.support.servers import start_gnomon  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE = "default"
KEYWORD = "Tenant"
KEYWORD_TYPE = IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
TENANTS = [f"tenant-{i:03d}" for i in range(100)]
TENANT_SHARE = 0.95  # runs carrying the Keyword attribute
SPREAD = timedelta(days=30)  # start times fall in the 30 days before the seeding
ROWS_PER_TRANSACTION = 50_000
TARGET_MS = 100.0
S = WorkflowExecutionStatus
# Closed statuses and their weights: most runs complete.
STATUSES = [
    (S.WORKFLOW_EXECUTION_STATUS_COMPLETED, 80),
    (S.WORKFLOW_EXECUTION_STATUS_FAILED, 7),
    (S.WORKFLOW_EXECUTION_STATUS_TERMINATED, 5),
    (S.WORKFLOW_EXECUTION_STATUS_CANCELED, 3),
    (S.WORKFLOW_EXECUTION_STATUS_TIMED_OUT, 3),
    (S.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW, 2),
]
WORKFLOW_TYPES = [
    ("OrderWorkflow", 30), ("PaymentWorkflow", 20), ("ShipmentWorkflow", 15), ("EmailWorkflow", 12),
    ("InvoiceWorkflow", 10), ("RefundWorkflow", 6), ("ReportWorkflow", 4), ("MigrationWorkflow", 3),
]  # fmt: skip
TASK_QUEUES = [("orders", 50), ("payments", 25), ("notifications", 15), ("batch", 10)]

# The columns records.visibility_record writes, in insert order.
COLUMNS = (
    "namespace_id", "run_id", "workflow_id", "workflow_type", "status", "start_time", "execution_time",
    "close_time", "execution_duration", "history_length", "history_size_bytes", "state_transition_count",
    "task_queue", "parent_workflow_id", "parent_run_id", "root_workflow_id", "root_run_id", "namespace_division",
    "memo", "search_attributes",
)  # fmt: skip


# --- seeding -----------------------------------------------------------------------------------------


def _weighted(choices: list[tuple[Any, int]], rng: random.Random, n: int) -> list[Any]:
    values, weights = zip(*choices, strict=True)
    return rng.choices(values, weights=weights, k=n)


def _search_attributes_blob(tenant: str | None) -> bytes:
    """The serialized SearchAttributes a Python SDK start carries (with the type metadata it sets)."""
    if tenant is None:
        return SearchAttributes().SerializeToString()
    payload = Payload(metadata={"encoding": b"json/plain", "type": b"Keyword"}, data=json.dumps(tenant).encode())
    return SearchAttributes(indexed_fields={KEYWORD: payload}).SerializeToString()


def generate_rows(
    namespace_id: str, runs: int, now: datetime, seed: int = 1
) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """Chunks of (visibility rows, side-table rows), in close-time order (the order a live server writes them)."""
    rng = random.Random(seed)
    blobs = {tenant: _search_attributes_blob(tenant) for tenant in [*TENANTS, None]}
    end_micros = to_micros(now)
    first_micros = to_micros(now - SPREAD)
    step = (end_micros - first_micros) / max(runs, 1)
    for offset in range(0, runs, ROWS_PER_TRANSACTION):
        n = min(ROWS_PER_TRANSACTION, runs - offset)
        statuses = _weighted(STATUSES, rng, n)
        types = _weighted(WORKFLOW_TYPES, rng, n)
        queues = _weighted(TASK_QUEUES, rng, n)
        rows, side = [], []
        for j in range(n):
            i = offset + j
            # Durations: mostly seconds, some minutes, a few hours (log-uniform 100 ms .. 6 h).
            duration_us = int(10 ** rng.uniform(5, 10.33))
            start = int(first_micros + i * step + rng.uniform(0, step))
            close = start + duration_us
            run_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            workflow_id = f"{types[j].removesuffix('Workflow').lower()}-{i:08d}"
            tenant = rng.choice(TENANTS) if rng.random() < TENANT_SHARE else None
            events = rng.randint(5, 120)
            rows.append((
                namespace_id, run_id, workflow_id, types[j], int(statuses[j]), start, start, close,
                duration_us * 1000, events, events * rng.randint(150, 400), events // 2 + 2, queues[j],
                None, None, workflow_id, run_id, None, b"", blobs[tenant],
            ))  # fmt: skip
            if tenant is not None:
                side += [(namespace_id, KEYWORD, value, run_id) for value in index_values(KEYWORD_TYPE, tenant)]
        yield rows, side


async def _prepare_schema(db: Path, log_dir: Path) -> None:
    """Let Gnomon itself make the schema and the namespace, and register the Keyword attribute."""
    server = start_gnomon(log_dir, db_filename=db)
    try:
        client = await _connect(server.address)
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=NAMESPACE, search_attributes={KEYWORD: KEYWORD_TYPE})
        )
    finally:
        server.stop()


def seed(db: Path, runs: int, log_dir: Path) -> dict[str, Any]:
    """A fresh database at ``db`` with ``runs`` closed runs in its visibility tables; returns timings."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    db.parent.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    asyncio.run(_prepare_schema(db, log_dir))
    schema_s = time.perf_counter() - began

    now = datetime.now(UTC).replace(microsecond=0)
    with closing(sqlite3.connect(db, isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("PRAGMA journal_mode=OFF")  # a crash while seeding means seeding again
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-1000000")  # KiB
        conn.execute("PRAGMA temp_store=MEMORY")
        (namespace_id,) = conn.execute("SELECT id FROM namespaces WHERE name = ?", (NAMESPACE,)).fetchone()
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (?, ?)",
            (VISIBILITY_TABLE, SEARCH_ATTRIBUTES_TABLE),
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')

        insert_rows = (
            f"INSERT INTO {VISIBILITY_TABLE} ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})"
        )
        insert_side = f"INSERT INTO {SEARCH_ATTRIBUTES_TABLE} (namespace_id, name, value, run_id) VALUES (?, ?, ?, ?)"
        began = time.perf_counter()
        side_rows: list[tuple[Any, ...]] = []
        written = 0
        for rows, side in generate_rows(namespace_id, runs, now):
            conn.execute("BEGIN")
            conn.executemany(insert_rows, rows)
            conn.execute("COMMIT")
            side_rows += side
            written += len(rows)
            print(f"\r  visibility rows: {written:,}/{runs:,}", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        side_rows.sort()  # WITHOUT ROWID: inserting in key order builds the tree sequentially
        for start in range(0, len(side_rows), ROWS_PER_TRANSACTION * 4):
            conn.execute("BEGIN")
            conn.executemany(insert_side, side_rows[start : start + ROWS_PER_TRANSACTION * 4])
            conn.execute("COMMIT")
        insert_s = time.perf_counter() - began

        began = time.perf_counter()
        for name, sql in indexes:
            print(f"  index {name}", file=sys.stderr, flush=True)
            conn.execute(sql)
        index_s = time.perf_counter() - began
        conn.execute("PRAGMA journal_mode=WAL")  # how Gnomon opens it
    return {
        "runs": runs,
        "side_table_rows": len(side_rows),
        "schema_s": round(schema_s, 2),
        "insert_s": round(insert_s, 2),
        "index_s": round(index_s, 2),
        "total_s": round(schema_s + insert_s + index_s, 2),
        "file_bytes": db.stat().st_size,
        "seeded_at": now.isoformat(),
    }


def set_statistics(db: Path, analyze: bool) -> None:
    """Give the planner statistics (ANALYZE), or make sure it has none, as in a database Gnomon made."""
    with closing(sqlite3.connect(db, isolation_level=None)) as conn:
        if analyze:
            began = time.perf_counter()
            conn.execute("ANALYZE")
            print(f"  ANALYZE: {time.perf_counter() - began:.1f} s", file=sys.stderr)
        elif conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone():
            conn.execute("DELETE FROM sqlite_stat1")


def seeded_runs(db: Path) -> int | None:
    """How many runs the visibility table of an existing file holds (None if it is no seeded file)."""
    if not db.exists():
        return None
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            return int(conn.execute(f"SELECT COUNT(*) FROM {VISIBILITY_TABLE}").fetchone()[0])
    except sqlite3.Error:
        return None


# --- measuring -----------------------------------------------------------------------------------------


@dataclass
class Shape:
    """One query sent ``repeat`` times."""

    name: str
    rpc: str  # "list" or "count"
    query: str
    page_size: int = 0
    required: bool = False  # one of the two the target is about


@dataclass
class Measured:
    name: str
    rpc: str
    query: str
    page_size: int
    required: bool
    first_ms: float  # the first call, before the warm-up
    median_ms: float
    p95_ms: float
    min_ms: float
    max_ms: float
    result: str  # rows on the page, or the count (and groups)
    plan: list[str] = field(default_factory=list)

    @property
    def within_target(self) -> bool:
        return self.median_ms < TARGET_MS


def shapes(seeded_at: datetime, page_size: int, some_workflow_id: str) -> list[Shape]:
    def iso(t: datetime) -> str:
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")

    week_from, week_to = iso(seeded_at - timedelta(days=10)), iso(seeded_at - timedelta(days=3))
    day_from, day_to = iso(seeded_at - timedelta(days=2)), iso(seeded_at - timedelta(days=1))
    tenant = TENANTS[42]
    return [
        Shape(
            "list: status + keyword + StartTime week",
            "list",
            f"ExecutionStatus = 'Completed' AND {KEYWORD} = '{tenant}'"
            f" AND StartTime BETWEEN '{week_from}' AND '{week_to}'",
            page_size,
            required=True,
        ),
        Shape(
            "list: status + keyword + StartTime day",
            "list",
            f"ExecutionStatus = 'Completed' AND {KEYWORD} = '{tenant}' AND StartTime >= '{day_from}'"
            f" AND StartTime < '{day_to}'",
            page_size,
        ),
        Shape("count: GROUP BY ExecutionStatus (namespace)", "count", "GROUP BY ExecutionStatus", required=True),
        Shape("count: all (namespace)", "count", ""),
        Shape("count: keyword GROUP BY ExecutionStatus", "count", f"{KEYWORD} = '{tenant}' GROUP BY ExecutionStatus"),
        Shape(
            "count: status + keyword + StartTime week",
            "count",
            f"ExecutionStatus = 'Completed' AND {KEYWORD} = '{tenant}'"
            f" AND StartTime BETWEEN '{week_from}' AND '{week_to}'",
        ),
        Shape(
            "count: type + StartTime day GROUP BY status",
            "count",
            f"WorkflowType = 'RefundWorkflow' AND StartTime > '{day_from}' GROUP BY ExecutionStatus",
        ),
        Shape("list: no filter (first page)", "list", "", page_size),
        Shape("list: status Failed", "list", "ExecutionStatus = 'Failed'", page_size),
        Shape(
            "list: type + status", "list", "WorkflowType = 'RefundWorkflow' AND ExecutionStatus = 'Failed'", page_size
        ),
        Shape("list: keyword only", "list", f"{KEYWORD} = '{tenant}'", page_size),
        Shape("list: WorkflowId", "list", f"WorkflowId = '{some_workflow_id}'", page_size),
    ]


def explain(db: Path, shape: Shape, namespace_id: str, custom: dict[str, int]) -> list[str]:
    """SQLite's plan for the SQL Gnomon compiles for ``shape`` (a separate read-only connection)."""
    if shape.rpc == "list":
        sql, params = compile_query(shape.query, custom, namespace_id=namespace_id).list_statement(
            shape.page_size, columns=f"{LIST_COLUMNS}, close_time"
        )
    else:
        compiled = compile_count_query(shape.query, custom, namespace_id=namespace_id)
        sql, params = compiled.sql, compiled.params
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        rows = conn.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
    return [f"{'  ' * _depth(rows, row)}{row[3]}" for row in rows]


def _depth(rows: list[tuple[Any, ...]], row: tuple[Any, ...]) -> int:
    parents = {r[0]: r[1] for r in rows}
    depth, parent = 0, row[1]
    while parent in parents:
        depth, parent = depth + 1, parents[parent]
    return depth


async def _connect(address: str) -> Client:
    deadline = time.monotonic() + 30
    while True:
        try:
            return await Client.connect(address, namespace=NAMESPACE)
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def _call(client: Client, shape: Shape) -> str:
    service = client.workflow_service
    if shape.rpc == "list":
        page = await service.list_workflow_executions(
            ListWorkflowExecutionsRequest(namespace=NAMESPACE, page_size=shape.page_size, query=shape.query)
        )
        return f"{len(page.executions)} rows" + (" (more)" if page.next_page_token else "")
    counted = await service.count_workflow_executions(
        CountWorkflowExecutionsRequest(namespace=NAMESPACE, query=shape.query)
    )
    if not counted.groups:
        return f"{counted.count:,}"
    groups = ", ".join(f"{json.loads(g.group_values[0].data)} {g.count:,}" for g in counted.groups)
    return f"{counted.count:,} ({groups})"


async def measure(address: str, all_shapes: list[Shape], repeat: int) -> list[Measured]:
    client = await _connect(address)
    results = []
    for shape in all_shapes:
        began = time.perf_counter()
        outcome = await _call(client, shape)
        first_ms = (time.perf_counter() - began) * 1000
        for _ in range(2):  # warm-up
            await _call(client, shape)
        timings = []
        for _ in range(repeat):
            began = time.perf_counter()
            await _call(client, shape)
            timings.append((time.perf_counter() - began) * 1000)
        timings.sort()
        p95 = timings[min(len(timings) - 1, int(round(0.95 * (len(timings) - 1))))]
        results.append(
            Measured(
                name=shape.name,
                rpc=shape.rpc,
                query=shape.query,
                page_size=shape.page_size,
                required=shape.required,
                first_ms=round(first_ms, 2),
                median_ms=round(statistics.median(timings), 2),
                p95_ms=round(p95, 2),
                min_ms=round(timings[0], 2),
                max_ms=round(timings[-1], 2),
                result=outcome,
            )  # fmt: skip
        )
        print(f"  {shape.name}: median {results[-1].median_ms} ms", file=sys.stderr, flush=True)
    return results


def print_table(results: list[Measured], seeding: dict[str, Any] | None, runs: int) -> None:
    print(f"\nVisibility on {runs:,} closed runs (target: required shapes < {TARGET_MS:.0f} ms)")
    if seeding:
        print(
            f"seeding: {seeding['total_s']} s (schema {seeding['schema_s']} s, insert {seeding['insert_s']} s,"
            f" indexes {seeding['index_s']} s), file {seeding['file_bytes'] / 1e6:.0f} MB"
        )
    header = f"{'shape':<46} {'median':>8} {'p95':>8} {'first':>8}  {'ok':<4} result"
    print(header)
    print("-" * len(header))
    for r in results:
        mark = ("yes" if r.within_target else "NO") if r.required else ""
        print(f"{r.name:<46} {r.median_ms:>6.1f}ms {r.p95_ms:>6.1f}ms {r.first_ms:>6.1f}ms  {mark:<4} {r.result}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1_000_000, help="closed runs to seed (default 1,000,000)")
    parser.add_argument("--db", type=Path, help="database file (default test-output/visibility-<runs>.db)")
    parser.add_argument("--reuse", action="store_true", help="reuse --db if it already holds --runs runs")
    parser.add_argument("--repeat", type=int, default=20, help="timed calls per shape (default 20)")
    parser.add_argument("--page-size", type=int, default=100, help="list page size (default 100)")
    parser.add_argument("--json", type=Path, help="write every measurement here")
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="run ANALYZE first (planner statistics; Gnomon never does); without it, existing statistics are removed",
    )
    args = parser.parse_args()

    db = args.db or ROOT / "test-output" / f"visibility-{args.runs}.db"
    log_dir = ROOT / "test-output" / "bench-visibility"
    seeding = None
    if args.reuse and seeded_runs(db) == args.runs:
        print(f"reusing {db} ({args.runs:,} runs)", file=sys.stderr)
    else:
        print(f"seeding {args.runs:,} runs into {db}", file=sys.stderr)
        seeding = seed(db, args.runs, log_dir)
    set_statistics(db, args.analyze)

    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        (namespace_id,) = conn.execute("SELECT id FROM namespaces WHERE name = ?", (NAMESPACE,)).fetchone()
        custom = dict(
            conn.execute("SELECT name, value_type FROM search_attributes WHERE namespace_id = ?", (namespace_id,))
        )
        newest = conn.execute(f"SELECT MAX(start_time) FROM {VISIBILITY_TABLE}").fetchone()[0]
        middle = f"SELECT MAX(rowid) / 2 + 1 FROM {VISIBILITY_TABLE}"
        some_workflow_id = conn.execute(
            f"SELECT workflow_id FROM {VISIBILITY_TABLE} WHERE rowid = ({middle})"
        ).fetchone()[0]
    seeded_at = datetime.fromtimestamp(newest / 1e6, UTC) if newest else datetime.now(UTC)
    all_shapes = shapes(seeded_at, args.page_size, some_workflow_id)

    server = start_gnomon(log_dir, db_filename=db)
    try:
        results = asyncio.run(measure(server.address, all_shapes, args.repeat))
    finally:
        server.stop()
    for shape, result in zip(all_shapes, results, strict=True):
        result.plan = explain(db, shape, namespace_id, custom)

    print_table(results, seeding, args.runs)
    slow = [r for r in results if r.required and not r.within_target]
    for r in results:
        if not r.within_target:
            print(f"\nplan of {r.name!r} ({r.median_ms} ms):")
            print("\n".join(f"    {line}" for line in r.plan))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        report = {
            "runs": args.runs,
            "db": str(db),
            "target_ms": TARGET_MS,
            "repeat": args.repeat,
            "page_size": args.page_size,
            "analyzed": args.analyze,
            "seeding": seeding,
            "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "sqlite": sqlite3.sqlite_version},
            "results": [asdict(r) | {"within_target": r.within_target} for r in results],
            "required_within_target": not slow,
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
