"""Gnomon's gRPC server against grpcio's client: the same C core the Python SDK's peers use.

Handlers take and return raw bytes, so these tests exercise the transport alone:
framing, flow control for messages larger than every window, statuses and trailing
metadata, cancellation, deadlines, compression and shutdown.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from gnomon.server.limits import Limits
from gnomon.server.transport import CallContext, GrpcServer

SERVICE = "test.Echo"
MIB = 1024 * 1024


class Handlers:
    def __init__(self) -> None:
        self.cancelled = asyncio.Event()
        self.remaining: list[float | None] = []

    async def echo(self, request: bytes, context: CallContext) -> bytes:
        return request

    async def grow(self, request: bytes, context: CallContext) -> bytes:
        return b"x" * int(request.decode())

    async def fail(self, request: bytes, context: CallContext) -> bytes:
        await context.abort(
            grpc.StatusCode.NOT_FOUND, "no such thing: «x»", trailing_metadata=(("detail-bin", b"\x00\x01\xff"),)
        )

    async def crash(self, request: bytes, context: CallContext) -> bytes:
        raise RuntimeError("boom")

    async def hang(self, request: bytes, context: CallContext) -> bytes:
        self.remaining.append(context.time_remaining())
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        return b""

    async def slow(self, request: bytes, context: CallContext) -> bytes:
        await asyncio.sleep(0.3)
        return b"done"

    def unimplemented(self, request: bytes, context: CallContext) -> bytes:
        # What a generated servicer's default method does (synchronously, like it).
        context.set_code(grpc.StatusCode.UNIMPLEMENTED)
        context.set_details("Method not implemented!")
        raise NotImplementedError("Method not implemented!")

    async def coded(self, request: bytes, context: CallContext) -> bytes:
        context.set_code(grpc.StatusCode.FAILED_PRECONDITION)
        if request:
            context.set_details(request.decode())
        return b"ignored"

    async def okay_then_crash(self, request: bytes, context: CallContext) -> bytes:
        context.set_code(grpc.StatusCode.OK)
        raise RuntimeError("boom")


@pytest.fixture
async def server() -> AsyncIterator[tuple[GrpcServer, Handlers, grpc.aio.Channel]]:
    handlers = Handlers()
    names = ["echo", "grow", "fail", "crash", "hang", "slow", "unimplemented", "coded", "okay_then_crash"]
    generic = grpc.method_handlers_generic_handler(
        SERVICE, {_method(n): grpc.unary_unary_rpc_method_handler(getattr(handlers, n)) for n in names}
    )
    grpc_server = GrpcServer(Limits(max_message_bytes=64 * MIB))
    grpc_server.add_generic_rpc_handlers((generic,))
    port = await grpc_server.start("127.0.0.1", 0)
    options = [("grpc.max_receive_message_length", 64 * MIB), ("grpc.max_send_message_length", 64 * MIB)]
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}", options=options)
    yield grpc_server, handlers, channel
    await channel.close()
    await grpc_server.stop(grace=0)


def _method(name: str) -> str:
    return "".join(word.capitalize() for word in name.split("_"))


def call(channel: grpc.aio.Channel, method: str) -> Any:
    return channel.unary_unary(f"/{SERVICE}/{method}")


async def test_small_calls_many_at_once(server: Any) -> None:
    _, _, channel = server
    payloads = [f"call {i}".encode() * (i % 7) for i in range(300)]
    assert await asyncio.gather(*(call(channel, "Echo")(p) for p in payloads)) == payloads


@pytest.mark.parametrize("size", [70_000, 3 * MIB, 20 * MIB])
async def test_messages_larger_than_frames_and_windows_both_ways(server: Any, size: int) -> None:
    _, _, channel = server
    payload = bytes(range(256)) * (size // 256)
    assert await call(channel, "Echo")(payload, timeout=30) == payload
    assert len(await call(channel, "Grow")(str(size).encode(), timeout=30)) == size


async def test_abort_carries_code_message_and_binary_trailing_metadata(server: Any) -> None:
    _, _, channel = server
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(channel, "Fail")(b"")
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert caught.value.details() == "no such thing: «x»"
    assert ("detail-bin", b"\x00\x01\xff") in tuple(caught.value.trailing_metadata())


async def test_unknown_method_is_unimplemented(server: Any) -> None:
    _, _, channel = server
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(channel, "Nope")(b"")
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert caught.value.details() == "unknown method Nope for service test.Echo"


async def test_handler_exception_is_internal_and_the_connection_survives(server: Any) -> None:
    _, _, channel = server
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(channel, "Crash")(b"")
    assert caught.value.code() == grpc.StatusCode.INTERNAL
    assert await call(channel, "Echo")(b"still here") == b"still here"


async def test_a_generated_default_method_answers_the_status_it_set(server: Any) -> None:
    _, _, channel = server
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(channel, "Unimplemented")(b"")
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert caught.value.details() == "Method not implemented!"


@pytest.mark.parametrize(("details", "expected"), [(b"not now", "not now"), (b"", "")])
async def test_a_status_set_before_returning_ends_the_call(server: Any, details: bytes, expected: str) -> None:
    _, _, channel = server
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(channel, "Coded")(details)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert caught.value.details() == expected


async def test_setting_ok_does_not_hide_a_crash(server: Any) -> None:
    _, _, channel = server
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(channel, "OkayThenCrash")(b"")
    assert caught.value.code() == grpc.StatusCode.INTERNAL


async def test_client_deadline_cancels_the_handler_and_is_visible_to_it(server: Any) -> None:
    _, handlers, channel = server
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call(channel, "Hang")(b"", timeout=0.5)
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    await asyncio.wait_for(handlers.cancelled.wait(), 5)
    # The client rounds its deadline into the grpc-timeout header, slightly up.
    assert handlers.remaining[0] is not None and 0 < handlers.remaining[0] <= 0.6


async def test_gzip_compressed_requests(server: Any) -> None:
    _, _, channel = server
    payload = b"compressible " * 10_000
    assert await call(channel, "Echo")(payload, compression=grpc.Compression.Gzip) == payload


async def test_stop_lets_calls_in_flight_finish(server: Any) -> None:
    grpc_server, _, channel = server
    in_flight = asyncio.ensure_future(call(channel, "Slow")(b""))
    await asyncio.sleep(0.1)
    await grpc_server.stop(grace=5)
    assert await in_flight == b"done"
