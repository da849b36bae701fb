# ruff: noqa: E501  (the reference's messages stay verbatim, one case per line)
"""The visibility list filter: parsing, checking, and the SQL it compiles to, run on SQLite.

``REFERENCE_CASES`` records what the reference server (temporal CLI 1.9.1, Server 1.32.0,
``temporal server start-dev``, SQLite visibility) answered to ListWorkflowExecutions for
each query: "OK", or its INVALID_ARGUMENT message without the "invalid query: " prefix
("malformed SQL query" stands for its syntax errors, whose positions count characters of a
wrapping SELECT statement; ours count characters of the query). The custom attributes
defined there were those of ``CUSTOM``. ``test_reference_cases`` holds us to the same
answers, except for the few listed in ``WORDED_DIFFERENTLY`` and ``REFERENCE_ONLY``.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.client import WorkflowExecutionStatus as S

from gnomon.server.errors import InvalidArgumentError
from gnomon.server.visibility.query import (
    QueryError,
    compile_count_query,
    compile_query,
    execution_status_name,
    parse_execution_duration,
    resolve_attribute,
)
from gnomon.server.visibility.query_parser import And, Is, parse
from gnomon.server.visibility.query_sql import (
    SEARCH_ATTRIBUTES_TABLE,
    SQLITE_SCHEMA,
    VISIBILITY_TABLE,
    PageKey,
    index_values,
    micros_to_timestamp,
    parse_rfc3339_micros,
    text_tokens,
    to_micros,
)

T = IndexedValueType
CUSTOM: dict[str, int] = {
    "CustomKeywordField": T.INDEXED_VALUE_TYPE_KEYWORD,
    "CustomTextField": T.INDEXED_VALUE_TYPE_TEXT,
    "CustomIntField": T.INDEXED_VALUE_TYPE_INT,
    "CustomDoubleField": T.INDEXED_VALUE_TYPE_DOUBLE,
    "CustomBoolField": T.INDEXED_VALUE_TYPE_BOOL,
    "CustomDatetimeField": T.INDEXED_VALUE_TYPE_DATETIME,
    "KwList": T.INDEXED_VALUE_TYPE_KEYWORD_LIST,
}

REFERENCE_CASES: list[tuple[str, str]] = [
    ("", "OK"),
    ("WorkflowId = 'x'", "OK"),
    ('WorkflowId = "x"', "OK"),
    ("`WorkflowId` = 'x'", "OK"),
    ("workflowid = 'x'", "invalid search attribute: workflowid"),
    ("Foo = 'x'", "invalid search attribute: Foo"),
    ("ScheduleId = 'x'", "OK"),
    ("TemporalScheduleId = 'x'", "OK"),
    ("TemporalWorkflowId = 'x'", "OK"),
    ("TemporalExecutionStatus = 'Running'", "OK"),
    ("ChangeVersion = 'v'", "OK"),
    ("NamespaceId = 'x'", "invalid search attribute: NamespaceId"),
    ("TemporalCustomKeywordField = 'x'", "invalid search attribute: TemporalCustomKeywordField"),
    (
        "WorkflowId = x",
        'operation is not supported: column name on the right side of comparison expression (did you forget to quote "x"?)',
    ),
    (
        "WorkflowId = `w1`",
        'operation is not supported: column name on the right side of comparison expression (did you forget to quote "w1"?)',
    ),
    ("WorkflowId == 'x'", "malformed SQL query"),
    ("WorkflowId <> 'x'", "OK"),
    ("WorkflowId != 'x'", "OK"),
    ("WorkflowId > 'x'", "OK"),
    (
        "WorkflowId like 'x%'",
        "operation is not supported: operator 'LIKE' not supported for Keyword type search attribute 'WorkflowId'",
    ),
    (
        "WorkflowId NOT LIKE 'x'",
        "operation is not supported: operator 'NOT LIKE' not supported for Keyword type search attribute 'WorkflowId'",
    ),
    (
        "WorkflowId REGEXP 'x'",
        "operation is not supported: operator 'REGEXP' not supported for Keyword type search attribute 'WorkflowId'",
    ),
    ("WorkflowId STARTS_WITH 'x'", "OK"),
    ("WorkflowId starts_with 'x'", "OK"),
    ("WorkflowId NOT STARTS_WITH 'x'", "OK"),
    ("WorkflowId IN ('a','b')", "OK"),
    ("WorkflowId NOT IN ('a','b')", "OK"),
    ("WorkflowId IN ()", "malformed SQL query"),
    ("WorkflowId IN 'a'", "malformed SQL query"),
    (
        "WorkflowId IN ('w1', 1)",
        "invalid expression: invalid value type for search attribute WorkflowId of type Keyword: 1 (type: int64)",
    ),
    ("WorkflowId IN (('w1'))", "invalid expression: unexpected value type *sqlparser.ParenExpr"),
    ("WorkflowId BETWEEN 'a' AND 'b'", "OK"),
    ("WorkflowId NOT BETWEEN 'a' AND 'b'", "OK"),
    (
        "WorkflowId BETWEEN 'a' AND 5",
        "invalid expression: invalid value type for search attribute WorkflowId of type Keyword: 5 (type: int64)",
    ),
    ("WorkflowId IS NULL", "OK"),
    ("WorkflowId is not null", "OK"),
    ("WorkflowId IS TRUE", "invalid expression: 'IS' operator can only be used as 'IS NULL' or 'IS NOT NULL'"),
    ("WorkflowId = NULL", "invalid expression: unexpected value type *sqlparser.NullVal"),
    ("NOT WorkflowId = 'x'", "OK"),
    ("NOT NOT WorkflowId = 'x'", "OK"),
    ("NOT (WorkflowId = 'x')", "OK"),
    ("(((WorkflowId = 'x')))", "OK"),
    ("WorkflowId = 'x' AND RunId = 'y' OR TaskQueue = 'z'", "OK"),
    ("WorkflowId = 'x' && RunId = 'y'", "OK"),
    ("WorkflowId = 'x' || RunId = 'y'", "OK"),
    ("WorkflowId = 'x' AnD RunId = 'y'", "OK"),
    ("WorkflowId = 'x' XOR RunId = 'y'", "malformed SQL query"),
    ("(WorkflowId = 'x'", "malformed SQL query"),
    ("WorkflowId = 'x')", "malformed SQL query"),
    ("WorkflowId = 'x' AND", "malformed SQL query"),
    ("WorkflowId = 'x';", "OK"),
    ("WorkflowId = 'x' /* comment */", "OK"),
    ("WorkflowId = 'x' -- comment", "OK"),
    ("WorkflowId = 'x' # comment", "OK"),
    ("WorkflowId", "invalid expression: incomplete expression"),
    ("'x' = WorkflowId", "invalid expression: must be a column name but was *sqlparser.SQLVal"),
    ("upper(WorkflowId) = 'W1'", "invalid expression: must be a column name but was *sqlparser.FuncExpr"),
    ("WorkflowId = upper('w1')", "operation is not supported: nested func"),
    ("WorkflowId = -'x'", "invalid expression: unary operator not supported in \"-'x'\""),
    ("WorkflowId = 'it''s'", "OK"),
    ('WorkflowId = "w""1"', "OK"),
    ("WorkflowId = 'it\\'s'", "OK"),
    (
        "WorkflowId = 1",
        "invalid expression: invalid value type for search attribute WorkflowId of type Keyword: 1 (type: int64)",
    ),
    (
        "WorkflowId = true",
        "invalid expression: invalid value type for search attribute WorkflowId of type Keyword: true (type: bool)",
    ),
    ("ORDER BY StartTime DESC", "operation is not supported: 'ORDER BY' clause"),
    ("WorkflowId = 'x' ORDER BY StartTime", "operation is not supported: 'ORDER BY' clause"),
    ("ORDER BY Foo", "invalid search attribute: Foo"),
    ("ORDER BY CustomTextField", "operation is not supported: unable to sort by search attribute type Text"),
    ("WorkflowId = 'x' ORDER BY", "malformed SQL query"),
    ("WorkflowId = 'x' LIMIT 10", "operation is not supported: 'LIMIT' clause"),
    ("GROUP BY ExecutionStatus", "OK"),
    ("WorkflowId = 'x' GROUP BY ExecutionStatus", "OK"),
    ("GROUP BY TemporalNamespaceDivision", "OK"),
    (
        "GROUP BY WorkflowType",
        "operation is not supported: 'GROUP BY' clause is not supported for search attribute WorkflowType",
    ),
    (
        "GROUP BY ExecutionStatus, WorkflowType",
        "operation is not supported: 'GROUP BY' clause supports only a single field",
    ),
    ("GROUP BY Foo", "invalid search attribute: Foo"),
    ("ORDER BY StartTime GROUP BY ExecutionStatus", "malformed SQL query"),
    ("StartTime > '2024-01-01T00:00:00Z'", "OK"),
    ("StartTime > '2024-01-01T00:00:00.123456789Z'", "OK"),
    ("StartTime > '2024-01-01T00:00:00.1234567891Z'", "OK"),
    ("StartTime > '2024-01-01T00:00:00,5Z'", "OK"),
    ("StartTime > '2024-01-01T00:00:00+05:30'", "OK"),
    ("StartTime > '2024-01-01T00:00:00-00:00'", "OK"),
    ("StartTime > '0001-01-01T00:00:00Z'", "OK"),
    ("StartTime > '2024-01-01T00:00:00'", "invalid expression: unable to parse datetime '2024-01-01T00:00:00'"),
    ("StartTime > '2024-01-01'", "invalid expression: unable to parse datetime '2024-01-01'"),
    ("StartTime > '2024-01-01 00:00:00'", "invalid expression: unable to parse datetime '2024-01-01 00:00:00'"),
    ("StartTime > '2024-01-01T00:00:00z'", "invalid expression: unable to parse datetime '2024-01-01T00:00:00z'"),
    ("StartTime > '2024-01-01t00:00:00Z'", "invalid expression: unable to parse datetime '2024-01-01t00:00:00Z'"),
    ("StartTime > '2024-01-01T00:00:00.Z'", "invalid expression: unable to parse datetime '2024-01-01T00:00:00.Z'"),
    ("StartTime > '2024-1-1T00:00:00Z'", "invalid expression: unable to parse datetime '2024-1-1T00:00:00Z'"),
    ("StartTime > '2024-01-01T23:59:60Z'", "invalid expression: unable to parse datetime '2024-01-01T23:59:60Z'"),
    ("StartTime > '2024-01-01T24:00:00Z'", "invalid expression: unable to parse datetime '2024-01-01T24:00:00Z'"),
    ("StartTime > '2024-02-30T00:00:00Z'", "invalid expression: unable to parse datetime '2024-02-30T00:00:00Z'"),
    (
        "StartTime > '2024-01-01T00:00:00+0530'",
        "invalid expression: unable to parse datetime '2024-01-01T00:00:00+0530'",
    ),
    ("StartTime > '10000-01-01T00:00:00Z'", "invalid expression: unable to parse datetime '10000-01-01T00:00:00Z'"),
    ("StartTime > '1700000000'", "invalid expression: unable to parse datetime '1700000000'"),
    ("StartTime > 1700000000000000000", "OK"),
    ("StartTime > -1", "OK"),
    (
        "StartTime > 9223372036854775808",
        "invalid expression: invalid value type for search attribute StartTime of type Datetime: 9.223372036854776e+18 (type: float64)",
    ),
    (
        "StartTime > 1.5",
        "invalid expression: invalid value type for search attribute StartTime of type Datetime: 1.5 (type: float64)",
    ),
    (
        "StartTime > true",
        "invalid expression: invalid value type for search attribute StartTime of type Datetime: true (type: bool)",
    ),
    ("StartTime STARTS_WITH '2024'", "invalid expression: unable to parse datetime '2024'"),
    ("StartTime BETWEEN '2024-01-01T00:00:00Z' AND '2025-01-01T00:00:00Z'", "OK"),
    ("StartTime IN ('2024-01-01T00:00:00Z')", "OK"),
    ("CloseTime IS NULL", "OK"),
    ("ExecutionStatus = 'Running'", "OK"),
    ("ExecutionStatus = 'ContinuedAsNew'", "OK"),
    ("ExecutionStatus = 'TimedOut'", "OK"),
    ("ExecutionStatus = 'Paused'", "OK"),
    ("ExecutionStatus = 'Unspecified'", "OK"),
    ("ExecutionStatus = 'WORKFLOW_EXECUTION_STATUS_RUNNING'", "OK"),
    ("ExecutionStatus = 'running'", "invalid expression: invalid ExecutionStatus value 'running'"),
    ("ExecutionStatus = 'RUNNING'", "invalid expression: invalid ExecutionStatus value 'RUNNING'"),
    (
        "ExecutionStatus = 'workflow_execution_status_running'",
        "invalid expression: invalid ExecutionStatus value 'workflow_execution_status_running'",
    ),
    ("ExecutionStatus = 'Completed '", "invalid expression: invalid ExecutionStatus value 'Completed '"),
    ("ExecutionStatus = '1'", "invalid expression: invalid ExecutionStatus value '1'"),
    ("ExecutionStatus = 'Bogus'", "invalid expression: invalid ExecutionStatus value 'Bogus'"),
    ("ExecutionStatus = 1", "OK"),
    ("ExecutionStatus = 0", "OK"),
    ("ExecutionStatus = 8", "OK"),
    ("ExecutionStatus = 9", "invalid expression: invalid ExecutionStatus value 9"),
    ("ExecutionStatus = -1", "invalid expression: invalid ExecutionStatus value -1"),
    ("ExecutionStatus = 1.5", "invalid expression: unexpected value type float64 for search attribute ExecutionStatus"),
    (
        "ExecutionStatus = true",
        "invalid expression: invalid value type for search attribute ExecutionStatus of type Keyword: true (type: bool)",
    ),
    ("ExecutionStatus IN ('Running', 2)", "OK"),
    ("ExecutionStatus > 'Running'", "OK"),
    ("ExecutionStatus BETWEEN 1 AND 3", "OK"),
    ("ExecutionStatus STARTS_WITH 'Run'", "invalid expression: invalid ExecutionStatus value 'Run'"),
    (
        "ExecutionStatus NOT STARTS_WITH 'Running'",
        'invalid expression: right-hand side of "not starts_with" operator must be a literal string (got: Running)',
    ),
    ("ExecutionStatus IS NULL", "OK"),
    ("ExecutionDuration > '1h'", "OK"),
    ("ExecutionDuration > '1h30m'", "OK"),
    ("ExecutionDuration > '1.5h'", "OK"),
    ("ExecutionDuration > '-1.5h'", "OK"),
    ("ExecutionDuration > '+1h'", "OK"),
    ("ExecutionDuration > '.5h'", "OK"),
    ("ExecutionDuration > '1.h'", "OK"),
    ("ExecutionDuration > '1d'", "OK"),
    ("ExecutionDuration > '1.5d'", "OK"),
    ("ExecutionDuration > '1d2h'", "OK"),
    ("ExecutionDuration > '300ms'", "OK"),
    ("ExecutionDuration > '1us'", "OK"),
    ("ExecutionDuration > '1µs'", "OK"),
    ("ExecutionDuration > '0'", "OK"),
    ("ExecutionDuration > '1000'", "OK"),
    ("ExecutionDuration > 1000", "OK"),
    ("ExecutionDuration > '01:00:00'", "OK"),
    ("ExecutionDuration > '1:2:3'", "OK"),
    ("ExecutionDuration > '100:00:00'", "OK"),
    ("ExecutionDuration > '00:59:59.5'", "OK"),
    (
        "ExecutionDuration > '00:61:00'",
        "invalid expression: invalid duration value for search attribute ExecutionDuration: 00:61:00",
    ),
    (
        "ExecutionDuration > '00:00:61'",
        "invalid expression: invalid duration value for search attribute ExecutionDuration: 00:00:61",
    ),
    (
        "ExecutionDuration > '-01:00:00'",
        "invalid expression: invalid duration value for search attribute ExecutionDuration: -01:00:00",
    ),
    (
        "ExecutionDuration > '01:00'",
        "invalid expression: invalid duration value for search attribute ExecutionDuration: 01:00",
    ),
    (
        "ExecutionDuration > '1w'",
        "invalid expression: invalid duration value for search attribute ExecutionDuration: 1w",
    ),
    (
        "ExecutionDuration > '1H'",
        "invalid expression: invalid duration value for search attribute ExecutionDuration: 1H",
    ),
    (
        "ExecutionDuration > '1h 30m'",
        "invalid expression: invalid duration value for search attribute ExecutionDuration: 1h 30m",
    ),
    (
        "ExecutionDuration > '1.5'",
        "invalid expression: invalid duration value for search attribute ExecutionDuration: 1.5",
    ),
    ("ExecutionDuration > 'h'", "invalid expression: invalid duration value for search attribute ExecutionDuration: h"),
    ("ExecutionDuration > ''", "invalid expression: invalid duration value for search attribute ExecutionDuration: "),
    (
        "ExecutionDuration > 'abc'",
        "invalid expression: invalid duration value for search attribute ExecutionDuration: abc",
    ),
    (
        "ExecutionDuration > 1.5",
        "invalid expression: unexpected value type float64 for search attribute ExecutionDuration",
    ),
    (
        "ExecutionDuration > 99999999999999999999",
        "invalid expression: unexpected value type float64 for search attribute ExecutionDuration",
    ),
    (
        "ExecutionDuration > true",
        "invalid expression: invalid value type for search attribute ExecutionDuration of type Int: true (type: bool)",
    ),
    ("ExecutionDuration IN ('1h', 5)", "OK"),
    ("ExecutionDuration BETWEEN '1m' AND '1h'", "OK"),
    ("HistoryLength > 5", "OK"),
    ("HistoryLength > 5.5", "OK"),
    ("HistoryLength > -5", "OK"),
    ("HistoryLength > +5", "OK"),
    ("HistoryLength > - 5", "OK"),
    ("HistoryLength > 1e3", "OK"),
    ("HistoryLength > -1e-3", "OK"),
    ("HistoryLength > .5", "OK"),
    ("HistoryLength > 5.", "OK"),
    ("HistoryLength > 99999999999999999999", "OK"),
    (
        "HistoryLength > '5'",
        'invalid expression: invalid value type for search attribute HistoryLength of type Int: "5" (type: string)',
    ),
    (
        "HistoryLength = true",
        "invalid expression: invalid value type for search attribute HistoryLength of type Int: true (type: bool)",
    ),
    ("HistoryLength > 0x10", 'invalid expression: unable to parse value "0x10"'),
    ("HistoryLength = 1_000", "malformed SQL query"),
    ("HistoryLength = 1.2.3", "malformed SQL query"),
    (
        "HistoryLength STARTS_WITH '1'",
        'invalid expression: invalid value type for search attribute HistoryLength of type Int: "1" (type: string)',
    ),
    ("HistoryLength IN (1, 2.5)", "OK"),
    ("HistoryLength IN (1,)", "malformed SQL query"),
    (
        "HistoryLength BETWEEN 1 AND 'x'",
        'invalid expression: invalid value type for search attribute HistoryLength of type Int: "x" (type: string)',
    ),
    ("HistoryLength NOT BETWEEN 1 AND 5", "OK"),
    ("HistorySizeBytes > 0", "OK"),
    ("StateTransitionCount > 0", "OK"),
    ("TemporalChangeVersion = 'v1'", "OK"),
    ("TemporalChangeVersion IN ('v1', 'v2')", "OK"),
    ("TemporalChangeVersion NOT IN ('v1')", "OK"),
    ("TemporalChangeVersion != 'v1'", "OK"),
    (
        "TemporalChangeVersion > 'v1'",
        "operation is not supported: operator '>' not supported for KeywordList type search attribute 'TemporalChangeVersion'",
    ),
    (
        "TemporalChangeVersion STARTS_WITH 'v'",
        "operation is not supported: operator 'STARTS_WITH' not supported for KeywordList type search attribute 'TemporalChangeVersion'",
    ),
    (
        "TemporalChangeVersion BETWEEN 'a' AND 'b'",
        "invalid expression: cannot do range condition on search attribute 'TemporalChangeVersion' of type KeywordList",
    ),
    ("TemporalChangeVersion IS NULL", "OK"),
    ("BuildIds = 'unversioned'", "OK"),
    ("BinaryChecksums = 'abc'", "OK"),
    ("TemporalSchedulePaused = true", "OK"),
    ("TemporalSchedulePaused = TRUE", "OK"),
    ("TemporalSchedulePaused != true", "OK"),
    ("TemporalSchedulePaused > true", "OK"),
    ("TemporalSchedulePaused IN (true, false)", "OK"),
    (
        "TemporalSchedulePaused = 'true'",
        'invalid expression: invalid value type for search attribute TemporalSchedulePaused of type Bool: "true" (type: string)',
    ),
    (
        "TemporalSchedulePaused = 1",
        "invalid expression: invalid value type for search attribute TemporalSchedulePaused of type Bool: 1 (type: int64)",
    ),
    (
        "TemporalSchedulePaused BETWEEN false AND true",
        "invalid expression: cannot do range condition on search attribute 'TemporalSchedulePaused' of type Bool",
    ),
    (
        "TemporalSchedulePaused STARTS_WITH 'x'",
        'invalid expression: invalid value type for search attribute TemporalSchedulePaused of type Bool: "x" (type: string)',
    ),
    ("TemporalNamespaceDivision IS NOT NULL", "OK"),
    ("CustomKeywordField STARTS_WITH 'a%'", "OK"),
    ("CustomTextField = 'hello'", "OK"),
    ("CustomTextField = 'hello-world'", "OK"),
    ("CustomTextField != 'hello'", "OK"),
    (
        "CustomTextField = ''",
        "invalid expression: no tokens found filtering on Text type search attribute CustomTextField",
    ),
    (
        "CustomTextField = '   '",
        "invalid expression: no tokens found filtering on Text type search attribute CustomTextField",
    ),
    (
        "CustomTextField IN ('hello')",
        "operation is not supported: operator 'IN' not supported for Text type search attribute 'CustomTextField'",
    ),
    (
        "CustomTextField STARTS_WITH 'x'",
        "operation is not supported: operator 'STARTS_WITH' not supported for Text type search attribute 'CustomTextField'",
    ),
    (
        "CustomTextField > 'a'",
        "operation is not supported: operator '>' not supported for Text type search attribute 'CustomTextField'",
    ),
    (
        "CustomTextField BETWEEN 'a' AND 'b'",
        "invalid expression: cannot do range condition on search attribute 'CustomTextField' of type Text",
    ),
    ("CustomTextField IS NULL", "OK"),
    (
        "CustomTextField = 5",
        "invalid expression: invalid value type for search attribute CustomTextField of type Text: 5 (type: int64)",
    ),
    ("KwList = 'a'", "OK"),
    ("KwList IN ('a', 'b')", "OK"),
    (
        "KwList = 5",
        "invalid expression: invalid value type for search attribute KwList of type KeywordList: 5 (type: int64)",
    ),
    ("CustomIntField >= 5.5", "OK"),
    ("CustomIntField = 9223372036854775808", "OK"),
    ("CustomDoubleField = 1", "OK"),
    (
        "CustomDoubleField > '1'",
        'invalid expression: invalid value type for search attribute CustomDoubleField of type Double: "1" (type: string)',
    ),
    (
        "CustomBoolField IN (true, 1)",
        "invalid expression: invalid value type for search attribute CustomBoolField of type Bool: 1 (type: int64)",
    ),
    ("CustomDatetimeField > 0", "OK"),
    ("WorkflowId = 'x' HAVING 1", "OK"),
    ("HistoryLength = b'101'", "OK"),
    ("WorkflowId = :v1", 'invalid expression: unable to parse value ":v1"'),
    ("WorkflowId IS NULL IS NULL", "invalid expression: must be a column name but was *sqlparser.IsExpr"),
    ("HistoryLength = 5 + 1", "invalid expression: unexpected value type *sqlparser.BinaryExpr"),
    ("HistoryLength = --5", "malformed SQL query"),
]

# Both reject these, in other words (the reference names Go parser types, or rejects later).
WORDED_DIFFERENTLY: dict[str, str] = {
    "WorkflowId IN (('w1'))": "invalid expression: unexpected value (w1)",
    "WorkflowId = NULL": "invalid expression: unexpected value NULL (use IS NULL or IS NOT NULL)",
    "'x' = WorkflowId": "invalid expression: must be a column name but was string 'x'",
    "upper(WorkflowId) = 'W1'": "invalid expression: must be a column name but was function upper()",
    "HistoryLength > 0x10": "malformed SQL query",
    "WorkflowId = :v1": "malformed SQL query",
    "WorkflowId IS NULL IS NULL": "malformed SQL query",
    "HistoryLength = 5 + 1": "malformed SQL query",
    "HistoryLength = --5": 'invalid expression: unary operator not supported in "--"',
}
# The reference accepts these; we refuse them (HAVING is ignored there, b'101' is a MySQL bit literal).
REFERENCE_ONLY = {"WorkflowId = 'x' HAVING 1", "HistoryLength = b'101'"}


def _outcome(query: str) -> str:
    try:
        compile_query(query, CUSTOM, namespace_id="ns")
    except QueryError as e:
        assert e.message.startswith("invalid query: ")
        problem = e.problem
        return "malformed SQL query" if problem.startswith("malformed SQL query") else problem
    return "OK"


@pytest.mark.parametrize(("query", "reference"), REFERENCE_CASES, ids=[q or "<empty>" for q, _ in REFERENCE_CASES])
def test_reference_cases(query: str, reference: str, db: sqlite3.Connection) -> None:
    if query in REFERENCE_ONLY:
        assert reference == "OK" and _outcome(query) == "malformed SQL query"
        return
    assert _outcome(query) == WORDED_DIFFERENTLY.get(query, reference)
    if reference == "OK":  # and the SQL it compiles to runs
        compiled = compile_query(query, CUSTOM, namespace_id="ns1")
        db.execute(*compiled.list_statement(10)).fetchall()
        db.execute(*compiled.count_statement()).fetchall()


# --- a small visibility store -----------------------------------------------------------------------

BASE = to_micros("2024-01-01T00:00:00Z")
MINUTE = 60_000_000
HOUR = 60 * MINUTE
STATUSES = [S.RUNNING, S.COMPLETED, S.FAILED, S.CANCELED, S.TERMINATED, S.CONTINUED_AS_NEW, S.TIMED_OUT]


@dataclass
class Row:
    """One run as the test writes it; ``sa`` holds decoded search attribute values (absent = unset)."""

    i: int
    namespace_id: str
    workflow_id: str
    workflow_type: str
    status: int
    start_time: int
    close_time: int | None
    task_queue: str
    parent_workflow_id: str | None
    division: str | None
    sa: dict[str, Any] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return f"run-{self.i:02d}"

    @property
    def duration(self) -> int | None:
        return None if self.close_time is None else (self.close_time - self.start_time) * 1000

    @property
    def history_length(self) -> int:
        return self.i * 2

    @property
    def root_workflow_id(self) -> str:
        return self.parent_workflow_id or self.workflow_id


def _make_row(i: int) -> Row:
    status = STATUSES[i % 7]
    start = BASE + i * HOUR
    sa: dict[str, Any] = {}
    if i % 4 != 3:
        sa["CustomKeywordField"] = ["apple", "Apple pie", "a%b_c" if i % 8 == 2 else "banana"][i % 4]
    if i % 5:
        sa["CustomIntField"] = i % 10
    if i % 2:
        sa["CustomDoubleField"] = i / 2
    if i % 3 != 2:
        sa["CustomBoolField"] = i % 3 == 0
    if i % 4 != 1:
        sa["CustomDatetimeField"] = f"2024-02-{i % 28 + 1:02d}T12:00:00+02:00"
    texts = ["Hello brave new world", "hello-world foo", "Ünïcödé straße", None]
    if texts[i % 4]:
        sa["CustomTextField"] = texts[i % 4]
    lists = [["a", "b-c"], ["b"], None, ["A", "x y"]]
    if lists[i % 4]:
        sa["KwList"] = lists[i % 4]
    if i % 2 == 0:
        sa["BuildIds"] = ["unversioned"]
    if i % 10 == 0:
        sa["BatcherUser"] = "admin"
    return Row(
        i=i,
        namespace_id="ns2" if i in (45, 46, 47) else "ns1",
        workflow_id=f"WF-{i:02d}" if i % 10 == 0 else f"wf-{i:02d}",
        workflow_type=["Order", "Payment", "Refund"][i % 3],
        status=status,
        start_time=start,
        close_time=None if status == S.RUNNING else start + (i % 5 + 1) * MINUTE,
        task_queue=f"tq-{i % 4}",
        parent_workflow_id=f"wf-{i - 1:02d}" if i % 6 == 5 else None,
        division="TemporalScheduler" if i in (48, 49) else None,
        sa=sa,
    )


ROWS = [_make_row(i) for i in range(50)]
VISIBLE = [r for r in ROWS if r.namespace_id == "ns1" and r.division is None]


def _insert(db: sqlite3.Connection, row: Row) -> None:
    values = {
        "namespace_id": row.namespace_id,
        "run_id": row.run_id,
        "workflow_id": row.workflow_id,
        "workflow_type": row.workflow_type,
        "status": row.status,
        "start_time": row.start_time,
        "execution_time": row.start_time,
        "close_time": row.close_time,
        "execution_duration": row.duration,
        "history_length": row.history_length,
        "history_size_bytes": row.i * 100,
        "state_transition_count": row.i,
        "task_queue": row.task_queue,
        "parent_workflow_id": row.parent_workflow_id,
        "root_workflow_id": row.root_workflow_id,
        "root_run_id": row.run_id,
        "namespace_division": row.division,
    }
    columns = ", ".join(values)
    db.execute(
        f"INSERT INTO {VISIBILITY_TABLE} ({columns}) VALUES ({', '.join('?' * len(values))})", list(values.values())
    )
    for name, value in row.sa.items():
        attr = resolve_attribute(name, CUSTOM)
        assert attr is not None
        db.executemany(
            f"INSERT INTO {SEARCH_ATTRIBUTES_TABLE} (namespace_id, name, value, run_id) VALUES (?, ?, ?, ?)",
            [(row.namespace_id, name, v, row.run_id) for v in index_values(attr.value_type, value)],
        )


@pytest.fixture(scope="module")
def db() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:")
    for statement in SQLITE_SCHEMA:
        conn.execute(statement)
    for row in ROWS:
        _insert(conn, row)
    yield conn
    conn.close()


def _ids(db: sqlite3.Connection, query: str, namespace: str = "ns1") -> list[str]:
    compiled = compile_query(query, CUSTOM, namespace_id=namespace)
    return [wid for (wid,) in db.execute(*compiled.list_statement(1000, columns="workflow_id"))]


def _sa(name: str, test: Callable[[Any], bool]) -> Callable[[Row], bool]:
    """A row predicate true when the attribute is set and passes ``test`` (SQL's NULL rule)."""
    return lambda r: name in r.sa and test(r.sa[name])


def _folded(r: Row) -> set[str]:
    return {v.lower() for v in r.sa.get("KwList", [])}


def _tokens(r: Row) -> set[str]:
    return set(text_tokens(r.sa.get("CustomTextField", "")))


def _micros(text: str) -> int:
    return to_micros(text)


ORACLE: list[tuple[str, Callable[[Row], bool]]] = [
    ("", lambda r: True),
    ("WorkflowId = 'wf-01'", lambda r: r.workflow_id == "wf-01"),
    ("WorkflowId > 'wf-40'", lambda r: r.workflow_id > "wf-40"),  # binary order: 'WF-..' < 'wf-..'
    ("WorkflowId IN ('wf-01', 'WF-10', 'nope')", lambda r: r.workflow_id in ("wf-01", "WF-10")),
    ("WorkflowId STARTS_WITH 'wf-1'", lambda r: r.workflow_id.lower().startswith("wf-1")),  # ASCII case ignored
    ("WorkflowId NOT STARTS_WITH 'WF-1'", lambda r: not r.workflow_id.lower().startswith("wf-1")),
    ("WorkflowId STARTS_WITH ''", lambda r: True),
    ("TemporalWorkflowId = 'wf-02'", lambda r: r.workflow_id == "wf-02"),
    ("ScheduleId = 'wf-02'", lambda r: r.workflow_id == "wf-02"),
    ("RunId = 'run-03'", lambda r: r.run_id == "run-03"),
    ("WorkflowType = 'Order' AND TaskQueue != 'tq-1'", lambda r: r.workflow_type == "Order" and r.task_queue != "tq-1"),
    ("ExecutionStatus = 'Running'", lambda r: r.status == S.RUNNING),
    ("TemporalExecutionStatus = 'Running'", lambda r: r.status == S.RUNNING),
    ("ExecutionStatus = 'WORKFLOW_EXECUTION_STATUS_TIMED_OUT'", lambda r: r.status == S.TIMED_OUT),
    ("ExecutionStatus IN ('Completed', 3)", lambda r: r.status in (S.COMPLETED, S.FAILED)),
    ("ExecutionStatus > 'Terminated'", lambda r: r.status > S.TERMINATED),
    ("ExecutionStatus != 'Running'", lambda r: r.status != S.RUNNING),
    ("CloseTime IS NULL", lambda r: r.close_time is None),
    ("CloseTime > '2024-01-01T00:00:00Z'", lambda r: r.close_time is not None),  # running ones have no close time
    ("CloseTime < '2024-01-01T12:00:00Z'", lambda r: r.close_time is not None and r.close_time < BASE + 12 * HOUR),
    ("StartTime >= '2024-01-01T10:00:00+01:00'", lambda r: r.start_time >= BASE + 9 * HOUR),
    (
        "StartTime BETWEEN '2024-01-01T05:00:00Z' AND '2024-01-01T07:00:00.000Z'",
        lambda r: BASE + 5 * HOUR <= r.start_time <= BASE + 7 * HOUR,
    ),
    ("StartTime = '2024-01-01T05:00:00.000000999Z'", lambda r: r.start_time == BASE + 5 * HOUR),  # to microseconds
    ("StartTime < 1704078000000000000", lambda r: r.start_time < BASE + 3 * HOUR),  # nanoseconds since the epoch
    ("ExecutionTime > '2024-01-02T00:00:00Z'", lambda r: r.start_time > BASE + 24 * HOUR),
    ("ExecutionDuration > '3m'", lambda r: r.duration is not None and r.duration > 180 * 10**9),
    ("ExecutionDuration <= 120000000000", lambda r: r.duration is not None and r.duration <= 120 * 10**9),
    (
        "ExecutionDuration BETWEEN '00:02:00' AND '4m'",
        lambda r: r.duration is not None and 120 <= r.duration / 1e9 <= 240,
    ),
    ("ExecutionDuration IS NULL", lambda r: r.duration is None),
    ("HistoryLength > 10.5", lambda r: r.history_length > 10.5),
    ("HistoryLength NOT BETWEEN 4 AND 80", lambda r: not 4 <= r.history_length <= 80),
    ("HistorySizeBytes >= 4000 AND StateTransitionCount < 42", lambda r: 40 <= r.i < 42),
    ("ParentWorkflowId IS NOT NULL", lambda r: r.parent_workflow_id is not None),
    ("ParentWorkflowId != 'wf-04'", lambda r: r.parent_workflow_id is not None and r.parent_workflow_id != "wf-04"),
    ("RootWorkflowId = 'wf-04'", lambda r: r.root_workflow_id == "wf-04"),
    ("CustomKeywordField = 'apple'", _sa("CustomKeywordField", lambda v: v == "apple")),
    ("CustomKeywordField != 'apple'", _sa("CustomKeywordField", lambda v: v != "apple")),
    ("NOT CustomKeywordField = 'apple'", _sa("CustomKeywordField", lambda v: v != "apple")),
    ("CustomKeywordField > 'B'", _sa("CustomKeywordField", lambda v: v > "B")),
    ("CustomKeywordField STARTS_WITH 'apple'", _sa("CustomKeywordField", lambda v: v.lower().startswith("apple"))),
    ("CustomKeywordField STARTS_WITH 'a%'", _sa("CustomKeywordField", lambda v: v.startswith("a%"))),
    ("CustomKeywordField STARTS_WITH 'a_'", lambda r: False),  # _ is not a wildcard
    ("CustomKeywordField NOT STARTS_WITH 'A'", _sa("CustomKeywordField", lambda v: not v.lower().startswith("a"))),
    ("CustomKeywordField IS NULL", lambda r: "CustomKeywordField" not in r.sa),
    ("NOT CustomKeywordField IS NULL", lambda r: "CustomKeywordField" in r.sa),
    ("CustomKeywordField IN ('apple', 'banana')", _sa("CustomKeywordField", lambda v: v in ("apple", "banana"))),
    (
        "CustomKeywordField NOT IN ('apple', 'banana')",
        _sa("CustomKeywordField", lambda v: v not in ("apple", "banana")),
    ),
    ("CustomKeywordField NOT BETWEEN 'a' AND 'b'", _sa("CustomKeywordField", lambda v: not "a" <= v <= "b")),
    ("CustomIntField >= 5", _sa("CustomIntField", lambda v: v >= 5)),
    ("CustomIntField < 5.5", _sa("CustomIntField", lambda v: v < 5.5)),
    ("NOT CustomIntField >= 5", _sa("CustomIntField", lambda v: v < 5)),
    ("CustomIntField != 3", _sa("CustomIntField", lambda v: v != 3)),
    (
        "NOT (CustomKeywordField = 'apple' OR CustomIntField = 4)",  # NULL OR false is NULL, and NOT NULL is NULL
        lambda r: _sa("CustomKeywordField", lambda v: v != "apple")(r) and _sa("CustomIntField", lambda v: v != 4)(r),
    ),
    (
        "NOT (CustomKeywordField = 'apple' AND CustomIntField = 4)",
        lambda r: _sa("CustomKeywordField", lambda v: v != "apple")(r) or _sa("CustomIntField", lambda v: v != 4)(r),
    ),
    ("CustomDoubleField > 10", _sa("CustomDoubleField", lambda v: v > 10)),
    ("CustomDoubleField = 1.5", _sa("CustomDoubleField", lambda v: v == 1.5)),
    ("CustomDoubleField IN (0.5, 2)", _sa("CustomDoubleField", lambda v: v in (0.5, 2))),
    ("CustomBoolField = true", _sa("CustomBoolField", lambda v: v is True)),
    ("CustomBoolField != true", _sa("CustomBoolField", lambda v: v is False)),
    ("CustomBoolField > false", _sa("CustomBoolField", lambda v: v is True)),
    ("CustomBoolField IS NULL", lambda r: "CustomBoolField" not in r.sa),
    (
        "CustomDatetimeField > '2024-02-10T00:00:00Z'",
        _sa("CustomDatetimeField", lambda v: _micros(v) > _micros("2024-02-10T00:00:00Z")),
    ),
    ("CustomDatetimeField = '2024-02-01T10:00:00Z'", _sa("CustomDatetimeField", lambda v: v.startswith("2024-02-01"))),
    ("KwList = 'a'", lambda r: "a" in _folded(r)),  # also ["A", ...]: the reference ignores case here
    ("KwList = 'b'", lambda r: "b" in _folded(r)),  # an element, not a part of "b-c"
    ("KwList = 'X Y'", lambda r: "x y" in _folded(r)),
    ("KwList != 'a'", lambda r: "a" not in _folded(r)),  # runs without the list too
    ("NOT KwList IN ('a', 'b')", lambda r: not _folded(r) & {"a", "b"}),
    ("KwList IS NULL", lambda r: "KwList" not in r.sa),
    ("BuildIds = 'Unversioned'", lambda r: "BuildIds" in r.sa),
    ("BatcherUser = 'admin'", lambda r: r.sa.get("BatcherUser") == "admin"),
    ("CustomTextField = 'HELLO'", lambda r: "hello" in _tokens(r)),
    ("CustomTextField = 'hell'", lambda r: False),  # tokens, not substrings
    ("CustomTextField = 'foo brave'", lambda r: bool(_tokens(r) & {"foo", "brave"})),  # any piece
    ("CustomTextField = 'unicode'", lambda r: "unicode" in _tokens(r)),  # accents removed
    ("CustomTextField = 'strasse'", lambda r: False),
    ("CustomTextField = 'new-world'", lambda r: {"new", "world"} <= _tokens(r)),  # all of a piece's tokens
    ("CustomTextField = '---'", lambda r: False),
    ("CustomTextField != 'hello'", lambda r: "hello" not in _tokens(r)),  # runs without the text too
    ("CustomTextField IS NOT NULL", lambda r: "CustomTextField" in r.sa),
    (
        "(WorkflowType = 'Order' OR WorkflowType = 'Refund') AND NOT ExecutionStatus = 'Running'",
        lambda r: r.workflow_type in ("Order", "Refund") and r.status != S.RUNNING,
    ),
    (
        "WorkflowType = 'Order' || CustomIntField = 3 && CustomBoolField = false",  # AND binds tighter
        lambda r: (
            r.workflow_type == "Order" or (r.sa.get("CustomIntField") == 3 and r.sa.get("CustomBoolField") is False)
        ),
    ),
]


@pytest.mark.parametrize(("query", "predicate"), ORACLE, ids=[q or "<empty>" for q, _ in ORACLE])
def test_query_selects_the_right_runs(db: sqlite3.Connection, query: str, predicate: Callable[[Row], bool]) -> None:
    expected = {r.workflow_id for r in VISIBLE if predicate(r)}
    found = _ids(db, query)
    assert len(found) == len(set(found))  # no run twice
    assert set(found) == expected
    (count,) = db.execute(*compile_query(query, CUSTOM, namespace_id="ns1").count_statement()).fetchone()
    assert count == len(expected)


def test_oracle_queries_are_not_trivial() -> None:
    """Guards the oracle table itself: most queries must select some runs and leave out others."""
    selective = [q for q, p in ORACLE if 0 < sum(map(p, VISIBLE)) < len(VISIBLE)]
    assert len(selective) > len(ORACLE) * 3 // 4


def test_namespaces_are_separate(db: sqlite3.Connection) -> None:
    assert set(_ids(db, "", "ns2")) == {"wf-45", "wf-46", "wf-47"}
    assert set(_ids(db, "CustomIntField > 0", "ns2")) == {"wf-46", "wf-47"}
    assert _ids(db, "", "other") == []


def test_namespace_division_is_hidden_unless_named(db: sqlite3.Connection) -> None:
    assert not {"wf-48", "wf-49"} & set(_ids(db, ""))
    assert set(_ids(db, "TemporalNamespaceDivision = 'TemporalScheduler'")) == {"wf-48", "wf-49"}
    everything = set(_ids(db, "TemporalNamespaceDivision IS NULL OR TemporalNamespaceDivision IS NOT NULL"))
    assert everything == {r.workflow_id for r in ROWS if r.namespace_id == "ns1"}


def test_list_order_and_pages(db: sqlite3.Connection) -> None:
    """Running first, then by close time, then start time, newest first; run id breaks ties. Pages resume exactly."""
    never = 2**63
    expected = [r.run_id for r in sorted(VISIBLE, key=lambda r: (-(r.close_time or never), -r.start_time, r.run_id))]
    compiled = compile_query("", CUSTOM, namespace_id="ns1")
    seen: list[str] = []
    after = None
    while True:
        page = db.execute(*compiled.list_statement(7, after, "run_id, close_time, start_time")).fetchall()
        seen += [run_id for run_id, _, _ in page]
        if len(page) < 7:
            break
        run_id, close_time, start_time = page[-1]
        after = PageKey(close_time, start_time, run_id)
    assert seen == expected


def test_count_group_by_execution_status(db: sqlite3.Connection) -> None:
    count = compile_count_query("WorkflowType = 'Order' GROUP BY ExecutionStatus", CUSTOM, namespace_id="ns1")
    assert count.group_by is not None and count.group_by.attribute == "ExecutionStatus"
    groups = {execution_status_name(status): n for status, n in db.execute(count.sql, count.params)}
    expected: dict[str, int] = {}
    for r in VISIBLE:
        if r.workflow_type == "Order":
            name = execution_status_name(r.status)
            expected[name] = expected.get(name, 0) + 1
    assert groups == expected
    assert set(groups) >= {"Running", "ContinuedAsNew"}


def test_count_group_by_namespace_division_spans_divisions(db: sqlite3.Connection) -> None:
    count = compile_count_query("GROUP BY TemporalNamespaceDivision", CUSTOM, namespace_id="ns1")
    assert dict(db.execute(count.sql, count.params).fetchall()) == {None: 45, "TemporalScheduler": 2}


def test_plain_count(db: sqlite3.Connection) -> None:
    count = compile_count_query("ExecutionStatus = 'Running'", CUSTOM, namespace_id="ns1")
    assert count.group_by is None
    assert db.execute(count.sql, count.params).fetchall() == [(sum(r.status == S.RUNNING for r in VISIBLE),)]


def test_list_ignores_group_by() -> None:
    plain = compile_query("WorkflowId = 'x'", CUSTOM, namespace_id="n")
    grouped = compile_query("WorkflowId = 'x' GROUP BY ExecutionStatus", CUSTOM, namespace_id="n")
    assert grouped.list_statement(5) == plain.list_statement(5)


# --- syntax --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "position"),
    [
        ("WorkflowId == 'x'", 12),
        ("(WorkflowId = 'x'", 17),
        ("WorkflowId = 'x')", 16),
        ("WorkflowId = 'unterminated", 13),
        ("WorkflowId = 'x' XOR RunId = 'y'", 17),
        ("WorkflowId IN ()", 15),
        ("HistoryLength = 1_000", 16),
        ("WorkflowId = 'x' AND", 20),
        ("Order = 'x'", 0),  # a reserved word must be backtick-quoted to be a name
        ("WorkflowId = 'x' /* open", 17),
        ("WorkflowId ~ 'x'", 11),
    ],
)
def test_syntax_errors_name_the_offset(query: str, position: int) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        compile_query(query, CUSTOM, namespace_id="n")
    assert isinstance(info.value, QueryError) and info.value.position == position
    assert info.value.message.startswith(f"invalid query: malformed SQL query: syntax error at position {position} ")


