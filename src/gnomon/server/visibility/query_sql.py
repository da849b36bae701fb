"""The visibility tables, how values are stored in them, and the SQL dialect seam.

Two tables (DDL in ``SQLITE_SCHEMA``):

* ``visibility``: one row per run, with a real column for each system attribute the
  execution record itself provides (ids, type, status, times, counters, task queue,
  parent/root) and for ``TemporalNamespaceDivision`` (every query filters on it).
* ``visibility_search_attributes``: one row per (run, attribute, value) for everything that
  arrives in the SearchAttributes map: custom attributes, and the system ones carried
  there (BuildIds, TemporalChangeVersion, BinaryChecksums, BatcherUser, TemporalSchedule*).
  A keyword list gives one row per element; a Text value one row per token. The table is
  keyed (namespace_id, name, value, run_id), so ``name = ? AND value <op> ?`` is an index
  range scan yielding run ids: any number of attributes per namespace, each of them
  indexed, without a schema change when an attribute is added.

Encodings, chosen so SQL comparisons mean what the query means:

* Datetime: INTEGER microseconds since the Unix epoch, UTC (the reference keeps
  microseconds too; integers compare exactly, unlike REAL seconds).
* ExecutionDuration: INTEGER nanoseconds. ExecutionStatus: the enum's INTEGER.
* Bool: 0 / 1. Int: INTEGER. Double: REAL. Keyword: TEXT as is.
* KeywordList elements: lower-cased TEXT; the reference's SQLite full-text index folds case.
* Text: the tokens of ``text_tokens`` (unicode61-like: letters and digits, lower-cased,
  diacritics removed), one row each.

Only the ``Dialect`` knows placeholder syntax, prefix matching, and the side table's value
column, so a PostgreSQL variant is a subclass (typed value columns, ``%s`` placeholders).
"""

from __future__ import annotations

import datetime as dt
import re
import string
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.enums.v1 import IndexedValueType

T = IndexedValueType

VISIBILITY_TABLE = "visibility"
SEARCH_ATTRIBUTES_TABLE = "visibility_search_attributes"

# Sorts running executions (no close time) before closed ones, like the reference's
# COALESCE(close_time, '9999-12-31 23:59:59').
MAX_TIME = 2**63 - 1
ORDER_KEY = f"COALESCE(close_time, {MAX_TIME})"
# The reference's list order: running first, then latest closed; ties by start, then run id.
DEFAULT_ORDER_BY = f"{ORDER_KEY} DESC, start_time DESC, run_id"

# System attributes with a column of their own in ``visibility``; all others live in the side table.
SYSTEM_COLUMNS: dict[str, str] = {
    "WorkflowId": "workflow_id",
    "RunId": "run_id",
    "WorkflowType": "workflow_type",
    "ExecutionStatus": "status",
    "StartTime": "start_time",
    "CloseTime": "close_time",
    "ExecutionTime": "execution_time",
    "ExecutionDuration": "execution_duration",
    "HistoryLength": "history_length",
    "HistorySizeBytes": "history_size_bytes",
    "StateTransitionCount": "state_transition_count",
    "TaskQueue": "task_queue",
    "ParentWorkflowId": "parent_workflow_id",
    "ParentRunId": "parent_run_id",
    "RootWorkflowId": "root_workflow_id",
    "RootRunId": "root_run_id",
    "TemporalNamespaceDivision": "namespace_division",
}


def _index(name: str, *columns: str) -> str:
    # Every index starts (namespace_id, namespace_division) because every query pins both
    # (namespace_division IS NULL unless the query names it) and ends with the list order,
    # so a filter on its column yields rows already sorted, and counts never touch the table.
    keys = ", ".join(("namespace_id", "namespace_division", *columns, DEFAULT_ORDER_BY))
    return f"CREATE INDEX {VISIBILITY_TABLE}_{name} ON {VISIBILITY_TABLE} ({keys})"


