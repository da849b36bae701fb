"""Syntax of Temporal's visibility list filter: tokens and a parse tree, no meaning yet.

The reference feeds ``select * from table1 where <query>`` to a MySQL-dialect SQL parser
and then rejects whatever is not a filter. This module accepts the same surface language
directly, so that a syntax error can name a character offset in the user's own query:

    query     := [expr] [GROUP BY column {, column}] [ORDER BY column [ASC|DESC] {, ...}]
                 [LIMIT n [{, | OFFSET} n]] [;]
    expr      := and_expr {(OR | '||') and_expr}
    and_expr  := not_expr {(AND | '&&') not_expr}
    not_expr  := NOT not_expr | '(' expr ')' | predicate
    predicate := column ( op value | [NOT] IN '(' value {, value} ')'
                        | [NOT] BETWEEN value AND value | IS [NOT] (NULL | TRUE | FALSE)
                        | [NOT] (STARTS_WITH | LIKE | REGEXP | RLIKE) value )
    op        := = | != | <> | < | <= | > | >= | <=>

Keywords are case-insensitive; attribute names are not. Strings take single or double
quotes (a doubled quote or a backslash escapes); attribute names may be backtick-quoted.
Comments (``/* */``, ``-- ``, ``#``) are skipped, as MySQL does. Some constructs are parsed
only so that the semantic layer can reject them with the reference's wording (LIKE, IS TRUE,
ORDER BY, LIMIT, a column or NULL as a value).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal as TypingLiteral
from typing import TypeVar

from gnomon.server.errors import InvalidArgumentError

# How big a filter may be. The reference hands its query to a SQL parser and a database with
# limits of their own; these keep a hostile query from exhausting the parser's recursion or
# the database's expression depth, and are reported as INVALID_ARGUMENT.
MAX_QUERY_LENGTH = 32 * 1024  # characters
MAX_NESTING = 50  # parentheses and NOTs, one inside another
MAX_CONDITIONS = 500  # comparisons, IN, BETWEEN, ... in one filter
MAX_IN_VALUES = 1_000  # values in one IN list


class QueryError(InvalidArgumentError):
    """A list filter the server cannot run; ``position`` is the offending character offset, if known."""

    def __init__(self, problem: str, position: int | None = None) -> None:
        # The reference prefixes every converter error with "invalid query: ".
        super().__init__(f"invalid query: {problem}")
        self.problem = problem
        self.position = position


# Words that end an attribute name's role: using one unquoted as a name is a syntax error,
# as in MySQL (quote it with backticks instead).
RESERVED = frozenset(
    [
        "AND",
        "OR",
        "NOT",
        "XOR",
        "IN",
        "BETWEEN",
        "IS",
        "NULL",
        "TRUE",
        "FALSE",
        "LIKE",
        "REGEXP",
        "RLIKE",
        "STARTS_WITH",
        "ORDER",
        "GROUP",
        "BY",
        "HAVING",
        "LIMIT",
        "SELECT",
        "FROM",
        "WHERE",
    ]
)

TokenKind = TypingLiteral["ident", "quoted_ident", "string", "number", "op", "eof"]


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    text: str  # the name, the decoded string, the number's digits, or the operator
    pos: int  # offset of the token's first character in the query

    def keyword(self) -> str | None:
        """The upper-cased word if this is an unquoted identifier (keywords are case-insensitive)."""
        return self.text.upper() if self.kind == "ident" else None

    def describe(self) -> str:
        return "end of query" if self.kind == "eof" else repr(self.text)


# Multi-character operators first, so "<=" is not read as "<" then "=".
_OPERATORS = ("<=>", "<=", ">=", "<>", "!=", "&&", "||", "=", "<", ">", "(", ")", ",", "!", "-", "+", ";")
# What a backslash followed by this character stands for in a string (MySQL / vitess rules);
# any other escaped character stands for itself.
_BACKSLASH_ESCAPES = {"0": "\0", "b": "\b", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a"}


def _is_ident_start(ch: str) -> bool:
    return ch.isalpha() or ch in "_@" or ord(ch) >= 0x80


def _is_ident_char(ch: str) -> bool:
    return _is_ident_start(ch) or ch.isdigit() or ch == "$"


def _syntax_error(pos: int, near: str, expected: str) -> QueryError:
    return QueryError(f"malformed SQL query: syntax error at position {pos} near {near}: expected {expected}", pos)


def tokenize(query: str) -> list[Token]:
    """Split ``query`` into tokens, ending with an ``eof`` token; raise QueryError on a bad character."""
    tokens: list[Token] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
        elif query.startswith("/*", i):
            end = query.find("*/", i + 2)
            if end < 0:
                raise _syntax_error(i, "'/*'", "'*/' to close the comment")
            i = end + 2
        elif ch == "#" or (query.startswith("--", i) and (i + 2 == n or query[i + 2].isspace())):
            end = query.find("\n", i)
            i = n if end < 0 else end + 1
        elif ch in "'\"":
            text, i_next = _read_string(query, i)
            tokens.append(Token("string", text, i))
            i = i_next
        elif ch == "`":
            text, i_next = _read_quoted_ident(query, i)
            tokens.append(Token("quoted_ident", text, i))
            i = i_next
        elif ch.isdigit() or (ch == "." and i + 1 < n and query[i + 1].isdigit()):
            i_next = _number_end(query, i)
            tokens.append(Token("number", query[i:i_next], i))
            i = i_next
        elif _is_ident_start(ch):
            j = i + 1
            while j < n and _is_ident_char(query[j]):
                j += 1
            tokens.append(Token("ident", query[i:j], i))
            i = j
        else:
            op = next((o for o in _OPERATORS if query.startswith(o, i)), None)
            if op is None:
                raise _syntax_error(i, repr(ch), "an operator, a value or a search attribute name")
            tokens.append(Token("op", op, i))
            i += len(op)
    tokens.append(Token("eof", "", n))
    return tokens


def _read_string(query: str, start: int) -> tuple[str, int]:
    quote, out, i, n = query[start], [], start + 1, len(query)
    while i < n:
        ch = query[i]
        if ch == "\\" and i + 1 < n:
            out.append(_BACKSLASH_ESCAPES.get(query[i + 1], query[i + 1]))
            i += 2
        elif ch == quote:
            if i + 1 < n and query[i + 1] == quote:  # a doubled quote is one quote character
                out.append(quote)
                i += 2
            else:
                return "".join(out), i + 1
        else:
            out.append(ch)
            i += 1
    raise _syntax_error(start, repr(query[start : start + 10]), f"a closing {quote} for the string")


def _read_quoted_ident(query: str, start: int) -> tuple[str, int]:
    out, i, n = [], start + 1, len(query)
    while i < n:
        if query[i] == "`":
            if i + 1 < n and query[i + 1] == "`":
                out.append("`")
                i += 2
                continue
            return "".join(out), i + 1
        out.append(query[i])
        i += 1
    raise _syntax_error(start, repr(query[start : start + 10]), "a closing ` for the name")


def _number_end(query: str, i: int) -> int:
    """End of the number starting at ``i``: digits, an optional fraction, an optional exponent."""
    n = len(query)
    start = i
    while i < n and query[i].isdigit():
        i += 1
    if i < n and query[i] == ".":
        i += 1
        while i < n and query[i].isdigit():
            i += 1
    if i < n and query[i] in "eE":
        j = i + 1
        if j < n and query[j] in "+-":
            j += 1
        if j < n and query[j].isdigit():
            i = j
            while i < n and query[i].isdigit():
                i += 1
    # "1_000", "0x10", "5abc": a number glued to a name is not a number (nor a name).
    if i < n and (_is_ident_char(query[i]) or query[i] == "."):
        raise _syntax_error(start, repr(query[start : i + 1]), "a number")
    return i


# --- parse tree ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A search attribute name as written (backticks removed)."""

    name: str
    pos: int