def test_semantic_errors_carry_the_offset_too() -> None:
    with pytest.raises(QueryError) as info:
        compile_query("WorkflowId = 'x' AND Foo = 1", CUSTOM, namespace_id="n")
    assert info.value.position == 21 and info.value.message == "invalid query: invalid search attribute: Foo"


def test_string_and_name_quoting() -> None:
    params = compile_query(r"WorkflowId = 'a\'b''c\n\%' OR RunId = " + '"d""e"', CUSTOM, namespace_id="n").params
    assert params[1:] == ("a'b'c\n%", 'd"e')
    # A custom attribute named like a keyword, backtick-quoted: side table (namespace, name, value).
    compiled = compile_query("`Order` = 'x'", {"Order": T.INDEXED_VALUE_TYPE_KEYWORD}, namespace_id="n")
    assert compiled.params == ("n", "n", "Order", "x")
    with pytest.raises(QueryError, match="invalid search attribute: Work`flow"):
        compile_query("`Work``flow` = 'x'", CUSTOM, namespace_id="n")


def test_comments_keywords_and_whitespace() -> None:
    tree = parse("WorkflowId\t= 'x'\n  and RunId Is Not Null # trailing\n;").where
    assert isinstance(tree, And) and isinstance(tree.right, Is) and tree.right.negated
    assert compile_query("/* c */ WorkflowId = 'x' -- end", CUSTOM, namespace_id="n").params == ("n", "x")


