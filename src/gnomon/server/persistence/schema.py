"""The one source of the SQL schema, as numbered migrations applied automatically at start.

Each migration runs once, in order, inside the transaction that records it. The
statements are SQLite's: most are plain SQL that PostgreSQL accepts too, but a
PostgreSQL store will need its own spelling of ``WITHOUT ROWID`` tables (plain tables
there).
"""

from __future__ import annotations

from gnomon.server.persistence.sqlite_visibility import PENDING_SCHEMA
from gnomon.server.visibility.query_sql import SQLITE_SCHEMA as VISIBILITY_SCHEMA

MIGRATIONS: list[tuple[int, list[str]]] = [
    (
        1,
        [
            """CREATE TABLE namespaces (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                data BLOB NOT NULL
            )""",
            # One row per run: the serialized mutable state plus the columns visibility needs.
            """CREATE TABLE executions (
                namespace_id TEXT NOT NULL,
                run_id TEXT NOT NULL,
                workflow_id TEXT NOT NULL,
                db_version INTEGER NOT NULL,
                status INTEGER NOT NULL,
                workflow_type TEXT NOT NULL,
                task_queue TEXT NOT NULL,
                start_time DOUBLE PRECISION NOT NULL,
                close_time DOUBLE PRECISION,
                state BLOB NOT NULL,
                PRIMARY KEY (namespace_id, run_id)
            )""",
            "CREATE INDEX executions_open ON executions (status) WHERE status = 1",
            "CREATE INDEX executions_by_workflow ON executions (namespace_id, workflow_id, start_time)",
            # The workflow id's current run: the one a request without run id addresses.
            """CREATE TABLE current_executions (
                namespace_id TEXT NOT NULL,
                workflow_id TEXT NOT NULL,
                run_id TEXT NOT NULL,
                status INTEGER NOT NULL,
                start_request_id TEXT NOT NULL,
                close_time DOUBLE PRECISION,
                PRIMARY KEY (namespace_id, workflow_id)
            )""",
            # A run's events, stored in the batches they were appended in.
            """CREATE TABLE history_batches (
                namespace_id TEXT NOT NULL,
                run_id TEXT NOT NULL,
                first_event_id INTEGER NOT NULL,
                last_event_id INTEGER NOT NULL,
                data BLOB NOT NULL,
                PRIMARY KEY (namespace_id, run_id, first_event_id)
            )""",
        ],
    ),
    (
        2,
        [
            # Custom search attributes each namespace defines, with their types.
            """CREATE TABLE search_attributes (
                namespace_id TEXT NOT NULL,
                name TEXT NOT NULL,
                value_type INTEGER NOT NULL,
                PRIMARY KEY (namespace_id, name)
            )""",
        ],
    ),
    (3, list(VISIBILITY_SCHEMA)),
    (
        4,
        [
            # Runs per (namespace, status), kept with every visibility write, so that a count
            # of a whole namespace (by status) does not walk a million index entries.
            """CREATE TABLE visibility_counts (
                namespace_id TEXT NOT NULL,
                status INTEGER NOT NULL,
                runs INTEGER NOT NULL,
                PRIMARY KEY (namespace_id, status)
            )""",
            """INSERT INTO visibility_counts (namespace_id, status, runs)
                SELECT namespace_id, status, COUNT(*) FROM visibility
                WHERE namespace_division IS NULL GROUP BY namespace_id, status""",
        ],
    ),
    # Visibility rows waiting to be written in a batch (see sqlite_visibility).
    (5, list(PENDING_SCHEMA)),
    (
        6,
        [
            # What a run needs from the world, derived from its state at every commit
            # (interface.DerivedColumns), so start-up and the deadline loader find the runs
            # that need something without reading every run.
            "ALTER TABLE executions ADD COLUMN next_deadline DOUBLE PRECISION",
            "ALTER TABLE executions ADD COLUMN has_work INTEGER NOT NULL DEFAULT 0",
            "CREATE INDEX executions_by_deadline ON executions (next_deadline, namespace_id, run_id)"
            " WHERE next_deadline IS NOT NULL",
            "CREATE INDEX executions_with_work ON executions (namespace_id, run_id) WHERE has_work = 1",
            # Runs stored before this migration have no derived columns yet: every open one is
            # looked at once at the next start (which writes its real columns).
            "UPDATE executions SET has_work = 1 WHERE status = 1",
            "DROP INDEX executions_open",
        ],
    ),
]
