"""The UI's Starlette application."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from gnomon.server.errors import ServiceError
from gnomon.ui.backend import Backend
from gnomon.ui.routes import routes
from gnomon.ui.routes.common import error_page
from gnomon.ui.templating import build_environment

STATIC_DIR = Path(__file__).parent / "static"


class SameOriginPosts:
    """Refuse form posts from other sites (a page elsewhere must not terminate your workflows)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            headers = dict(scope["headers"])
            origin = headers.get(b"origin", b"").decode()
            host = headers.get(b"host", b"").decode()
            if origin and origin != "null" and urlsplit(origin).netloc != host:
                await PlainTextResponse("Cross-site request refused.", status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _service_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ServiceError)
    return await error_page(request, error)


async def _unexpected_error(request: Request, error: Exception) -> Response:
    return await error_page(request, ServiceError(f"The page failed to render: {error}"))


def create_app(backend: Backend, *, grpc_address: str = "", default_namespace: str = "default") -> Starlette:
    """The UI for the server behind ``backend``."""
    app = Starlette(
        routes=routes(str(STATIC_DIR)),
        middleware=[Middleware(SameOriginPosts)],
        exception_handlers={ServiceError: _service_error, Exception: _unexpected_error},
    )
    app.state.backend = backend
    app.state.templates = build_environment()
    app.state.grpc_address = grpc_address
    app.state.default_namespace = default_namespace
    return app