def test_dialect_seam() -> None:
    """Placeholders come from the dialect alone (a PostgreSQL dialect would use %s)."""

    class Percent(type(compile_query("", CUSTOM, namespace_id="n").dialect)):  # type: ignore[misc]
        placeholder = "%s"

    query = "WorkflowId IN ('a', 'b') AND CustomKeywordField != 'x' AND WorkflowId STARTS_WITH 'p' AND KwList = 'k'"
    compiled = compile_query(query, CUSTOM, namespace_id="n", dialect=Percent())
    assert "?" not in compiled.where and compiled.where.count("%s") == len(compiled.params)
    sql, params = compiled.list_statement(10, PageKey(None, 1, "r"))
    assert "?" not in sql and sql.count("%s") == len(params)


# --- values --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00+00:00"),
        ("2024-01-01T01:30:00+01:30", "2024-01-01T00:00:00+00:00"),
        ("2023-12-31T23:00:00-01:00", "2024-01-01T00:00:00+00:00"),
        ("2024-01-01T00:00:00.123456789Z", "2024-01-01T00:00:00.123456+00:00"),
        ("2024-01-01T00:00:00,5Z", "2024-01-01T00:00:00.500000+00:00"),
        ("1969-12-31T23:59:59.999999Z", "1969-12-31T23:59:59.999999+00:00"),
        ("2024-01-01T00:00:00", None),
        ("2024-02-30T00:00:00Z", None),
        ("2024-01-01T00:00:00+0530", None),
    ],
)
def test_rfc3339(text: str, expected: str | None) -> None:
    micros = parse_rfc3339_micros(text)
    if expected is None:
        assert micros is None
    else:
        assert micros == to_micros(dt.datetime.fromisoformat(expected))