@dataclass(frozen=True)
class Value:
    """A literal. ``kind`` says which: a column or NULL here is an error the semantic layer reports."""

    kind: TypingLiteral["string", "number", "bool", "null", "column", "function", "tuple"]
    text: str  # decoded string, number text with its sign, "true"/"false", or the name
    pos: int


@dataclass(frozen=True)
class Comparison:
    """``column op value``; op is upper-case: =, !=, <, <=, >, >=, STARTS_WITH, NOT STARTS_WITH, LIKE..."""

    column: Column
    op: str
    value: Value


@dataclass(frozen=True)
class InList:
    column: Column
    values: tuple[Value, ...]
    negated: bool


@dataclass(frozen=True)
class Between:
    column: Column
    low: Value
    high: Value
    negated: bool


@dataclass(frozen=True)
class Is:
    """``column IS [NOT] NULL|TRUE|FALSE``; only NULL is meaningful, the rest is rejected later."""

    column: Column
    what: str  # NULL, TRUE or FALSE
    negated: bool
    pos: int


@dataclass(frozen=True)
class Not:
    expr: Expr


@dataclass(frozen=True)
class And:
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Or:
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Incomplete:
    """A bare name where a condition belongs (``WorkflowId AND ...``): an error the semantic layer reports."""

    column: Column


@dataclass(frozen=True)
class NotAColumn:
    """A condition whose left side is not a name (``'x' = WorkflowId``, ``upper(x) = 'y'``, ``!x``)."""

    what: str
    pos: int


Expr = Comparison | InList | Between | Is | Not | And | Or | Incomplete | NotAColumn


@dataclass(frozen=True)
class OrderItem:
    column: Column
    descending: bool


