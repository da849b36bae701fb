"""Temporal's visibility list filter, compiled to a SQL WHERE clause over the visibility tables.

    compiled = compile_query("WorkflowType = 'Order' AND StartTime > '2024-01-01T00:00:00Z'",
                             custom_attributes, namespace_id=ns_id)
    sql, params = compiled.list_statement(page_size=100)
    sql, params = compiled.count_statement()   # GROUP BY ExecutionStatus if the query asks

Meaning follows the reference server with its SQLite visibility store (``temporal server
start-dev``), checked against it; its error messages are reproduced word for word, except
syntax errors, which give a character offset into the query instead of the reference's
offset into a SQL statement the user never wrote. Points worth knowing:

* Attribute names are case-sensitive. Custom attributes are looked up first (they cannot
  have a system attribute's name); then ``X`` also finds ``TemporalX`` and ``TemporalX``
  finds ``X`` (``TemporalExecutionStatus``); ``ScheduleId`` means ``WorkflowId``.
* Missing values behave as SQL NULL: ``Attr != 'x'`` and ``NOT Attr = 'x'`` do not match runs
  without ``Attr``. Except for keyword lists and Text, where the reference tests membership
  in a full-text index: ``List != 'x'`` matches runs without the list.
* ExecutionStatus takes 'Running', 'WORKFLOW_EXECUTION_STATUS_RUNNING' (case-sensitive) or
  the enum number; ``<``/``>`` compare the numbers. ExecutionDuration takes nanoseconds, Go
  durations ('1h30m', '1.5d', '300ms') or 'hh:mm:ss'. Datetimes are RFC 3339 with an offset
  or Z, or integer nanoseconds since the epoch.
* STARTS_WITH ignores ASCII case (SQLite LIKE, as the reference). KeywordList ``=`` means
  "contains", ignoring case. Text ``= 'a b'`` matches values containing the token a or the
  token b (case and accents ignored); a hyphenated piece ('new-world') needs all its tokens
  (the reference also needs them adjacent).
* ORDER BY is validated and then refused, LIMIT is refused, GROUP BY takes one of
  ExecutionStatus / TemporalNamespaceDivision and is ignored by list queries, all as the
  reference's SQL store does.
* Runs whose TemporalNamespaceDivision is set (schedulers' workflows) are excluded unless
  the query names TemporalNamespaceDivision.

``query_parser`` does the syntax; ``query_sql`` holds the schema and the dialect seam.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from temporalio.api.enums.v1 import IndexedValueType, WorkflowExecutionStatus

from gnomon.server.visibility.query_parser import (
    And,
    Between,
    Column,
    Comparison,
    Expr,
    Incomplete,
    InList,
    Is,
    Not,
    NotAColumn,
    Or,
    QueryError,
    Value,
    parse,
)
from gnomon.server.visibility.query_sql import (
    DEFAULT_ORDER_BY,
    SEARCH_ATTRIBUTES_TABLE,
    SQLITE,
    SYSTEM_COLUMNS,
    VISIBILITY_TABLE,
    Dialect,
    PageKey,
    count_statement,
    fold_keyword,
    list_statement,
    parse_rfc3339_micros,
    text_tokens,
)
from gnomon.server.visibility.search_attributes import SYSTEM_ATTRIBUTES

T = IndexedValueType
__all__ = [
    "Attribute",
    "CompiledQuery",
    "CountQuery",
    "GroupBy",
    "QueryError",
    "compile_count_query",
    "compile_query",
    "execution_status_name",
    "parse_execution_duration",
    "resolve_attribute",
]

_RESERVED_PREFIX = "Temporal"
_NOT_SUPPORTED = "operation is not supported"
_INVALID = "invalid expression"


def _camel(enum_name: str, prefix: str) -> str:
    """INDEXED_VALUE_TYPE_KEYWORD_LIST -> KeywordList: the Go API's short enum names."""
    return "".join(word.capitalize() for word in enum_name.removeprefix(prefix).split("_"))


TYPE_NAMES: dict[int, str] = {value: _camel(name, "INDEXED_VALUE_TYPE_") for name, value in T.items()}