def test_time_conversions_round_trip() -> None:
    ts = micros_to_timestamp(to_micros("2024-05-06T07:08:09.123456Z"))
    assert ts.ToJsonString() == "2024-05-06T07:08:09.123456Z"
    assert to_micros(ts) == to_micros(dt.datetime(2024, 5, 6, 7, 8, 9, 123456))  # naive means UTC
    assert to_micros("2024-05-06T07:08:09") == to_micros("2024-05-06T07:08:09Z")  # stored values: lenient
    with pytest.raises(ValueError):
        to_micros("yesterday")


@pytest.mark.parametrize(
    ("text", "nanos"),
    [
        ("1000", 1000),
        ("0", 0),
        ("1h", 3600 * 10**9),
        ("1h30m", 5400 * 10**9),
        ("1.5d", 36 * 3600 * 10**9),
        ("1d2h", 26 * 3600 * 10**9),
        ("300ms", 300 * 10**6),
        ("1µs", 1000),
        ("-1.5h", -5400 * 10**9),
        ("+1h", 3600 * 10**9),
        (".5h", 1800 * 10**9),
        ("1.h", 3600 * 10**9),
        ("1:2:3", 3723 * 10**9),
        ("00:59:59.5", 3599 * 10**9),
        ("100:00:00", 360000 * 10**9),
        ("h", None),
        ("1w", None),
        ("1H", None),
        ("1h 30m", None),
        ("00:61:00", None),
        ("-01:00:00", None),
        ("", None),
    ],
)
def test_execution_duration(text: str, nanos: int | None) -> None:
    assert parse_execution_duration(text) == nanos


