"""Serving the UI over HTTP from the server's own event loop (uvicorn, no extra process)."""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

import uvicorn

from gnomon.ui.app import create_app
from gnomon.ui.backend import Backend

logger = logging.getLogger(__name__)


class UiServer:
    """The web UI on ``ip:port``, reading through the given WorkflowService and OperatorService."""

    def __init__(
        self,
        workflow_service: Any,
        operator_service: Any,
        ip: str,
        port: int,
        *,
        grpc_address: str = "",
        default_namespace: str = "default",
    ) -> None:
        self.ip = ip
        self.port = port
        self._app = create_app(
            Backend(workflow_service, operator_service),
            grpc_address=grpc_address,
            default_namespace=default_namespace,
        )
        self._server: uvicorn.Server | None = None
        self._socket: socket.socket | None = None
        self._ticker: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.ip}:{self.port}"

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.ip else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.ip, self.port))
        except OSError:
            sock.close()
            raise OSError(f"cannot listen on {self.ip}:{self.port} for the web UI") from None
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        return sock

    async def start(self) -> None:
        self._socket = self._bind()
        config = uvicorn.Config(
            self._app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=2
        )
        config.load()
        self._server = uvicorn.Server(config)
        self._server.lifespan = config.lifespan_class(config)
        await self._server.startup(sockets=[self._socket])
        self._ticker = asyncio.create_task(self._server.main_loop(), name="gnomon-ui")  # keeps Date headers fresh
        logger.info("web UI on %s", self.url)

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.should_exit = True
        if self._ticker is not None:
            await self._ticker
        await self._server.shutdown(sockets=[self._socket] if self._socket else None)
        self._server = None