# Both spellings the Go API's WorkflowExecutionStatusFromString accepts, case-sensitively.
_STATUS_BY_NAME: dict[str, int] = {}
for _name, _value in WorkflowExecutionStatus.items():
    _STATUS_BY_NAME[_name] = _value
    _STATUS_BY_NAME[_camel(_name, "WORKFLOW_EXECUTION_STATUS_")] = _value
_STATUS_NAMES: dict[int, str] = {
    value: _camel(name, "WORKFLOW_EXECUTION_STATUS_") for name, value in WorkflowExecutionStatus.items()
}


def execution_status_name(status: int) -> str:
    """'Running' for 1...: how CountWorkflowExecutions reports an ExecutionStatus group."""
    return _STATUS_NAMES[status]


# Operators each type accepts (beyond IS [NOT] NULL), per the reference's converter.
_ORDERED = frozenset({"=", "!=", "<", "<=", ">", ">=", "IN", "NOT IN"})
_OPERATORS: dict[int, frozenset[str]] = {
    T.INDEXED_VALUE_TYPE_KEYWORD: _ORDERED | {"STARTS_WITH", "NOT STARTS_WITH"},
    T.INDEXED_VALUE_TYPE_KEYWORD_LIST: frozenset({"=", "!=", "IN", "NOT IN"}),
    T.INDEXED_VALUE_TYPE_TEXT: frozenset({"=", "!="}),
    T.INDEXED_VALUE_TYPE_INT: _ORDERED,
    T.INDEXED_VALUE_TYPE_DOUBLE: _ORDERED,
    T.INDEXED_VALUE_TYPE_BOOL: _ORDERED,
    T.INDEXED_VALUE_TYPE_DATETIME: _ORDERED,
}
_RANGE_TYPES = frozenset(
    {T.INDEXED_VALUE_TYPE_DATETIME, T.INDEXED_VALUE_TYPE_DOUBLE, T.INDEXED_VALUE_TYPE_INT, T.INDEXED_VALUE_TYPE_KEYWORD}
)
_GROUP_BY_ALLOWED = frozenset({"ExecutionStatus", "TemporalNamespaceDivision"})


# --- attributes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attribute:
    """A resolved search attribute: the name as written, the real one, its type, and its column.

    ``column`` is None for attributes stored in the side table (custom ones, and system ones
    that travel in the SearchAttributes map).
    """

    alias: str
    name: str
    value_type: int
    column: str | None


def resolve_attribute(alias: str, custom: Mapping[str, int]) -> Attribute | None:
    """The attribute a query name means, following the reference's alias rules, or None."""
    if alias not in SYSTEM_ATTRIBUTES and alias in custom:
        return Attribute(alias, alias, custom[alias], None)
    candidates = [alias, _RESERVED_PREFIX + alias, alias.removeprefix(_RESERVED_PREFIX)]
    if alias.removeprefix(_RESERVED_PREFIX) == "ScheduleId":
        candidates = ["WorkflowId"]
    for name in candidates:
        if name in SYSTEM_ATTRIBUTES:
            return Attribute(alias, name, SYSTEM_ATTRIBUTES[name], SYSTEM_COLUMNS.get(name))
    return None


# --- values ---------------------------------------------------------------------------------------


def _number(value: Value) -> int | float:
    """A numeric literal as the reference reads it: int64 if it fits, else float64."""
    try:
        number = int(value.text)
        if -(2**63) <= number < 2**63:
            return number
    except ValueError:
        pass
    result = float(value.text)
    if result in (float("inf"), float("-inf")):
        raise QueryError(f'{_INVALID}: unable to parse value "{value.text}"', value.pos)
    return result


def _literal(value: Value) -> str | int | float | bool:
    """The Python value of a literal; a name, NULL, tuple or function call here is an error."""
    if value.kind == "string":
        return value.text
    if value.kind == "number":
        return _number(value)
    if value.kind == "bool":
        return value.text == "true"
    if value.kind == "column":
        raise QueryError(
            f"{_NOT_SUPPORTED}: column name on the right side of comparison expression "
            f'(did you forget to quote "{value.text}"?)',
            value.pos,
        )
    if value.kind == "function":
        raise QueryError(f"{_NOT_SUPPORTED}: nested func", value.pos)
    what = "NULL (use IS NULL or IS NOT NULL)" if value.kind == "null" else f"({value.text})"
    raise QueryError(f"{_INVALID}: unexpected value {what}", value.pos)


