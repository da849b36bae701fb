"""Registering custom search attributes on a server under test (either kind: Gnomon or the reference)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode


async def registered(client: Client, namespace: str) -> dict[str, IndexedValueType.ValueType]:
    resp = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=namespace))
    return dict(resp.custom_attributes)


async def ensure_search_attributes(
    client: Client, namespace: str, attributes: Mapping[str, IndexedValueType.ValueType], timeout: float = 30.0
) -> None:
    """Add the attributes not yet defined, and wait until the server lists them all.

    The reference takes a moment before a new attribute is usable, and another test (or an
    earlier run on the same server) may have added some already.
    """
    missing = {k: v for k, v in attributes.items() if k not in await registered(client, namespace)}
    if missing:
        try:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
            )
        except RPCError as err:
            if err.status != RPCStatusCode.ALREADY_EXISTS:
                raise
    deadline = time.monotonic() + timeout
    while not set(attributes) <= set(await registered(client, namespace)):
        if time.monotonic() > deadline:
            raise TimeoutError(f"search attributes {sorted(attributes)} were not registered within {timeout}s")
        await asyncio.sleep(0.05)