def test_text_tokens_and_index_values() -> None:
    assert text_tokens("Hello, brave-new  WORLD! hello Ünïcödé 42") == [
        "hello",
        "brave",
        "new",
        "world",
        "unicode",
        "42",
    ]
    assert index_values(T.INDEXED_VALUE_TYPE_KEYWORD_LIST, ["A", "a", "B c"]) == ["a", "b c"]
    assert index_values(T.INDEXED_VALUE_TYPE_KEYWORD, "Mixed Case") == ["Mixed Case"]
    assert index_values(T.INDEXED_VALUE_TYPE_KEYWORD, ["only"]) == ["only"]  # old SDKs wrap values in lists
    assert index_values(T.INDEXED_VALUE_TYPE_BOOL, True) == [1]
    assert index_values(T.INDEXED_VALUE_TYPE_INT, 7) == [7]
    assert index_values(T.INDEXED_VALUE_TYPE_DOUBLE, 2) == [2.0]
    assert index_values(T.INDEXED_VALUE_TYPE_DATETIME, "1970-01-01T00:00:01Z") == [1_000_000]
    assert index_values(T.INDEXED_VALUE_TYPE_TEXT, None) == []


@pytest.mark.parametrize(
    ("literal", "shown"),
    [("1e6", "1e+06"), ("123456.5", "123456.5"), ("0.00001", "1e-05"), ("-2.5", "-2.5"), ("1e3", "1000")],
)
def test_floats_in_errors_print_as_go_does(literal: str, shown: str) -> None:
    with pytest.raises(QueryError) as info:
        compile_query(f"StartTime > {literal}", CUSTOM, namespace_id="n")
    assert info.value.problem.endswith(f"of type Datetime: {shown} (type: float64)")


def test_execution_status_names() -> None:
    assert [execution_status_name(s) for s in (S.RUNNING, S.CONTINUED_AS_NEW, S.TIMED_OUT)] == [
        "Running",
        "ContinuedAsNew",
        "TimedOut",
    ]


def test_every_system_attribute_is_queryable(db: sqlite3.Connection) -> None:
    from gnomon.server.visibility.search_attributes import SYSTEM_ATTRIBUTES

    for name in SYSTEM_ATTRIBUTES:
        for query in (f"{name} IS NULL", f"NOT {name} IS NULL"):
            db.execute(*compile_query(query, CUSTOM, namespace_id="ns1").count_statement()).fetchone()
