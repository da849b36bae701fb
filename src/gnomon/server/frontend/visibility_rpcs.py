"""List, scan and count RPCs, and search attribute keys."""

from __future__ import annotations

from typing import Any

from temporalio.api.workflowservice.v1 import request_response_pb2 as api

from gnomon.server.frontend.base import (
    FrontendBase,
)
from gnomon.server.frontend.status import rpc
from gnomon.server.frontend.validation import valid_timestamp
from gnomon.server.visibility.search_attributes import SYSTEM_ATTRIBUTES
from gnomon.server.visibility.service import quote


class VisibilityRpcs(FrontendBase):
    """List, scan and count RPCs, and search attribute keys."""

    # -- visibility --------------------------------------------------------------------------

    @rpc
    async def ListWorkflowExecutions(
        self, request: api.ListWorkflowExecutionsRequest, context: Any
    ) -> api.ListWorkflowExecutionsResponse:
        namespace_id = self._namespace_id(request.namespace)
        page = await self.visibility.list(namespace_id, request.query, request.page_size, request.next_page_token)
        return api.ListWorkflowExecutionsResponse(executions=page.executions, next_page_token=page.next_page_token)

    @rpc
    async def ScanWorkflowExecutions(
        self, request: api.ScanWorkflowExecutionsRequest, context: Any
    ) -> api.ScanWorkflowExecutionsResponse:
        namespace_id = self._namespace_id(request.namespace)
        page = await self.visibility.list(namespace_id, request.query, request.page_size, request.next_page_token)
        return api.ScanWorkflowExecutionsResponse(executions=page.executions, next_page_token=page.next_page_token)

    @rpc
    async def CountWorkflowExecutions(
        self, request: api.CountWorkflowExecutionsRequest, context: Any
    ) -> api.CountWorkflowExecutionsResponse:
        return await self.visibility.count(self._namespace_id(request.namespace), request.query)

    @staticmethod
    def _legacy_query(request: Any, status_clause: str) -> str:
        """The list filter equivalent to an old-style List{Open,Closed} request's filters."""
        clauses = [status_clause]
        if request.HasField("start_time_filter"):
            times = request.start_time_filter
            earliest = valid_timestamp(times.earliest_time, "StartTimeFilter.EarliestTime").ToJsonString()
            latest = valid_timestamp(times.latest_time, "StartTimeFilter.LatestTime").ToJsonString()
            clauses.append(f"StartTime BETWEEN {quote(earliest)} AND {quote(latest)}")
        if request.HasField("execution_filter"):
            clauses.append(f"WorkflowId = {quote(request.execution_filter.workflow_id)}")
            if request.execution_filter.run_id:
                clauses.append(f"RunId = {quote(request.execution_filter.run_id)}")
        if request.HasField("type_filter"):
            clauses.append(f"WorkflowType = {quote(request.type_filter.name)}")
        return " AND ".join(clauses)

    @rpc
    async def ListOpenWorkflowExecutions(
        self, request: api.ListOpenWorkflowExecutionsRequest, context: Any
    ) -> api.ListOpenWorkflowExecutionsResponse:
        namespace_id = self._namespace_id(request.namespace)
        query = self._legacy_query(request, "ExecutionStatus = 'Running'")
        page = await self.visibility.list(namespace_id, query, request.maximum_page_size, request.next_page_token)
        return api.ListOpenWorkflowExecutionsResponse(executions=page.executions, next_page_token=page.next_page_token)

    @rpc
    async def ListClosedWorkflowExecutions(
        self, request: api.ListClosedWorkflowExecutionsRequest, context: Any
    ) -> api.ListClosedWorkflowExecutionsResponse:
        namespace_id = self._namespace_id(request.namespace)
        status = "ExecutionStatus != 'Running'"
        if request.HasField("status_filter") and request.status_filter.status:
            status = f"ExecutionStatus = {request.status_filter.status}"
        query = self._legacy_query(request, status)
        page = await self.visibility.list(namespace_id, query, request.maximum_page_size, request.next_page_token)
        return api.ListClosedWorkflowExecutionsResponse(
            executions=page.executions, next_page_token=page.next_page_token
        )

    @rpc
    async def GetSearchAttributes(
        self, request: api.GetSearchAttributesRequest, context: Any
    ) -> api.GetSearchAttributesResponse:
        keys = dict(SYSTEM_ATTRIBUTES)
        keys.update(self.search_attributes.custom(self.namespaces.id_of("default")))
        return api.GetSearchAttributesResponse(keys=keys)  # type: ignore[arg-type]
