"""The namespace registry: every namespace, cached in memory, persisted on change."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from temporalio.api.enums.v1 import ArchivalState, NamespaceState, ReplicationState
from temporalio.api.namespace.v1 import NamespaceConfig, NamespaceInfo
from temporalio.api.replication.v1 import ClusterReplicationConfig, NamespaceReplicationConfig
from temporalio.api.workflowservice.v1 import DescribeNamespaceResponse

from gnomon.server.errors import AlreadyExistsError, NotFoundError
from gnomon.server.persistence import ConditionFailedError, NamespaceRecord, Persistence

logger = logging.getLogger(__name__)

CLUSTER_NAME = "active"
DEFAULT_RETENTION = timedelta(days=1)


class NamespaceRegistry:
    """Resolves namespace names and ids; owns namespace creation and updates."""

    def __init__(self, persistence: Persistence) -> None:
        self._persistence = persistence
        self._by_name: dict[str, DescribeNamespaceResponse] = {}
        self._by_id: dict[str, DescribeNamespaceResponse] = {}

    async def load(self) -> None:
        for record in await self._persistence.list_namespaces():
            description = DescribeNamespaceResponse()
            description.ParseFromString(record.data)
            self._remember(description)

    def _remember(self, description: DescribeNamespaceResponse) -> None:
        self._by_name[description.namespace_info.name] = description
        self._by_id[description.namespace_info.id] = description

    def get(self, name: str) -> DescribeNamespaceResponse:
        """The namespace called ``name``; NotFoundError if there is none."""
        found = self._by_name.get(name)
        if found is None:
            raise NotFoundError(f"Namespace {name} is not found.")
        return found

    def get_by_id(self, namespace_id: str) -> DescribeNamespaceResponse:
        found = self._by_id.get(namespace_id)
        if found is None:
            raise NotFoundError(f"Namespace {namespace_id} is not found.")
        return found

    def id_of(self, name: str) -> str:
        return self.get(name).namespace_info.id

    def all(self) -> list[DescribeNamespaceResponse]:
        return sorted(self._by_name.values(), key=lambda d: d.namespace_info.name)

    async def register(
        self,
        name: str,
        *,
        description: str = "",
        owner_email: str = "",
        retention: timedelta | None = None,
        data: dict[str, str] | None = None,
    ) -> DescribeNamespaceResponse:
        """Create a namespace; AlreadyExistsError if the name is taken."""
        if name in self._by_name:
            raise AlreadyExistsError(f'Namespace "{name}" already exists')
        namespace = DescribeNamespaceResponse(
            namespace_info=NamespaceInfo(
                name=name,
                id=str(uuid.uuid4()),
                state=NamespaceState.NAMESPACE_STATE_REGISTERED,
                description=description,
                owner_email=owner_email,
                data=data or {},
            ),
            config=NamespaceConfig(
                history_archival_state=ArchivalState.ARCHIVAL_STATE_DISABLED,
                visibility_archival_state=ArchivalState.ARCHIVAL_STATE_DISABLED,
            ),
            replication_config=NamespaceReplicationConfig(
                active_cluster_name=CLUSTER_NAME,
                clusters=[ClusterReplicationConfig(cluster_name=CLUSTER_NAME)],
                state=ReplicationState.REPLICATION_STATE_NORMAL,
            ),
            is_global_namespace=False,
        )
        namespace.config.workflow_execution_retention_ttl.FromTimedelta(retention or DEFAULT_RETENTION)
        caps = namespace.namespace_info.capabilities
        caps.eager_workflow_start = True
        caps.sync_update = True
        caps.async_update = True
        record = NamespaceRecord(id=namespace.namespace_info.id, name=name, data=namespace.SerializeToString())
        try:
            await self._persistence.save_namespace(record, create=True)
        except ConditionFailedError:
            raise AlreadyExistsError(f'Namespace "{name}" already exists') from None
        self._remember(namespace)
        logger.info("registered namespace %s", name, extra={"namespace": name})
        return namespace

    async def ensure(self, name: str) -> None:
        """Create ``name`` unless it exists (used for the namespaces the server starts with)."""
        if name not in self._by_name:
            await self.register(name)

    async def delete(self, name: str) -> str:
        """Delete the namespace and all it holds; returns its id."""
        namespace = self.get(name)
        namespace_id = namespace.namespace_info.id
        # Gone for every request from here on: a concurrent delete of the same namespace (or any
        # request naming it) gets NOT_FOUND rather than racing this one.
        del self._by_name[name]
        del self._by_id[namespace_id]
        try:
            await self._persistence.delete_namespace(namespace_id)
        except BaseException:
            self._by_name[name] = self._by_id[namespace_id] = namespace  # not deleted after all
            raise
        logger.info("deleted namespace %s", name, extra={"namespace": name})
        return namespace_id

    async def save(self, namespace: DescribeNamespaceResponse) -> None:
        """Persist a changed namespace description."""
        record = NamespaceRecord(
            id=namespace.namespace_info.id,
            name=namespace.namespace_info.name,
            data=namespace.SerializeToString(),
        )
        await self._persistence.save_namespace(record, create=False)
        self._remember(namespace)
