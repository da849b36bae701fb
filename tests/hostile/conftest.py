"""Fixtures for the hostile suite: servers with known limits, a well-behaved bystander, memory readings.

A hostile client may fail its own calls, never anyone else's: most tests here run a
bystander on its own connection while the attack goes on, and require it to be answered.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import pytest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.api.workflowservice.v1.service_pb2_grpc import WorkflowServiceStub

from gnomon.server.limits import MIB, Limits
from gnomon.server.transport import CallContext, GrpcServer
from tests.support.servers import ServerProcess, start_gnomon

SERVICE = "test.Echo"

# The strict server's limits, small enough for a test to reach each one quickly.
STRICT = Limits(
    max_concurrent_streams=100,
    max_connection_request_bytes=8 * MIB,
    max_connection_unsent_bytes=4 * MIB,
    request_timeout=1.0,
    send_timeout=2.0,
)


def limit_flags(limits: Limits) -> list[str]:
    """``gnomon server start`` flags for these limits."""
    return [
        "--max-message-bytes", str(limits.max_message_bytes),
        "--max-concurrent-streams", str(limits.max_concurrent_streams),
        "--max-header-list-bytes", str(limits.max_header_list_bytes),
        "--max-connection-request-bytes", str(limits.max_connection_request_bytes),
        "--max-connection-unsent-bytes", str(limits.max_connection_unsent_bytes),
        "--request-timeout", str(limits.request_timeout),
        "--send-timeout", str(limits.send_timeout),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def strict_server(output_dir: Path) -> Iterator[ServerProcess]:
    """Gnomon in a process of its own, with :data:`STRICT` limits."""
    server = start_gnomon(output_dir, extra_args=limit_flags(STRICT))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def roomy_server(output_dir: Path) -> Iterator[ServerProcess]:
    """Gnomon taking messages of up to 64 MiB, for the large-request tests."""
    server = start_gnomon(output_dir, extra_args=["--max-message-bytes", str(64 * MIB)])
    yield server
    server.stop()


async def bystander_answered(address: str, timeout: float = 30.0) -> None:
    """A well-behaved client on a connection of its own: one DescribeNamespace must be answered."""
    async with grpc.aio.insecure_channel(address) as channel:
        response = await WorkflowServiceStub(channel).DescribeNamespace(
            DescribeNamespaceRequest(namespace="default"), timeout=timeout
        )
    assert response.namespace_info.name == "default"


class PeakMemory:
    """A process's peak resident memory since the last :meth:`reset` (Linux /proc)."""

    def __init__(self, pid: int) -> None:
        self._proc = Path(f"/proc/{pid}")

    def reset(self) -> None:
        (self._proc / "clear_refs").write_text("5")  # "5" resets the peak RSS (VmHWM)

    def _field(self, name: str) -> int:
        for line in (self._proc / "status").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1]) * 1024
        raise LookupError(name)

    @property
    def current(self) -> int:
        return self._field("VmRSS")

    @property
    def peak(self) -> int:
        return self._field("VmHWM")


class Handlers:
    """Raw-bytes handlers for the in-process server."""

    async def echo(self, request: bytes, context: CallContext) -> bytes:
        return request

    async def hang(self, request: bytes, context: CallContext) -> bytes:
        await asyncio.sleep(30)
        return b""

    async def slow(self, request: bytes, context: CallContext) -> bytes:
        await asyncio.sleep(0.3)
        return b"done"


async def serve_in_process(
    limits: Limits, server_class: type[GrpcServer] = GrpcServer
) -> tuple[GrpcServer, Handlers, str]:
    """A :class:`GrpcServer` in this process with :class:`Handlers` under ``/test.Echo/``; returns its address."""
    handlers = Handlers()
    generic = grpc.method_handlers_generic_handler(
        SERVICE,
        {
            name.capitalize(): grpc.unary_unary_rpc_method_handler(getattr(handlers, name))
            for name in ("echo", "hang", "slow")
        },
    )
    server = server_class(limits)
    server.add_generic_rpc_handlers((generic,))
    port = await server.start("127.0.0.1", 0)
    return server, handlers, f"127.0.0.1:{port}"


@pytest.fixture(scope="module")
async def in_process() -> AsyncIterator[tuple[GrpcServer, Handlers, str]]:
    """The in-process server with :data:`STRICT` limits."""
    served = await serve_in_process(STRICT)
    yield served
    await served[0].stop(grace=0)


async def echo_answered(address: str, payload: bytes = b"still here") -> None:
    """A well-behaved grpcio client, on a connection of its own, gets its Echo answered."""
    async with grpc.aio.insecure_channel(address) as channel:
        assert await channel.unary_unary(f"/{SERVICE}/Echo")(payload, timeout=30) == payload
