"""The Gnomon server: wires persistence, namespaces, history, matching and the frontend."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gnomon.server.dynamic_config import DynamicConfig
from gnomon.server.frontend import OPERATOR_SERVICE, WORKFLOW_SERVICE, OperatorService, WorkflowService
from gnomon.server.history.engine import DEFAULT_CACHE_BYTES
from gnomon.server.history.service import HistoryService
from gnomon.server.limits import Limits
from gnomon.server.matching import MatchingService
from gnomon.server.namespaces import NamespaceRegistry
from gnomon.server.persistence import Persistence, SqlitePersistence
from gnomon.server.transport import GrpcServer, service_handler
from gnomon.server.visibility import SearchAttributeRegistry
from gnomon.server.visibility.records import visibility_record
from gnomon.server.visibility.service import VisibilityService

if TYPE_CHECKING:
    from gnomon.ui import UiServer

logger = logging.getLogger(__name__)


@dataclass
class ServerConfig:
    """How to run the server (the CLI flags map onto this)."""

    ip: str = "127.0.0.1"
    port: int = 7233
    db_filename: str = ":memory:"
    namespaces: list[str] = field(default_factory=lambda: ["default"])
    ui_port: int | None = None  # serve the web UI on this port (None: headless)
    # The reference's dynamic config settings (--dynamic-config-value KEY=VALUE).
    dynamic_config: DynamicConfig = field(default_factory=DynamicConfig)
    limits: Limits = field(default_factory=Limits)
    # The bound of the run cache's memory estimate (--cache-mb); runs beyond it are read back when needed.
    cache_bytes: int = DEFAULT_CACHE_BYTES


class GnomonServer:
    """One process serving Temporal's WorkflowService over gRPC."""

    def __init__(self, config: ServerConfig, persistence: Persistence | None = None) -> None:
        self.config = config
        self.persistence = persistence or SqlitePersistence(config.db_filename)
        self.namespaces = NamespaceRegistry(self.persistence)
        self.search_attributes = SearchAttributeRegistry(self.persistence)
        self.matching = MatchingService()
        self.history = HistoryService(
            self.persistence, self.namespaces, self.matching, config.dynamic_config, cache_bytes=config.cache_bytes
        )
        self.history.engine.visibility_record = lambda ms: visibility_record(
            ms, self.search_attributes.custom(ms.namespace_id)
        )
        self.history.engine.annotate_search_attributes = self.search_attributes.annotate
        self.history.engine.validate_search_attributes = self.search_attributes.validate
        self.visibility = VisibilityService(self.persistence, self.search_attributes)
        self.frontend = WorkflowService(
            self.namespaces, self.history, self.matching, self.search_attributes, self.visibility
        )
        self.operator = OperatorService(self.namespaces, self.search_attributes, self.history.engine)
        self._grpc: GrpcServer | None = None
        self.port = config.port
        self.ui: UiServer | None = None

    @property
    def address(self) -> str:
        return f"{self.config.ip}:{self.port}"

    async def start(self) -> None:
        """Open the database, recover open runs, then listen."""
        for key in self.config.dynamic_config.ignored:
            logger.info("dynamic config %s is not used by Gnomon; ignored", key)
        await self.persistence.start()
        await self.namespaces.load()
        await self.search_attributes.load()
        for name in self.config.namespaces:
            await self.namespaces.ensure(name)
            await self.search_attributes.ensure_predefined(self.namespaces.id_of(name))
        await self.history.start()
        self._grpc = GrpcServer(self.config.limits)
        self._grpc.add_generic_rpc_handlers(
            [service_handler(WORKFLOW_SERVICE, self.frontend), service_handler(OPERATOR_SERVICE, self.operator)]
        )
        self.port = await self._grpc.start(self.config.ip, self.config.port)
        logger.info("listening on %s", self.address)
        if self.config.ui_port is not None:
            # Imported here: a headless server does not load the web stack at all.
            from gnomon.ui import UiServer

            self.ui = UiServer(
                self.frontend, self.operator, self.config.ip, self.config.ui_port, grpc_address=self.address
            )
            await self.ui.start()

    async def stop(self, grace: float = 2.0) -> None:
        """Stop accepting requests, let running ones end, then close the database."""
        if self.ui is not None:
            await self.ui.stop()
        if self._grpc is not None:
            await self._grpc.stop(grace)
        await self.history.stop()
        await self.persistence.close()

    async def wait(self) -> None:
        if self._grpc is not None:
            await self._grpc.wait_for_termination()


def default_db_path() -> Path:
    """Where the database lives unless told otherwise: the user's data directory."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("gnomon")) / "gnomon.db"
