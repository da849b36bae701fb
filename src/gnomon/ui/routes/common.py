"""What every page needs: rendering with the shared layout, flash messages, forms, errors."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qs, quote, unquote

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from gnomon import __version__
from gnomon.server.errors import (
    AlreadyExistsError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    ServiceError,
)
from gnomon.ui.backend import Backend

FLASH_COOKIE = "gnomon_flash"

_STATUS_CODES: dict[type[ServiceError], int] = {
    InvalidArgumentError: 400,
    NotFoundError: 404,
    AlreadyExistsError: 409,
    FailedPreconditionError: 409,
}


def backend(request: Request) -> Backend:
    return request.app.state.backend  # type: ignore[no-any-return]


def namespace_of(request: Request) -> str:
    return str(request.path_params["namespace"])


async def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page in the shared layout: navigation, namespace switcher, and any flash message."""
    try:
        namespaces = sorted(ns.namespace_info.name for ns in await backend(request).namespaces())
    except ServiceError:
        namespaces = []
    flash = _read_flash(request)
    page = request.app.state.templates.get_template(template)
    body = await asyncio.to_thread(  # a long history takes a moment to render; keep the server's loop free
        page.render,
        request=request,
        namespaces=namespaces,
        namespace=request.path_params.get("namespace") or request.app.state.default_namespace,
        section=section_of(request.url.path),
        flash=flash,
        version=__version__,
        grpc_address=request.app.state.grpc_address,
        **context,
    )
    response = HTMLResponse(body, status_code=status_code)
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def section_of(path: str) -> str:
    """Which top navigation entry a path belongs to."""
    parts = path.strip("/").split("/")
    if parts[0] != "namespaces" or len(parts) < 3 or parts[2] == "settings":
        return "namespaces"
    return parts[2]


def redirect(url: str, message: str = "", tone: str = "ok") -> RedirectResponse:
    """POST/redirect/GET, carrying a one-time message to the next page."""
    response = RedirectResponse(url, status_code=303)
    if message:
        response.set_cookie(FLASH_COOKIE, quote(json.dumps({"message": message, "tone": tone})), path="/")
    return response


def _read_flash(request: Request) -> dict[str, str] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        flash = json.loads(unquote(raw))
    except ValueError:
        return None
    return flash if isinstance(flash, dict) else None


async def form(request: Request) -> dict[str, list[str]]:
    """An ``application/x-www-form-urlencoded`` body (all the UI's forms send)."""
    return parse_qs((await request.body()).decode(), keep_blank_values=True)


def field(values: dict[str, list[str]], name: str, default: str = "") -> str:
    return values.get(name, [default])[0].strip()


async def error_page(request: Request, error: ServiceError) -> Response:
    status = next((code for cls, code in _STATUS_CODES.items() if isinstance(error, cls)), 500)
    title = "Not found" if status == 404 else "Something went wrong"
    home, home_label = "/namespaces", "All namespaces"
    namespace = request.path_params.get("namespace")
    if namespace:
        try:
            await backend(request).describe_namespace(namespace)
            home, home_label = f"/namespaces/{quote(namespace, safe='')}/workflows", f"Workflows in {namespace}"
        except ServiceError:
            pass
    return await render(
        request, "error.html", status_code=status, title=title, message=error.message, home=home, home_label=home_label
    )
