"""The OperatorService RPCs Gnomon supports: custom search attributes, namespace deletion.

Served like :class:`~gnomon.server.frontend.service.WorkflowService`: every other RPC of the
service answers UNIMPLEMENTED.
"""

from __future__ import annotations

from typing import Any

from temporalio.api.operatorservice.v1 import request_response_pb2 as api
from temporalio.api.operatorservice.v1 import service_pb2

from gnomon.server.frontend.status import rpc
from gnomon.server.frontend.validation import require
from gnomon.server.history.engine import HistoryEngine
from gnomon.server.namespaces import NamespaceRegistry
from gnomon.server.visibility import SearchAttributeRegistry
from gnomon.server.visibility.search_attributes import SYSTEM_ATTRIBUTES

#: ``temporal.api.operatorservice.v1.OperatorService``: its RPCs, paths and message types.
OPERATOR_SERVICE = service_pb2.DESCRIPTOR.services_by_name["OperatorService"]


class OperatorService:
    """Temporal's ``temporal.api.operatorservice.v1.OperatorService`` (search attributes)."""

    def __init__(
        self, namespaces: NamespaceRegistry, search_attributes: SearchAttributeRegistry, engine: HistoryEngine
    ) -> None:
        self.namespaces = namespaces
        self.search_attributes = search_attributes
        self.engine = engine

    def _namespace_id(self, name: str) -> str:
        return self.namespaces.id_of(require(name, "Namespace"))

    @rpc
    async def AddSearchAttributes(
        self, request: api.AddSearchAttributesRequest, context: Any
    ) -> api.AddSearchAttributesResponse:
        await self.search_attributes.add(self._namespace_id(request.namespace), dict(request.search_attributes))
        return api.AddSearchAttributesResponse()

    @rpc
    async def RemoveSearchAttributes(
        self, request: api.RemoveSearchAttributesRequest, context: Any
    ) -> api.RemoveSearchAttributesResponse:
        await self.search_attributes.remove(self._namespace_id(request.namespace), list(request.search_attributes))
        return api.RemoveSearchAttributesResponse()

    @rpc
    async def ListSearchAttributes(
        self, request: api.ListSearchAttributesRequest, context: Any
    ) -> api.ListSearchAttributesResponse:
        namespace_id = self._namespace_id(request.namespace)
        return api.ListSearchAttributesResponse(
            custom_attributes=self.search_attributes.custom(namespace_id),  # type: ignore[arg-type]
            system_attributes=SYSTEM_ATTRIBUTES,  # type: ignore[arg-type]
        )

    @rpc
    async def DeleteNamespace(self, request: api.DeleteNamespaceRequest, context: Any) -> api.DeleteNamespaceResponse:
        name = request.namespace
        if not name and request.namespace_id:
            name = self.namespaces.get_by_id(request.namespace_id).namespace_info.name
        require(name, "Namespace")
        namespace_id = await self.namespaces.delete(name)
        self.search_attributes.forget(namespace_id)
        self.engine.forget_namespace(namespace_id)
        return api.DeleteNamespaceResponse(deleted_namespace=name)