@dataclass(frozen=True)
class ParsedQuery:
    where: Expr | None
    group_by: tuple[Column, ...] = ()
    order_by: tuple[OrderItem, ...] = ()
    limit_pos: int | None = None  # where LIMIT was written, if it was


_Item = TypeVar("_Item")
_COMPARISON_OPS = {"=": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">=", "<=>": "<=>"}
_WORD_OPS = ("STARTS_WITH", "LIKE", "REGEXP", "RLIKE")


class _Parser:
    def __init__(self, query: str) -> None:
        if len(query) > MAX_QUERY_LENGTH:
            raise QueryError(f"query is too long: {len(query)} characters (the limit is {MAX_QUERY_LENGTH})")
        self.query = query
        self.tokens = tokenize(query)
        self.i = 0
        self.depth = 0
        self.conditions = 0

    # -- token helpers --

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, ahead: int = 1) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        tok = self.tok
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return tok

    def at_keyword(self, *words: str) -> bool:
        return self.tok.keyword() in words

    def at_op(self, *ops: str) -> bool:
        return self.tok.kind == "op" and self.tok.text in ops

    def expect_keyword(self, word: str) -> Token:
        if not self.at_keyword(word):
            raise self.error(word)
        return self.advance()

    def expect_op(self, op: str) -> Token:
        if not self.at_op(op):
            raise self.error(repr(op))
        return self.advance()

    def error(self, expected: str) -> QueryError:
        return _syntax_error(self.tok.pos, self.tok.describe(), expected)

    # -- grammar --

    def parse(self) -> ParsedQuery:
        where = None
        starts_clause = self.at_keyword("GROUP", "ORDER") and self.peek().keyword() == "BY"
        if not starts_clause and self.tok.kind != "eof" and not self.at_op(";"):
            where = self.parse_or()
        group_by: tuple[Column, ...] = ()
        if self.at_keyword("GROUP"):
            self.advance()
            self.expect_keyword("BY")
            group_by = tuple(self.parse_list(self.parse_column))
        order_by: tuple[OrderItem, ...] = ()
        if self.at_keyword("ORDER"):
            self.advance()
            self.expect_keyword("BY")
            order_by = tuple(self.parse_list(self.parse_order_item))
        limit_pos = None
        if self.at_keyword("LIMIT"):
            limit_pos = self.advance().pos
            self.parse_limit()
        if self.at_op(";"):
            self.advance()
        if self.tok.kind != "eof":
            expected = "AND, OR, GROUP BY, ORDER BY or the end of the query" if where else "the end of the query"
            raise self.error(expected)
        return ParsedQuery(where, group_by, order_by, limit_pos)

    def parse_list(self, item: Callable[[], _Item]) -> list[_Item]:
        """One or more ``item`` separated by commas."""
        items = [item()]
        while self.at_op(","):
            self.advance()
            items.append(item())
        return items

    def parse_order_item(self) -> OrderItem:
        column = self.parse_column()
        descending = False
        if self.at_keyword("ASC", "DESC"):
            descending = self.advance().keyword() == "DESC"
        return OrderItem(column, descending)

    def parse_limit(self) -> None:
        if self.tok.kind != "number":
            raise self.error("a number after LIMIT")
        self.advance()
        if self.at_op(",") or self.at_keyword("OFFSET"):
            self.advance()
            if self.tok.kind != "number":
                raise self.error("a number")
            self.advance()

    def parse_or(self) -> Expr:
        expr = self.parse_and()
        while self.at_keyword("OR") or self.at_op("||"):
            self.advance()
            expr = Or(expr, self.parse_and())
        return expr

    def parse_and(self) -> Expr:
        expr = self.parse_not()
        while self.at_keyword("AND") or self.at_op("&&"):
            self.advance()
            expr = And(expr, self.parse_not())
        return expr

    @contextmanager
    def nested(self) -> Iterator[None]:
        """One level deeper in parentheses, NOT or a value's own nesting: bounded."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise QueryError(f"query nests parentheses and NOT more than {MAX_NESTING} deep", self.tok.pos)
        yield
        self.depth -= 1

    def parse_not(self) -> Expr:
        if not self.at_keyword("NOT") and not self.at_op("("):
            self.conditions += 1
            if self.conditions > MAX_CONDITIONS:
                raise QueryError(f"query has more than {MAX_CONDITIONS} conditions", self.tok.pos)
            return self.parse_predicate()
        with self.nested():
            if self.advance().keyword() == "NOT":
                return Not(self.parse_not())
            expr = self.parse_or()
            self.expect_op(")")
            return expr

    def parse_column(self) -> Column:
        tok = self.tok
        if tok.kind == "quoted_ident" or (tok.kind == "ident" and tok.keyword() not in RESERVED):
            self.advance()
            return Column(tok.text, tok.pos)
        raise self.error("a search attribute name")

    def parse_predicate(self) -> Expr:
        tok = self.tok
        if tok.kind in ("string", "number") or tok.keyword() in ("TRUE", "FALSE", "NULL") or self.at_op("!", "-", "+"):
            # Not a name on the left: parse the rest of the comparison, then report what was there.
            what = self.parse_value()
            if self.tok.kind == "op" and self.tok.text in _COMPARISON_OPS:
                self.advance()
                self.parse_value()
            return NotAColumn(f"{what.kind} {what.text!r}", tok.pos)
        if tok.kind == "ident" and self.peek().kind == "op" and self.peek().text == "(":
            self.parse_value()  # a function call; consumed whole so the error names it
            if self.tok.kind == "op" and self.tok.text in _COMPARISON_OPS:
                self.advance()
                self.parse_value()
            return NotAColumn(f"function {tok.text}()", tok.pos)
        column = self.parse_column()
        negated = False
        if self.at_keyword("NOT") and self.peek().keyword() in ("IN", "BETWEEN", *_WORD_OPS):
            self.advance()
            negated = True
        if self.tok.kind == "op" and self.tok.text in _COMPARISON_OPS and not negated:
            op = _COMPARISON_OPS[self.advance().text]
            return Comparison(column, op, self.parse_value())
        if self.at_keyword("IN"):
            self.advance()
            self.expect_op("(")
            values = tuple(self.parse_list(self.parse_value))
            if len(values) > MAX_IN_VALUES:
                raise QueryError(f"an IN list has more than {MAX_IN_VALUES} values", column.pos)
            self.expect_op(")")
            return InList(column, values, negated)
        if self.at_keyword("BETWEEN"):
            self.advance()
            low = self.parse_value()
            self.expect_keyword("AND")
            return Between(column, low, self.parse_value(), negated)
        if self.at_keyword(*_WORD_OPS):
            op = self.advance().keyword() or ""
            return Comparison(column, f"NOT {op}" if negated else op, self.parse_value())
        if self.at_keyword("IS") and not negated:
            pos = self.advance().pos
            is_not = False
            if self.at_keyword("NOT"):
                self.advance()
                is_not = True
            if not self.at_keyword("NULL", "TRUE", "FALSE"):
                raise self.error("NULL or NOT NULL")
            return Is(column, self.advance().keyword() or "", is_not, pos)
        if negated:
            raise self.error("IN, BETWEEN or STARTS_WITH after NOT")
        if (
            self.at_keyword("AND", "OR", "GROUP", "ORDER", "LIMIT")
            or self.at_op(")", ";", "&&", "||")
            or (self.tok.kind == "eof")
        ):
            return Incomplete(column)
        raise self.error("an operator (=, !=, <, <=, >, >=, IN, BETWEEN, STARTS_WITH, IS)")

    def parse_value(self) -> Value:
        with self.nested():
            return self.parse_plain_value()

    def parse_plain_value(self) -> Value:
        tok = self.tok
        if self.at_op("-", "+"):
            self.advance()
            if self.tok.kind != "number":
                # "-'x'": the reference parses a unary expression and rejects it; so do we, here.
                operand_end = self.peek().pos if self.tok.kind != "eof" else len(self.query)
                shown = self.query[tok.pos : operand_end].strip()
                raise QueryError(f'invalid expression: unary operator not supported in "{shown}"', tok.pos)
            number = self.advance()
            return Value("number", ("-" if tok.text == "-" else "") + number.text, tok.pos)
        if tok.kind in ("string", "number"):
            self.advance()
            return Value("string" if tok.kind == "string" else "number", tok.text, tok.pos)
        if tok.keyword() in ("TRUE", "FALSE"):
            self.advance()
            return Value("bool", tok.text.lower(), tok.pos)
        if tok.keyword() == "NULL":
            self.advance()
            return Value("null", "NULL", tok.pos)
        if tok.kind == "quoted_ident" or (tok.kind == "ident" and tok.keyword() not in RESERVED):
            self.advance()
            if self.at_op("("):  # upper('x'): consume the call so the error can name it
                self.advance()
                if not self.at_op(")"):
                    self.parse_list(self.parse_value)
                self.expect_op(")")
                return Value("function", tok.text, tok.pos)
            return Value("column", tok.text, tok.pos)
        if self.at_op("("):
            self.advance()
            values = self.parse_list(self.parse_value)
            self.expect_op(")")
            return Value("tuple", ", ".join(v.text for v in values), tok.pos)
        if self.at_op("!"):
            self.advance()
            inner = self.parse_value()
            return Value("function", f"!{inner.text}", tok.pos)
        raise self.error("a value (a quoted string, a number, true or false)")


def parse(query: str) -> ParsedQuery:
    """Parse a list filter; raise QueryError (with the character offset) if it is malformed."""
    return _Parser(query).parse()
