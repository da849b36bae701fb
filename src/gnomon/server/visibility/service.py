"""List and count queries over the visibility tables."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.workflow.v1 import WorkflowExecutionInfo
from temporalio.api.workflowservice.v1 import CountWorkflowExecutionsResponse

from gnomon.server.errors import InvalidArgumentError
from gnomon.server.persistence import Persistence
from gnomon.server.visibility.query import GroupBy, compile_count_query, compile_query, execution_status_name
from gnomon.server.visibility.query_parser import parse
from gnomon.server.visibility.query_sql import PageKey
from gnomon.server.visibility.records import LIST_COLUMNS, execution_info
from gnomon.server.visibility.search_attributes import SearchAttributeRegistry

DEFAULT_PAGE_SIZE = 1000
STATUS_GROUP = GroupBy("ExecutionStatus", "status", IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD)
MAX_PAGE_SIZE = 1000


@dataclass
class Page:
    executions: list[WorkflowExecutionInfo]
    next_page_token: bytes


def _encode_token(key: PageKey) -> bytes:
    return json.dumps([key.close_time, key.start_time, key.run_id]).encode()


def _decode_token(token: bytes) -> PageKey:
    try:
        close_time, start_time, run_id = json.loads(token)
        return PageKey(close_time=close_time, start_time=int(start_time), run_id=str(run_id))
    except (ValueError, TypeError):
        raise InvalidArgumentError("Invalid NextPageToken.") from None


def quote(value: str) -> str:
    """A string literal for the list filter language."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class VisibilityService:
    """Answers ListWorkflowExecutions, CountWorkflowExecutions and the older list RPCs."""

    def __init__(self, persistence: Persistence, search_attributes: SearchAttributeRegistry) -> None:
        self._persistence = persistence
        self._search_attributes = search_attributes

    async def list(self, namespace_id: str, query: str, page_size: int, token: bytes) -> Page:
        """One page of runs matching ``query``, running first then most recently closed."""
        compiled = compile_query(query, self._search_attributes.custom(namespace_id), namespace_id=namespace_id)
        # Unset or negative means the default, as on the reference (a negative SQL LIMIT is none at all).
        size = min(page_size, MAX_PAGE_SIZE) if page_size > 0 else DEFAULT_PAGE_SIZE
        after = _decode_token(token) if token else None
        sql, params = compiled.list_statement(size, after, columns=f"{LIST_COLUMNS}, close_time")
        rows = await self._persistence.query_visibility(sql, params)
        executions = [execution_info(row[:-1], namespace_id) for row in rows]
        next_token = b""
        if len(rows) == size:
            last = rows[-1]
            next_token = _encode_token(PageKey(close_time=last[-1], start_time=last[4], run_id=last[0]))
        return Page(executions=executions, next_page_token=next_token)

    async def count(self, namespace_id: str, query: str) -> CountWorkflowExecutionsResponse:
        """The number of runs matching ``query``, per status if it says GROUP BY ExecutionStatus."""
        compiled = compile_count_query(query, self._search_attributes.custom(namespace_id), namespace_id=namespace_id)
        if parse(query).where is None and compiled.group_by in (None, STATUS_GROUP):
            # No filter: the per-status counters answer without scanning the namespace.
            by_status = await self._persistence.count_by_status(namespace_id)
            rows: list[tuple[Any, ...]] = list(by_status.items()) if compiled.group_by else [(sum(by_status.values()),)]
        else:
            rows = await self._persistence.query_visibility(compiled.sql, compiled.params)
        if compiled.group_by is None:
            return CountWorkflowExecutionsResponse(count=rows[0][0] if rows else 0)
        response = CountWorkflowExecutionsResponse(count=sum(count for _, count in rows))
        for value, count in rows:
            shown = execution_status_name(value) if compiled.group_by.attribute == "ExecutionStatus" else value
            payload = Payload(metadata={"encoding": b"json/plain", "type": b"Keyword"}, data=json.dumps(shown).encode())
            response.groups.add(group_values=[payload], count=count)
        return response