def _go_repr(value: str | int | float | bool) -> tuple[str, str]:
    """``%#v`` and ``%T`` of the value as the reference's Go code prints them in errors."""
    if isinstance(value, bool):
        return ("true" if value else "false"), "bool"
    if isinstance(value, int):
        return str(value), "int64"
    if isinstance(value, float):
        # Go's %v: the shortest digits, in exponent form when the exponent is < -4 or >= 6.
        if value == 0:
            return "0", "float64"
        sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
        text = "".join(map(str, digits))
        exp = len(digits) + int(exponent) - 1
        if exp < -4 or exp >= 6:
            text = text[0] + ("." + text[1:] if len(text) > 1 else "") + f"e{'-' if exp < 0 else '+'}{abs(exp):02d}"
        else:
            text = f"{abs(Decimal(repr(value)).normalize()):f}"
        return ("-" if sign else "") + text, "float64"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"', "string"


# Go's time.ParseDuration grammar plus the reference's "d" (24h) unit.
_DURATION_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
    "d": 86400 * 10**9,
}
_DURATION_PART = re.compile(r"(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h|d)")
_HHMMSS = re.compile(r"([+-]?\d+):([+-]?\d+):([+-]?\d+)")


def parse_execution_duration(text: str) -> int | None:
    """Nanoseconds for an ExecutionDuration string ('123', '1h30m', '1.5d', '01:02:03'), or None."""
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    sign, body = (-1, text[1:]) if text[:1] == "-" else (1, text[1:] if text[:1] == "+" else text)
    if body == "0":
        return 0
    total, pos = Decimal(0), 0
    while pos < len(body):
        m = _DURATION_PART.match(body, pos)
        if not m or not (m.group(1) or m.group(2)):  # each part needs a digit: ".h" is not a duration
            break
        total += Decimal(f"{m.group(1) or 0}.{m.group(2) or 0}") * _DURATION_UNITS[m.group(3)]
        pos = m.end()
    else:
        if body and total < 2**63:
            return sign * int(total)  # Go truncates fractions of a nanosecond
    # "hh:mm:ss", read like Go's Sscanf("%d:%d:%d"), which ignores anything after the seconds.
    m = _HHMMSS.match(text)
    if m:
        hours, minutes, seconds = (int(g) for g in m.groups())
        if hours >= 0 and 0 <= minutes <= 59 and 0 <= seconds <= 59:
            return ((hours * 60 + minutes) * 60 + seconds) * 10**9
    return None


