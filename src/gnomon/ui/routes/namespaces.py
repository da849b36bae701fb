"""Namespaces: list, create, and edit description and retention."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response
from temporalio.api.enums.v1 import NamespaceState
from temporalio.api.workflowservice.v1 import request_response_pb2 as api

from gnomon.server.errors import ServiceError
from gnomon.ui.routes.common import backend, field, form, namespace_of, redirect, render
from gnomon.ui.templating import namespace_url
from gnomon.ui.values import Span, enum_name

DEFAULT_RETENTION_DAYS = 3


@dataclass
class NamespaceRow:
    name: str
    id: str
    state: str
    description: str
    owner_email: str
    retention: Span | None

    @property
    def retention_days(self) -> str:
        """Retention in days as a form shows it (``7``, ``0.5``)."""
        days = round(self.retention.seconds / 86400, 3) if self.retention else 0
        return f"{days:g}"


def _row(ns: api.DescribeNamespaceResponse) -> NamespaceRow:
    ttl = ns.config.workflow_execution_retention_ttl
    return NamespaceRow(
        name=ns.namespace_info.name,
        id=ns.namespace_info.id,
        state=enum_name(NamespaceState.DESCRIPTOR, ns.namespace_info.state),
        description=ns.namespace_info.description,
        owner_email=ns.namespace_info.owner_email,
        retention=Span(ttl.ToTimedelta().total_seconds())
        if ns.config.HasField("workflow_execution_retention_ttl")
        else None,
    )


async def list_page(request: Request) -> Response:
    rows = sorted((_row(ns) for ns in await backend(request).namespaces()), key=lambda r: r.name)
    return await render(request, "namespaces.html", rows=rows, default_retention=DEFAULT_RETENTION_DAYS)


def _retention(text: str) -> timedelta | None:
    """Days typed in a form (fractions allowed); ``ValueError`` if it is not a positive number."""
    if not text:
        return None
    days = float(text)
    if days <= 0:
        raise ValueError("Retention must be a positive number of days.")
    return timedelta(days=days)


async def create(request: Request) -> Response:
    values = await form(request)
    name = field(values, "name")
    try:
        retention = _retention(field(values, "retention_days"))
        payload = api.RegisterNamespaceRequest(namespace=name, description=field(values, "description"))
        if retention is not None:
            payload.workflow_execution_retention_period.FromTimedelta(retention)
        await backend(request).workflow("RegisterNamespace", payload)
    except (ServiceError, ValueError) as error:
        return redirect("/namespaces", getattr(error, "message", str(error)), "bad")
    return redirect("/namespaces", f"Created namespace {name}.")


async def edit_page(request: Request) -> Response:
    row = _row(await backend(request).describe_namespace(namespace_of(request)))
    return await render(request, "namespace_edit.html", row=row)


async def update(request: Request) -> Response:
    namespace = namespace_of(request)
    values = await form(request)
    here = namespace_url(namespace, "settings")
    try:
        payload = api.UpdateNamespaceRequest(namespace=namespace)
        payload.update_info.description = field(values, "description")
        retention = _retention(field(values, "retention_days"))
        if retention is not None:
            payload.config.workflow_execution_retention_ttl.FromTimedelta(retention)
        await backend(request).workflow("UpdateNamespace", payload)
    except (ServiceError, ValueError) as error:
        return redirect(here, getattr(error, "message", str(error)), "bad")
    return redirect("/namespaces", f"Saved namespace {namespace}.")