SQLITE_SCHEMA: list[str] = [
    f"""CREATE TABLE {VISIBILITY_TABLE} (
        namespace_id TEXT NOT NULL,
        run_id TEXT NOT NULL,
        workflow_id TEXT NOT NULL,
        workflow_type TEXT NOT NULL,
        status INTEGER NOT NULL,                 -- WorkflowExecutionStatus value
        start_time INTEGER NOT NULL,             -- microseconds since the epoch, UTC
        execution_time INTEGER NOT NULL,         -- microseconds
        close_time INTEGER,                      -- microseconds; NULL while running
        execution_duration INTEGER,              -- nanoseconds; NULL while running
        history_length INTEGER,
        history_size_bytes INTEGER,
        state_transition_count INTEGER,
        task_queue TEXT NOT NULL DEFAULT '',
        parent_workflow_id TEXT,
        parent_run_id TEXT,
        root_workflow_id TEXT NOT NULL DEFAULT '',
        root_run_id TEXT NOT NULL DEFAULT '',
        namespace_division TEXT,                 -- TemporalNamespaceDivision; NULL for ordinary workflows
        memo BLOB,                               -- serialized Memo, returned as is
        search_attributes BLOB,                  -- serialized SearchAttributes, returned as is
        PRIMARY KEY (namespace_id, run_id)
    )""",
    _index("by_default"),
    _index("by_workflow_id", "workflow_id"),
    # For STARTS_WITH, which ignores ASCII case (see Dialect.prefix_match).
    _index("by_workflow_id_folded", "lower(workflow_id)"),
    _index("by_workflow_type", "workflow_type"),
    _index("by_status", "status"),
    _index("by_task_queue", "task_queue"),
    _index("by_start_time", "start_time"),
    _index("by_execution_time", "execution_time"),
    f"""CREATE TABLE {SEARCH_ATTRIBUTES_TABLE} (
        namespace_id TEXT NOT NULL,
        name TEXT NOT NULL,
        value NOT NULL,                          -- no declared type: INTEGER, REAL or TEXT as stored
        run_id TEXT NOT NULL,
        PRIMARY KEY (namespace_id, name, value, run_id)
    ) WITHOUT ROWID""",
    # To replace or delete a run's rows, and to probe one run's values (negated conditions).
    # A WITHOUT ROWID table's secondary index holds the primary key too, so this covers (name, value).
    f"CREATE INDEX {SEARCH_ATTRIBUTES_TABLE}_by_run ON {SEARCH_ATTRIBUTES_TABLE} (namespace_id, run_id)",
]


class Dialect:
    """SQLite. Override the methods for another database; nothing else in the compiler is SQL-specific."""

    placeholder = "?"
    false = "0"

    def params(self, count: int) -> str:
        return ", ".join([self.placeholder] * count)

    def value_column(self, value_type: int) -> str:
        """The side-table column holding values of this type (SQLite: one dynamically typed column)."""
        return "value"

    def prefix_match(self, expr: str, prefix: str, negated: bool) -> tuple[str, list[Any]]:
        """SQL true exactly when ``expr`` starts with ``prefix`` ignoring ASCII case (or, negated, does not).

        That is what the reference's ``LIKE 'prefix%'`` means on SQLite. Written as a range on
        ``lower(expr)`` (SQLite's lower() folds ASCII only, like its LIKE) so that an index on
        ``lower(column)`` serves it; LIKE could only use an index on a NOCASE column.
        """
        low = prefix.translate(_ASCII_LOWER)
        high = _successor(low)
        folded = f"lower({expr})"
        p = self.placeholder
        if not low:  # every value starts with ""; NULL does not, under either operator
            return (self.false if negated else f"{expr} IS NOT NULL"), []
        if high is None:  # ends with the last code point: no upper bound
            return (f"{folded} < {p}" if negated else f"{folded} >= {p}"), [low]
        if negated:
            return f"({folded} < {p} OR {folded} >= {p})", [low, high]
        return f"{folded} >= {p} AND {folded} < {p}", [low, high]


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _successor(prefix: str) -> str | None:
    """The least string greater than every string starting with ``prefix`` (code point order,
    which is UTF-8 byte order, SQLite's BINARY collation), or None if there is none."""
    while prefix:
        last = ord(prefix[-1]) + 1
        if 0xD800 <= last <= 0xDFFF:  # surrogates cannot be stored; the next character is U+E000
            last = 0xE000
        if last <= 0x10FFFF:
            return prefix[:-1] + chr(last)
        prefix = prefix[:-1]
    return None


SQLITE = Dialect()


# --- value encodings -----------------------------------------------------------------------------

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# Go's time.RFC3339Nano as time.Parse accepts it: upper-case T and Z, any fraction digits
# (after '.' or ','), a numeric offset with a colon.
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?(?:(Z)|([+-])(\d{2}):(\d{2}))",
)


def parse_rfc3339_micros(text: str) -> int | None:
    """Microseconds since the epoch for an RFC 3339 time (fraction truncated), or None if it is not one."""
    m = _RFC3339.fullmatch(text)
    if not m:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
    try:
        naive = dt.datetime(year, month, day, hour, minute, second)
    except ValueError:  # month 13, February 30, hour 24, second 60...
        return None
    offset_hours, offset_minutes = int(m.group(10) or 0), int(m.group(11) or 0)
    if offset_hours > 24 or offset_minutes > 59:
        return None
    offset = (offset_hours * 60 + offset_minutes) * 60 * (-1 if m.group(9) == "-" else 1)
    seconds = (naive - _EPOCH.replace(tzinfo=None)) // dt.timedelta(seconds=1) - offset
    micros = int(((m.group(7) or "") + "000000")[:6])
    return seconds * 1_000_000 + micros