def _convert(attr: Attribute, value: Value) -> Any:
    """A literal as the stored form of ``attr``'s values, or the reference's error for it."""
    literal = _literal(value)
    type_name = TYPE_NAMES[attr.value_type]

    def mismatch() -> QueryError:
        shown, go_type = _go_repr(literal)
        return QueryError(
            f"{_INVALID}: invalid value type for search attribute {attr.alias} of type {type_name}: "
            f"{shown} (type: {go_type})",
            value.pos,
        )

    def unexpected() -> QueryError:
        return QueryError(
            f"{_INVALID}: unexpected value type {_go_repr(literal)[1]} for search attribute {attr.name}", value.pos
        )

    if attr.name == "ExecutionStatus":
        if isinstance(literal, bool):
            raise mismatch()
        if isinstance(literal, float):
            raise unexpected()
        status = _STATUS_BY_NAME.get(literal) if isinstance(literal, str) else literal
        if status not in _STATUS_NAMES:
            shown = f"'{literal}'" if isinstance(literal, str) else str(literal)
            raise QueryError(f"{_INVALID}: invalid ExecutionStatus value {shown}", value.pos)
        return status
    if attr.name == "ExecutionDuration":
        if isinstance(literal, bool):
            raise mismatch()
        if isinstance(literal, float):
            raise unexpected()
        nanos = parse_execution_duration(literal) if isinstance(literal, str) else literal
        if nanos is None:
            raise QueryError(
                f"{_INVALID}: invalid duration value for search attribute ExecutionDuration: {literal}", value.pos
            )
        return nanos
    vt = attr.value_type
    if vt in (T.INDEXED_VALUE_TYPE_INT, T.INDEXED_VALUE_TYPE_DOUBLE):
        if isinstance(literal, bool) or not isinstance(literal, int | float):
            raise mismatch()
        return literal
    if vt == T.INDEXED_VALUE_TYPE_BOOL:
        if not isinstance(literal, bool):
            raise mismatch()
        return literal
    if vt == T.INDEXED_VALUE_TYPE_DATETIME:
        if isinstance(literal, str):
            micros = parse_rfc3339_micros(literal)
            if micros is None:
                raise QueryError(f"{_INVALID}: unable to parse datetime '{literal}'", value.pos)
            return micros
        if isinstance(literal, int) and not isinstance(literal, bool):
            return literal // 1000  # nanoseconds since the epoch, stored as microseconds
        raise mismatch()
    if not isinstance(literal, str):
        raise mismatch()
    return fold_keyword(literal) if vt == T.INDEXED_VALUE_TYPE_KEYWORD_LIST else literal


# --- semantic analysis ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Leaf:
    """One checked condition. ``op`` is =, <, <=, >, >=, IN, BETWEEN, STARTS_WITH or IS NULL;
    ``!=``, NOT IN, NOT BETWEEN, NOT STARTS_WITH and IS NOT NULL are their negations."""

    attr: Attribute
    op: str
    values: tuple[Any, ...]
    negated: bool


@dataclass(frozen=True)
class _Bool:
    op: str  # AND, OR
    left: _Node
    right: _Node


@dataclass(frozen=True)
class _Not:
    expr: _Node


_Node = _Leaf | _Bool | _Not


class _Analyzer:
    """Checks names, operators and values against the attribute types; builds the _Node tree."""

    def __init__(self, custom: Mapping[str, int]) -> None:
        self.custom = custom
        self.names_division = False

    def attribute(self, column: Column) -> Attribute:
        attr = resolve_attribute(column.name, self.custom)
        if attr is None:
            raise QueryError(f"invalid search attribute: {column.name}", column.pos)
        if attr.name == "TemporalNamespaceDivision":
            self.names_division = True
        return attr

    def node(self, expr: Expr) -> _Node:
        if isinstance(expr, And | Or):
            op = "AND" if isinstance(expr, And) else "OR"
            return _Bool(op, self.node(expr.left), self.node(expr.right))
        if isinstance(expr, Not):
            return _Not(self.node(expr.expr))
        if isinstance(expr, Comparison):
            return self.comparison(expr)
        if isinstance(expr, InList):
            attr = self.attribute(expr.column)
            values = tuple(_convert(attr, v) for v in expr.values)
            self.check_operator(attr, "NOT IN" if expr.negated else "IN", expr.column.pos)
            return _Leaf(attr, "IN", values, expr.negated)
        if isinstance(expr, Between):
            attr = self.attribute(expr.column)
            if attr.value_type not in _RANGE_TYPES:
                raise QueryError(
                    f"{_INVALID}: cannot do range condition on search attribute '{attr.alias}' "
                    f"of type {TYPE_NAMES[attr.value_type]}",
                    expr.column.pos,
                )
            return _Leaf(attr, "BETWEEN", (_convert(attr, expr.low), _convert(attr, expr.high)), expr.negated)
        if isinstance(expr, Is):
            attr = self.attribute(expr.column)
            if expr.what != "NULL":
                raise QueryError(f"{_INVALID}: 'IS' operator can only be used as 'IS NULL' or 'IS NOT NULL'", expr.pos)
            return _Leaf(attr, "IS NULL", (), expr.negated)
        if isinstance(expr, Incomplete):
            raise QueryError(f"{_INVALID}: incomplete expression", expr.column.pos)
        assert isinstance(expr, NotAColumn)
        raise QueryError(f"{_INVALID}: must be a column name but was {expr.what}", expr.pos)

    def comparison(self, expr: Comparison) -> _Leaf:
        attr = self.attribute(expr.column)
        value = _convert(attr, expr.value)
        self.check_operator(attr, expr.op, expr.column.pos)
        if expr.op.endswith("STARTS_WITH"):
            if not isinstance(value, str):  # ExecutionStatus: its values became numbers
                raise QueryError(
                    f'{_INVALID}: right-hand side of "{expr.op.lower()}" operator must be a literal string '
                    f"(got: {expr.value.text})",
                    expr.value.pos,
                )
            return _Leaf(attr, "STARTS_WITH", (value,), expr.op.startswith("NOT"))
        if attr.value_type == T.INDEXED_VALUE_TYPE_TEXT and not text_pieces(value):
            raise QueryError(
                f"{_INVALID}: no tokens found filtering on Text type search attribute {attr.alias}", expr.value.pos
            )
        if expr.op == "!=":
            return _Leaf(attr, "=", (value,), True)
        return _Leaf(attr, expr.op, (value,), False)

    def check_operator(self, attr: Attribute, op: str, pos: int) -> None:
        if op not in _OPERATORS[attr.value_type]:
            raise QueryError(
                f"{_NOT_SUPPORTED}: operator '{op}' not supported for {TYPE_NAMES[attr.value_type]} "
                f"type search attribute '{attr.alias}'",
                pos,
            )


