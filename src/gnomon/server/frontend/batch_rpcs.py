"""Batch operation RPCs: start, describe and list jobs over many workflows."""

from __future__ import annotations

from typing import Any

from temporalio.api.workflowservice.v1 import request_response_pb2 as api

from gnomon.server.frontend.base import FrontendBase
from gnomon.server.frontend.status import rpc
from gnomon.server.frontend.validation import require


class BatchRpcs(FrontendBase):
    """StartBatchOperation, DescribeBatchOperation, ListBatchOperations."""

    @rpc
    async def StartBatchOperation(
        self, request: api.StartBatchOperationRequest, context: Any
    ) -> api.StartBatchOperationResponse:
        namespace_id = self._namespace_id(request.namespace)
        if request.visibility_query:
            # Refuse a malformed query now, not in the background job.
            await self.visibility.count(namespace_id, request.visibility_query)
        self.batches.start(namespace_id, request)
        return api.StartBatchOperationResponse()

    @rpc
    async def DescribeBatchOperation(
        self, request: api.DescribeBatchOperationRequest, context: Any
    ) -> api.DescribeBatchOperationResponse:
        namespace_id = self._namespace_id(request.namespace)
        return self.batches.describe(namespace_id, require(request.job_id, "JobId"))

    @rpc
    async def ListBatchOperations(
        self, request: api.ListBatchOperationsRequest, context: Any
    ) -> api.ListBatchOperationsResponse:
        jobs = self.batches.list_jobs(self._namespace_id(request.namespace))
        return api.ListBatchOperationsResponse(operation_info=jobs)
