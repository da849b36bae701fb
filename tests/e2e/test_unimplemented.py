"""RPCs Gnomon does not implement answer UNIMPLEMENTED naming the RPC (not INTERNAL).

Gnomon only: the reference implements all of them. Which RPCs Gnomon lacks is read from its
frontend classes; every one of them, of both services, is called with a raw stub over a real
channel. (The ``temporal`` CLI's view: ``tests/cli/test_temporal_cli.py``.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from temporalio.api.operatorservice.v1 import ListNexusEndpointsRequest
from temporalio.api.operatorservice.v1 import service_pb2_grpc as operator_grpc
from temporalio.api.workflowservice.v1 import ListNamespacesRequest
from temporalio.api.workflowservice.v1 import service_pb2_grpc as workflow_grpc

from gnomon.server.frontend import OPERATOR_SERVICE, WORKFLOW_SERVICE, OperatorService, WorkflowService
from tests.support.servers import ServerProcess
from tests.support.targets import ON_GNOMON

pytestmark = pytest.mark.skipif(not ON_GNOMON, reason="the reference implements every RPC")


def _missing(service: ServiceDescriptor, implementation: type) -> list[str]:
    return [m.name for m in service.methods if not hasattr(implementation, m.name)]


UNIMPLEMENTED = [
    *[("WorkflowService", name) for name in _missing(WORKFLOW_SERVICE, WorkflowService)],
    *[("OperatorService", name) for name in _missing(OPERATOR_SERVICE, OperatorService)],
]


@pytest.fixture
async def channel(server: ServerProcess) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(server.address) as channel:
        yield channel


def test_some_rpcs_are_unimplemented() -> None:
    """Guards the parametrised test below against an empty list (it would pass vacuously)."""
    assert ("OperatorService", "ListNexusEndpoints") in UNIMPLEMENTED


def _request(service: ServiceDescriptor, method: str) -> Message:
    request = GetMessageClass(service.methods_by_name[method].input_type)()
    if "namespace" in request.DESCRIPTOR.fields_by_name:
        request.namespace = "default"  # type: ignore[attr-defined]
    return request


@pytest.mark.parametrize(("service", "method"), UNIMPLEMENTED, ids=[f"{s}.{m}" for s, m in UNIMPLEMENTED])
async def test_a_raw_stub_gets_unimplemented_naming_the_rpc(
    channel: grpc.aio.Channel, service: str, method: str
) -> None:
    if service == "WorkflowService":
        descriptor, stub = WORKFLOW_SERVICE, workflow_grpc.WorkflowServiceStub(channel)
    else:
        descriptor, stub = OPERATOR_SERVICE, operator_grpc.OperatorServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await getattr(stub, method)(_request(descriptor, method), timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED, caught.value.details()
    assert caught.value.details() == f"{method} is not implemented by Gnomon yet."


async def test_an_unimplemented_rpc_leaves_the_server_serving(channel: grpc.aio.Channel) -> None:
    stub = operator_grpc.OperatorServiceStub(channel)
    for _ in range(3):
        with pytest.raises(grpc.aio.AioRpcError):
            await stub.ListNexusEndpoints(ListNexusEndpointsRequest(), timeout=10)
    namespaces = await workflow_grpc.WorkflowServiceStub(channel).ListNamespaces(ListNamespacesRequest(), timeout=10)
    assert any(ns.namespace_info.name == "default" for ns in namespaces.namespaces)