def text_pieces(value: str) -> list[list[str]]:
    """A Text filter's pieces (split on spaces, as the reference does), each as its tokens."""
    return [text_tokens(piece) for piece in value.split(" ") if piece]


# --- SQL rendering --------------------------------------------------------------------------------

# NOT pushed through a comparison: exact under SQL's three-valued logic (NOT (a < b) is a >= b,
# and both are NULL when a is NULL).
_NEGATED_OP = {"=": "!=", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}


def _chain(node: _Bool) -> list[_Node]:
    """The operands of a chain of the same operator (``a OR b OR c`` parses as ``(a OR b) OR c``)."""
    operands: list[_Node] = []
    pending: list[_Node] = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, _Bool) and current.op == node.op:
            pending += [current.right, current.left]
        else:
            operands.append(current)
    return operands


class _Renderer:
    """Turns the _Node tree into SQL with NOT pushed down to the leaves.

    Pushing NOT down is what keeps side-table conditions faithful to the reference's NULL
    semantics: ``run_id IN (runs whose value matches)`` is two-valued, so ``NOT`` around it
    would also match runs without the attribute, where the reference's NULL column does not.
    With the negation inside (``run_id IN (runs whose value does not match)``) it is exact,
    because AND and OR are monotone, so the TRUE rows of a negation-normal form are the
    AND/OR of its literals' TRUE rows.
    """

    def __init__(self, namespace_id: str, dialect: Dialect) -> None:
        self.namespace_id = namespace_id
        self.d = dialect
        self.params: list[Any] = []

    def render(self, node: _Node, negated: bool = False) -> str:
        if isinstance(node, _Not):
            return self.render(node.expr, not negated)
        if isinstance(node, _Bool):
            op = node.op if not negated else ("OR" if node.op == "AND" else "AND")  # De Morgan
            # A chain of one operator is written flat: nested parentheses, one per term, would
            # run into the database parser's stack depth long before the query's own limits.
            operands = [self.render(operand, negated) for operand in _chain(node)]
            return "(" + f" {op} ".join(operands) + ")"
        negated ^= node.negated
        attr = node.attr
        if attr.column is not None:
            return self.condition(attr.column, node, negated)
        if node.op == "IS NULL":
            # "Has no value" is the complement of "has a row"; it tends to match many runs: probe.
            return self.membership(attr, None, positive=negated, probe=not negated)
        if attr.value_type == T.INDEXED_VALUE_TYPE_KEYWORD_LIST:
            # = and IN test membership of an element; the reference's != is NOT IN (also matching empty).
            return self.membership(attr, (node, False), positive=not negated)
        if attr.value_type == T.INDEXED_VALUE_TYPE_TEXT:
            return self.text(attr, node.values[0], positive=not negated)
        probe = negated and node.op in ("=", "IN", "BETWEEN", "STARTS_WITH")  # !=, NOT IN...: see membership
        return self.membership(attr, (node, negated), positive=True, probe=probe)

    def condition(self, expr: str, node: _Leaf, negated: bool) -> str:
        """``expr <op> values`` (a column, or the side table's value), negated in place."""
        op, values = node.op, list(node.values)
        not_ = "NOT " if negated else ""
        if op == "IS NULL":
            return f"{expr} IS {not_}NULL"
        if op == "STARTS_WITH":
            sql, params = self.d.prefix_match(expr, values[0], negated)
            self.params += params
            return sql
        self.params += values
        if op == "IN":
            return f"{expr} {not_}IN ({self.d.params(len(values))})"
        if op == "BETWEEN":
            p = self.d.placeholder
            return f"{expr} {not_}BETWEEN {p} AND {p}"
        return f"{expr} {_NEGATED_OP[op] if negated else op} {self.d.placeholder}"

    def side_rows(self, attr: Attribute, probe: bool = False) -> str:
        """SELECT the side-table rows holding ``attr``: all of this namespace's (a lookup), or,
        for a probe, the current ``visibility`` row's (correlated, for EXISTS)."""
        p = self.d.placeholder
        if probe:
            self.params.append(attr.name)
            return (
                f"SELECT 1 FROM {SEARCH_ATTRIBUTES_TABLE} AS s WHERE s.namespace_id = {VISIBILITY_TABLE}.namespace_id "
                f"AND s.run_id = {VISIBILITY_TABLE}.run_id AND s.name = {p}"
            )
        self.params += [self.namespace_id, attr.name]
        return f"SELECT s.run_id FROM {SEARCH_ATTRIBUTES_TABLE} AS s WHERE s.namespace_id = {p} AND s.name = {p}"

    def membership(
        self, attr: Attribute, condition: tuple[_Leaf, bool] | None, positive: bool, probe: bool = False
    ) -> str:
        """Runs (not) having a value of ``attr`` (that satisfies ``condition``, negated if its flag says).

        ``run_id IN (lookup)`` costs an index lookup per matching run: fast when few match.
        !=, NOT IN, NOT BETWEEN, NOT STARTS_WITH and IS NULL usually match most runs, so the
        caller asks for a ``probe`` instead: EXISTS tested on each candidate row, which lets a
        list page stop after a page of matches. Both forms select the same rows.
        """
        subquery = self.side_rows(attr, probe)
        if condition is not None:
            leaf, negated = condition
            subquery += " AND " + self.condition(f"s.{self.d.value_column(attr.value_type)}", leaf, negated)
        not_ = "" if positive else "NOT "
        return f"{not_}EXISTS ({subquery})" if probe else f"run_id {not_}IN ({subquery})"

    def text(self, attr: Attribute, value: str, positive: bool) -> str:
        """Runs whose Text value has any piece's tokens: single tokens in one lookup, multi-token
        pieces ('new-world') each needing all their tokens."""
        pieces = text_pieces(value)
        singles = list(dict.fromkeys(tokens[0] for tokens in pieces if len(tokens) == 1))
        lookups = [(singles, False)] if singles else []
        lookups += [(tokens, True) for tokens in pieces if len(tokens) > 1]
        column = f"s.{self.d.value_column(attr.value_type)}"
        alternatives = []
        for tokens, need_all in lookups:
            subquery = self.side_rows(attr) + f" AND {column} IN ({self.d.params(len(tokens))})"
            self.params += tokens
            if need_all:  # tokens are distinct per run in the side table, so a count proves all are there
                subquery += f" GROUP BY s.run_id HAVING COUNT(*) = {len(tokens)}"
            alternatives.append(f"run_id IN ({subquery})")
        matched = " OR ".join(alternatives) or self.d.false  # pieces of punctuation only match nothing
        return f"({matched})" if positive else f"NOT ({matched})"


