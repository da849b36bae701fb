"""The workflows list: what the URL asks for, the query it runs, status counts, rows.

Everything the list shows is in the URL (namespace, query, status, page, columns), so a
link reproduces the view. Pages follow the server's opaque next-page tokens, which keeps
deep pages as cheap as the first; the tokens of the pages before are carried in ``trail``
so that "Newer" works without the server counting offsets.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.datastructures import QueryParams
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.workflow.v1 import WorkflowExecutionInfo

from gnomon.server.errors import InvalidArgumentError, ServiceError
from gnomon.ui.backend import Backend, UnsupportedError
from gnomon.ui.payloads import decode
from gnomon.ui.values import Span, enum_name, to_datetime

#: The statuses a run can be in, as the query language spells them.
STATUSES = ("Running", "Completed", "Failed", "Canceled", "Terminated", "ContinuedAsNew", "TimedOut")
PAGE_SIZES = (25, 50, 100, 200)  # offered; any size up to MAX_PAGE_SIZE works in a URL
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 50
MAX_TRAIL = 50  # how many earlier pages "Newer" can walk back through


def encode_token(token: bytes) -> str:
    return base64.urlsafe_b64encode(token).decode().rstrip("=")


def decode_token(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidArgumentError("The page link is damaged; start again from the first page.") from None


@dataclass
class ListParams:
    """The list view the URL describes."""

    query: str = ""
    status: str = ""
    page_size: int = DEFAULT_PAGE_SIZE
    token: str = ""
    trail: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)

    @classmethod
    def from_query_params(cls, params: QueryParams) -> ListParams:
        try:
            size = int(params.get("size", DEFAULT_PAGE_SIZE))
        except ValueError:
            size = DEFAULT_PAGE_SIZE
        status = params.get("status", "")
        return cls(
            query=params.get("query", "").strip(),
            status=status if status in STATUSES else "",
            page_size=size if 0 < size <= MAX_PAGE_SIZE else DEFAULT_PAGE_SIZE,
            token=params.get("token", ""),
            trail=[t for t in params.get("trail", "").split(".") if t][-MAX_TRAIL:],
            columns=list(dict.fromkeys([*(c for c in params.get("cols", "").split(",") if c), *params.getlist("col")])),
        )

    @property
    def page(self) -> int:
        """1-based; the first page has no token, and the trail holds the tokens of pages 2..n-1."""
        return len(self.trail) + 2 if self.token else 1

    def effective_query(self) -> str:
        """The user's query narrowed to the chosen status."""
        return and_status(self.query, self.status) if self.status else self.query

    def link(self, **changes: Any) -> dict[str, Any]:
        """URL params for this view with ``changes``; a new filter starts at page one."""
        values = {
            "query": self.query,
            "status": self.status,
            "size": self.page_size if self.page_size != DEFAULT_PAGE_SIZE else "",
            "cols": ",".join(self.columns),
            "token": self.token,
            "trail": ".".join(self.trail),
        }
        if {"query", "status", "size"} & changes.keys():
            values.update(token="", trail="")
        values.update(changes)
        return values

    def next_link(self, next_token: bytes) -> dict[str, Any]:
        trail = [*self.trail, self.token] if self.token else []
        return self.link(token=encode_token(next_token), trail=".".join(trail[-MAX_TRAIL:]))

    def previous_link(self) -> dict[str, Any] | None:
        if not self.token:
            return None
        if not self.trail:
            return self.link(token="", trail="")
        return self.link(token=self.trail[-1], trail=".".join(self.trail[:-1]))


def and_status(query: str, status: str) -> str:
    clause = f"ExecutionStatus = '{status}'"
    return f"({query}) AND {clause}" if query else clause


@dataclass
class Row:
    """One workflow in the list."""

    workflow_id: str
    run_id: str
    type: str
    status: str
    task_queue: str
    start: datetime | None
    close: datetime | None
    duration: Span | None
    search_attributes: dict[str, Any]


def row(info: WorkflowExecutionInfo, now: datetime) -> Row:
    start = to_datetime(info.start_time) if info.HasField("start_time") else None
    close = to_datetime(info.close_time) if info.HasField("close_time") else None
    if info.HasField("execution_duration"):
        length: Span | None = Span(info.execution_duration.ToTimedelta().total_seconds())
    elif start is not None:
        length = Span(((close or now) - start).total_seconds())
    else:
        length = None
    return Row(
        workflow_id=info.execution.workflow_id,
        run_id=info.execution.run_id,
        type=info.type.name,
        status=enum_name(WorkflowExecutionStatus.DESCRIPTOR, info.status),
        task_queue=info.task_queue,
        start=start,
        close=close,
        duration=length,
        search_attributes={k: decode(v) for k, v in info.search_attributes.indexed_fields.items()},
    )


async def status_counts(backend: Backend, namespace: str, query: str) -> dict[str, int]:
    """How many runs match ``query`` in each status (and under ``""``, in total).

    One ``GROUP BY ExecutionStatus`` count; a server that rejects GROUP BY gets one count per status.
    """
    counts = dict.fromkeys(STATUSES, 0)
    try:
        response = await backend.count_workflows(namespace, f"{query} GROUP BY ExecutionStatus".strip())
    except InvalidArgumentError:
        counts[""] = (await backend.count_workflows(namespace, query)).count
        for status in STATUSES:
            counts[status] = (await backend.count_workflows(namespace, and_status(query, status))).count
        return counts
    for group in response.groups:
        name = decode(group.group_values[0]) if group.group_values else ""
        if name in counts:
            counts[name] = group.count
    counts[""] = response.count
    return counts


@dataclass
class ListResult:
    """What the list page shows."""

    rows: list[Row] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    next_token: bytes = b""
    error: str = ""
    unsupported: bool = False  # the server cannot list workflows at all


async def load(backend: Backend, namespace: str, params: ListParams, now: datetime) -> ListResult:
    """Counts and one page of runs; a bad query becomes ``error`` rather than an exception."""
    result = ListResult()
    try:
        result.counts = await status_counts(backend, namespace, params.query)
        token = decode_token(params.token) if params.token else b""
        page = await backend.list_workflows(namespace, params.effective_query(), params.page_size, token)
    except ServiceError as error:
        result.error = error.message
        result.unsupported = isinstance(error, UnsupportedError)
        return result
    result.rows = [row(info, now) for info in page.executions]
    result.next_token = page.next_page_token
    return result
