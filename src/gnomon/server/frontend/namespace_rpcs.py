"""System and namespace RPCs."""

from __future__ import annotations

from typing import Any

from temporalio.api.namespace.v1 import NamespaceInfo
from temporalio.api.workflowservice.v1 import request_response_pb2 as api

from gnomon import __version__
from gnomon.server.errors import InvalidArgumentError
from gnomon.server.frontend.base import (
    CLUSTER_ID,
    FrontendBase,
)
from gnomon.server.frontend.status import rpc
from gnomon.server.frontend.validation import require, valid_duration
from gnomon.server.protoutil import seconds


class NamespaceRpcs(FrontendBase):
    """System and namespace RPCs."""

    # -- system ----------------------------------------------------------------------------

    @rpc
    async def GetSystemInfo(self, request: api.GetSystemInfoRequest, context: Any) -> api.GetSystemInfoResponse:
        response = api.GetSystemInfoResponse(server_version=__version__)
        caps = response.capabilities
        caps.signal_and_query_header = True
        caps.internal_error_differentiation = True
        caps.activity_failure_include_heartbeat = True
        caps.encoded_failure_attributes = True
        caps.upsert_memo = True
        caps.eager_workflow_start = True
        caps.sdk_metadata = True
        # Not versioning itself: it tells SDKs to send their build id as a version stamp
        # (recorded on events, where they read it back) rather than as a binary checksum.
        caps.build_id_based_versioning = True
        return response

    @rpc
    async def GetClusterInfo(self, request: api.GetClusterInfoRequest, context: Any) -> api.GetClusterInfoResponse:
        return api.GetClusterInfoResponse(
            server_version=__version__,
            cluster_id=CLUSTER_ID,
            cluster_name="active",
            history_shard_count=1,
            persistence_store="sqlite",
            visibility_store="sqlite",
        )

    # -- namespaces ------------------------------------------------------------------------

    @rpc
    async def RegisterNamespace(
        self, request: api.RegisterNamespaceRequest, context: Any
    ) -> api.RegisterNamespaceResponse:
        if not seconds(request.workflow_execution_retention_period):
            raise InvalidArgumentError("A valid retention period is not set on request.")
        period = valid_duration(request.workflow_execution_retention_period, "WorkflowExecutionRetentionPeriod")
        retention = period.ToTimedelta() if request.HasField("workflow_execution_retention_period") else None
        namespace = await self.namespaces.register(
            require(request.namespace, "Namespace"),
            description=request.description,
            owner_email=request.owner_email,
            retention=retention if retention else None,
            data=dict(request.data),
        )
        await self.search_attributes.ensure_predefined(namespace.namespace_info.id)
        return api.RegisterNamespaceResponse()

    @rpc
    async def DescribeNamespace(
        self, request: api.DescribeNamespaceRequest, context: Any
    ) -> api.DescribeNamespaceResponse:
        if request.id:
            return self.namespaces.get_by_id(request.id)
        return self.namespaces.get(require(request.namespace, "Namespace"))

    @rpc
    async def ListNamespaces(self, request: api.ListNamespacesRequest, context: Any) -> api.ListNamespacesResponse:
        everything = self.namespaces.all()
        try:
            start = int(request.next_page_token or b"0")
        except ValueError:
            raise InvalidArgumentError("Invalid NextPageToken.") from None
        size = request.page_size or len(everything) or 1
        page = everything[start : start + size]
        token = str(start + size).encode() if start + size < len(everything) else b""
        return api.ListNamespacesResponse(namespaces=page, next_page_token=token)

    @rpc
    async def UpdateNamespace(self, request: api.UpdateNamespaceRequest, context: Any) -> api.UpdateNamespaceResponse:
        current = api.DescribeNamespaceResponse()
        current.CopyFrom(self.namespaces.get(require(request.namespace, "Namespace")))
        info: NamespaceInfo = current.namespace_info
        if request.HasField("update_info"):
            update = request.update_info
            if update.description:
                info.description = update.description
            if update.owner_email:
                info.owner_email = update.owner_email
            for key, value in update.data.items():
                info.data[key] = value
        if request.HasField("config") and request.config.HasField("workflow_execution_retention_ttl"):
            retention = valid_duration(request.config.workflow_execution_retention_ttl, "WorkflowExecutionRetentionTtl")
            current.config.workflow_execution_retention_ttl.CopyFrom(retention)
        await self.namespaces.save(current)
        return api.UpdateNamespaceResponse(
            namespace_info=current.namespace_info,
            config=current.config,
            replication_config=current.replication_config,
            is_global_namespace=current.is_global_namespace,
        )