# --- public API -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupBy:
    """What CountWorkflowExecutions groups by: the attribute, its column, and its type."""

    attribute: str
    column: str
    value_type: int


@dataclass(frozen=True)
class CompiledQuery:
    """A list filter as SQL over ``visibility`` (FROM that table alone, no alias or join).

    ``where`` includes the namespace and namespace-division conditions; ``params`` fill its
    placeholders in order; ``order_by`` is the reference's list order (queries cannot change it).
    """

    where: str
    params: tuple[Any, ...]
    group_by: GroupBy | None = None
    order_by: str = DEFAULT_ORDER_BY
    dialect: Dialect = SQLITE

    def list_statement(self, page_size: int, after: PageKey | None = None, columns: str = "*") -> tuple[str, list[Any]]:
        """``SELECT columns`` of one page, after the row ``after`` describes (keyset pagination)."""
        return list_statement(self.where, self.params, page_size, after, columns, self.dialect)

    def count_statement(self) -> tuple[str, list[Any]]:
        """``SELECT COUNT(*)``, or ``SELECT <group column>, COUNT(*) ... GROUP BY`` when grouped."""
        return count_statement(self.where, self.params, self.group_by.column if self.group_by else None)


@dataclass(frozen=True)
class CountQuery:
    sql: str
    params: list[Any]
    group_by: GroupBy | None