def to_micros(value: dt.datetime | Timestamp | str) -> int:
    """A time as stored in visibility: microseconds since the epoch (naive times are UTC)."""
    if isinstance(value, Timestamp):
        return value.seconds * 1_000_000 + value.nanos // 1000
    if isinstance(value, str):
        micros = parse_rfc3339_micros(value)
        if micros is not None:
            return micros
        # Stored values are read leniently (queries are not): any ISO 8601 form, naive meaning UTC.
        value = dt.datetime.fromisoformat(value)  # ValueError if it is no time at all
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return (value - _EPOCH) // dt.timedelta(microseconds=1)


def micros_to_timestamp(micros: int) -> Timestamp:
    seconds, rest = divmod(micros, 1_000_000)
    return Timestamp(seconds=seconds, nanos=rest * 1000)


def fold_keyword(value: str) -> str:
    """A keyword-list element as stored and as compared: case-folded, as the reference's FTS index does."""
    return value.lower()


def text_tokens(text: str) -> list[str]:
    """The distinct tokens of a Text value, approximating SQLite FTS5 ``unicode61 remove_diacritics 2``.

    A token is a run of letters, digits and private-use characters; tokens are lower-cased
    and stripped of diacritics ('Ünïcödé' -> 'unicode'). Everything else separates tokens.
    """
    tokens: list[str] = []
    current: list[str] = []
    for ch in text + " ":
        category = unicodedata.category(ch)
        if category[0] in "LN" or category == "Co":
            decomposed = unicodedata.normalize("NFD", ch.lower())
            current.append("".join(c for c in decomposed if not unicodedata.combining(c)))
        elif category[0] == "M":
            continue  # a combining mark typed separately: part of the previous letter, and dropped
        elif current:
            tokens.append("".join(current))
            current = []
    return list(dict.fromkeys(tokens))


def index_values(value_type: int, value: Any) -> list[Any]:
    """The side-table values to store for one search attribute's decoded (JSON) value.

    ``value`` is what the payload's JSON holds: a string, number, bool, RFC 3339 string,
    or a list of those (keyword lists; old SDKs also wrap single values in lists). Returns
    distinct values, since (name, value, run) is the side table's key.
    """
    items: Iterable[Any] = value if isinstance(value, list) else [value]
    out: list[Any] = []
    for item in items:
        if item is None:
            continue
        if value_type == T.INDEXED_VALUE_TYPE_TEXT:
            out.extend(text_tokens(str(item)))
        elif value_type == T.INDEXED_VALUE_TYPE_KEYWORD_LIST:
            out.append(fold_keyword(str(item)))
        elif value_type == T.INDEXED_VALUE_TYPE_DATETIME:
            out.append(to_micros(item))
        elif value_type == T.INDEXED_VALUE_TYPE_BOOL:
            out.append(1 if item else 0)
        elif value_type == T.INDEXED_VALUE_TYPE_INT:
            out.append(int(item))
        elif value_type == T.INDEXED_VALUE_TYPE_DOUBLE:
            out.append(float(item))
        else:
            out.append(str(item))
    return list(dict.fromkeys(out))


# --- statements ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageKey:
    """Where a page ended: the last row's close_time (None while running), start_time and run_id."""

    close_time: int | None
    start_time: int
    run_id: str


def list_statement(
    where: str,
    params: Sequence[Any],
    page_size: int,
    after: PageKey | None = None,
    columns: str = "*",
    dialect: Dialect = SQLITE,
) -> tuple[str, list[Any]]:
    """A page of ``SELECT columns FROM visibility`` in the reference's order, after ``after`` if given."""
    p = dialect.placeholder
    clauses, args = [where], list(params)
    if after is not None:
        # Keyset pagination on (ORDER_KEY DESC, start_time DESC, run_id ASC).
        clauses.append(
            f"({ORDER_KEY} < {p} OR ({ORDER_KEY} = {p} AND (start_time < {p} OR (start_time = {p} AND run_id > {p}))))"
        )
        key = MAX_TIME if after.close_time is None else after.close_time
        args += [key, key, after.start_time, after.start_time, after.run_id]
    sql = (
        f"SELECT {columns} FROM {VISIBILITY_TABLE} WHERE {' AND '.join(clauses)} ORDER BY {DEFAULT_ORDER_BY} LIMIT {p}"
    )
    return sql, [*args, page_size]


def count_statement(where: str, params: Sequence[Any], group_by_column: str | None) -> tuple[str, list[Any]]:
    """``SELECT COUNT(*)``, or ``SELECT column, COUNT(*) ... GROUP BY column`` (NULL is a group too)."""
    if group_by_column is None:
        return f"SELECT COUNT(*) FROM {VISIBILITY_TABLE} WHERE {where}", list(params)
    return (
        f"SELECT {group_by_column}, COUNT(*) FROM {VISIBILITY_TABLE} WHERE {where} GROUP BY {group_by_column}",
        list(params),
    )
