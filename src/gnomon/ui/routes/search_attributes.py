"""Search attributes: the system and custom ones of a namespace, and adding custom ones."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from temporalio.api.enums.v1 import IndexedValueType

from gnomon.server.errors import ServiceError
from gnomon.ui.routes.common import backend, field, form, namespace_of, redirect, render
from gnomon.ui.templating import namespace_url
from gnomon.ui.values import enum_name

#: The types a custom attribute can have, by display name.
TYPES = {
    enum_name(IndexedValueType.DESCRIPTOR, number): number
    for number in IndexedValueType.values()
    if number != IndexedValueType.INDEXED_VALUE_TYPE_UNSPECIFIED
}


def _named(attributes: dict[str, int]) -> list[tuple[str, str]]:
    return sorted((name, enum_name(IndexedValueType.DESCRIPTOR, value)) for name, value in attributes.items())


async def list_page(request: Request) -> Response:
    response = await backend(request).search_attributes(namespace_of(request))
    return await render(
        request,
        "search_attributes.html",
        custom=_named(dict(response.custom_attributes)),
        system=_named(dict(response.system_attributes)),
        types=list(TYPES),
    )


async def add(request: Request) -> Response:
    namespace = namespace_of(request)
    values = await form(request)
    name, type_name = field(values, "name"), field(values, "type")
    here = namespace_url(namespace, "search-attributes")
    if type_name not in TYPES:
        return redirect(here, "Choose a type for the search attribute.", "bad")
    try:
        await backend(request).add_search_attribute(namespace, name, TYPES[type_name])
    except ServiceError as error:
        return redirect(here, error.message, "bad")
    return redirect(here, f"Added search attribute {name} ({type_name}).")
