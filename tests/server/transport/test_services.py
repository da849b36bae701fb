"""Serving a service by its descriptor: implemented RPCs run, every other one answers UNIMPLEMENTED naming itself.

Real generated stubs against Gnomon's transport (grpcio's client, Temporal's OperatorService).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import grpc
import pytest
from google.protobuf.message_factory import GetMessageClass
from temporalio.api.operatorservice.v1 import (
    ListNexusEndpointsRequest,
    ListSearchAttributesRequest,
    ListSearchAttributesResponse,
    service_pb2,
    service_pb2_grpc,
)

from gnomon.server.limits import Limits
from gnomon.server.transport import CallContext, GrpcServer, service_handler

OPERATOR_SERVICE = service_pb2.DESCRIPTOR.services_by_name["OperatorService"]


class SearchAttributesOnly:
    """Implements one RPC of the service, nothing else."""

    async def ListSearchAttributes(
        self, request: ListSearchAttributesRequest, context: CallContext
    ) -> ListSearchAttributesResponse:
        return ListSearchAttributesResponse(storage_schema={"namespace": request.namespace})


async def _serve(register: Callable[[GrpcServer], None]) -> AsyncIterator[service_pb2_grpc.OperatorServiceStub]:
    server = GrpcServer(Limits(max_message_bytes=1024 * 1024))
    register(server)
    port = await server.start("127.0.0.1", 0)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    yield service_pb2_grpc.OperatorServiceStub(channel)
    await channel.close()
    await server.stop(grace=0)


@pytest.fixture
async def stub() -> AsyncIterator[service_pb2_grpc.OperatorServiceStub]:
    async for stub in _serve(
        lambda server: server.add_generic_rpc_handlers([service_handler(OPERATOR_SERVICE, SearchAttributesOnly())])
    ):
        yield stub


async def test_an_implemented_rpc_runs(stub: service_pb2_grpc.OperatorServiceStub) -> None:
    response = await stub.ListSearchAttributes(ListSearchAttributesRequest(namespace="ns"))
    assert response.storage_schema == {"namespace": "ns"}


@pytest.mark.parametrize("method", [m.name for m in OPERATOR_SERVICE.methods if m.name != "ListSearchAttributes"])
async def test_every_other_rpc_is_unimplemented_and_named(
    stub: service_pb2_grpc.OperatorServiceStub, method: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await getattr(stub, method)(_empty_request(method))
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert caught.value.details() == f"{method} is not implemented by Gnomon yet."


def _empty_request(method: str) -> object:
    return GetMessageClass(OPERATOR_SERVICE.methods_by_name[method].input_type)()


async def test_a_generated_servicer_base_answers_unimplemented_not_internal() -> None:
    """The generated default methods call ``context.set_code``: the transport's context supports it."""
    base = service_pb2_grpc.OperatorServiceServicer()
    async for stub in _serve(lambda server: service_pb2_grpc.add_OperatorServiceServicer_to_server(base, server)):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.ListNexusEndpoints(ListNexusEndpointsRequest())
        assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
        assert caught.value.details() == "Method not implemented!"