def compile_query(
    query: str, custom: Mapping[str, int], *, namespace_id: str, dialect: Dialect = SQLITE
) -> CompiledQuery:
    """Compile a list filter for a namespace whose custom attributes are ``custom`` (name -> type).

    Raises QueryError (an InvalidArgumentError) with the reference's message when the query
    is malformed, names an unknown attribute, or gives a value or operator its type refuses.
    """
    parsed = parse(query)
    analyzer = _Analyzer(custom)
    # The reference's order of checks: LIMIT, then the filter, then GROUP BY, then ORDER BY.
    if parsed.limit_pos is not None:
        raise QueryError(f"{_NOT_SUPPORTED}: 'LIMIT' clause", parsed.limit_pos)
    tree = analyzer.node(parsed.where) if parsed.where is not None else None
    group_by = None
    if len(parsed.group_by) > 1:
        raise QueryError(f"{_NOT_SUPPORTED}: 'GROUP BY' clause supports only a single field", parsed.group_by[1].pos)
    for column in parsed.group_by:
        attr = analyzer.attribute(column)
        if attr.name not in _GROUP_BY_ALLOWED or attr.column is None:
            raise QueryError(
                f"{_NOT_SUPPORTED}: 'GROUP BY' clause is not supported for search attribute {attr.alias}", column.pos
            )
        group_by = GroupBy(attr.name, attr.column, attr.value_type)
    for item in parsed.order_by:
        attr = analyzer.attribute(item.column)
        if attr.value_type == T.INDEXED_VALUE_TYPE_TEXT:
            raise QueryError(f"{_NOT_SUPPORTED}: unable to sort by search attribute type Text", item.column.pos)
    if parsed.order_by:
        raise QueryError(f"{_NOT_SUPPORTED}: 'ORDER BY' clause", parsed.order_by[0].column.pos)

    renderer = _Renderer(namespace_id, dialect)
    p = dialect.placeholder
    clauses = [f"namespace_id = {p}"]
    renderer.params.append(namespace_id)
    if not analyzer.names_division:
        clauses.append(f"{SYSTEM_COLUMNS['TemporalNamespaceDivision']} IS NULL")
    if tree is not None:
        clauses.append(renderer.render(tree))
    return CompiledQuery(" AND ".join(clauses), tuple(renderer.params), group_by, DEFAULT_ORDER_BY, dialect)


def compile_count_query(
    query: str, custom: Mapping[str, int], *, namespace_id: str, dialect: Dialect = SQLITE
) -> CountQuery:
    """The CountWorkflowExecutions statement; rows are ``(count,)`` or ``(group value, count)``."""
    compiled = compile_query(query, custom, namespace_id=namespace_id, dialect=dialect)
    sql, params = compiled.count_statement()
    return CountQuery(sql, params, compiled.group_by)
