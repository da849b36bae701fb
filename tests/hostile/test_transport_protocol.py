"""HTTP/2 and gRPC framing a client can get wrong, and the answer RFC 9113 requires for each.

Every case runs on a fresh raw connection to the in-process server. A connection error
must end in GOAWAY with the RFC's code and a closed socket, and leave other connections
alone; a stream error must reset that stream only, and the connection must go on serving;
what the RFC says to ignore must be ignored. Section numbers are RFC 9113's.
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import grpc
import pytest

from gnomon.server.limits import KIB
from gnomon.server.transport import GrpcServer
from gnomon.server.transport import frames as f
from gnomon.server.transport.connection import Connection
from gnomon.server.transport.stream import Stream
from tests.hostile.conftest import STRICT, echo_answered, serve_in_process
from tests.hostile.rawh2 import RawH2, grpc_message

ECHO = b"/test.Echo/Echo"
HANG = b"/test.Echo/Hang"
MAX_WINDOW = 2**31 - 1

Build = Callable[[RawH2], Awaitable[Any]]


@dataclass(frozen=True)
class GoAway:
    """A connection error: GOAWAY with this code, then the connection closes."""

    code: int


@dataclass(frozen=True)
class Reset:
    """A stream error on the stream the builder returns: RST_STREAM with this code."""

    code: int


@dataclass(frozen=True)
class Status:
    """The call on the stream the builder returns ends with this gRPC status and message."""

    code: grpc.StatusCode
    message: str


@dataclass(frozen=True)
class Ignored:
    """Nothing happens: the connection goes on serving."""


# ---- builders: each sends its frames and returns the stream the outcome is about (if any)


def send(*frames: bytes) -> Build:
    async def build(client: RawH2) -> None:
        client.send(b"".join(frames))

    return build


async def hanging(client: RawH2) -> int:
    """A call whose handler is running: its stream is half-closed (remote)."""
    return client.request(HANG, b"")


async def answered(client: RawH2) -> int:
    """A call answered in full: its stream is closed."""
    stream_id = client.request(ECHO, b"done")
    response = await client.response(stream_id)
    assert response.status == 0
    return stream_id


def after(first: Build, *frames: Callable[[int], bytes]) -> Build:
    """Run ``first``, then send frames built for the stream it returned."""

    async def build(client: RawH2) -> int:
        stream_id = await first(client)
        client.send(b"".join(make(stream_id) for make in frames))
        return stream_id

    return build


def request(body: bytes, path: bytes = ECHO, extra: tuple[tuple[bytes, bytes], ...] = ()) -> Build:
    """One call: HEADERS, then ``body`` as one DATA frame with END_STREAM."""

    async def build(client: RawH2) -> int:
        stream_id = client.stream_id()
        data = f.frame(f.DATA, f.FLAG_END_STREAM, stream_id, body)
        client.send(client.headers_frame(stream_id, path, extra=extra) + data)
        return stream_id

    return build


async def backwards(client: RawH2) -> None:
    client.request(ECHO, b"", stream_id=5)
    client.request(ECHO, b"", stream_id=3)


async def closed_stream_headers(client: RawH2) -> None:
    stream_id = await answered(client)
    client.send(client.headers_frame(stream_id, ECHO, end_stream=True))


async def opened(client: RawH2) -> int:
    """A call whose request has begun (HEADERS without END_STREAM) and not ended."""
    stream_id = client.stream_id()
    client.send(client.headers_frame(stream_id, ECHO))
    return stream_id


async def even_stream(client: RawH2) -> None:
    client.request(ECHO, b"", stream_id=2)


async def headers_after_end_stream(client: RawH2) -> int:
    stream_id = await hanging(client)
    client.send(client.headers_frame(stream_id, ECHO, end_stream=True))
    return stream_id


async def open_headers(client: RawH2) -> int:
    """HEADERS without END_HEADERS: a header block left open."""
    stream_id = client.stream_id()
    client.send(f.frame(f.HEADERS, 0, stream_id, client.header_block(ECHO)))
    return stream_id


def then(first: Build, frame: bytes) -> Build:
    async def build(client: RawH2) -> None:
        await first(client)
        client.send(frame)

    return build


async def trailers_without_end_stream(client: RawH2) -> int:
    stream_id = client.stream_id()
    client.send(client.headers_frame(stream_id, ECHO) + client.headers_frame(stream_id, ECHO))
    return stream_id


async def beyond_window(client: RawH2) -> int:
    """One DATA frame larger than the 64 KiB a new stream may send unasked."""
    stream_id = client.stream_id()
    client.send(client.headers_frame(stream_id, ECHO) + f.frame(f.DATA, 0, stream_id, grpc_message(b"x" * 70_000)))
    return stream_id


async def self_dependent_headers(client: RawH2) -> int:
    stream_id = client.stream_id()
    block = stream_id.to_bytes(4, "big") + b"\x10" + client.header_block(ECHO)
    client.send(f.frame(f.HEADERS, f.FLAG_END_HEADERS | f.FLAG_PRIORITY, stream_id, block))
    return stream_id


async def late_frames_after_our_reset(client: RawH2) -> None:
    """A call refused at its prefix, whose client goes on sending before it sees the RST_STREAM."""
    stream_id = client.stream_id()
    too_large = (STRICT.max_message_bytes + 1).to_bytes(4, "big")
    client.send(client.headers_frame(stream_id, ECHO) + f.frame(f.DATA, 0, stream_id, b"\x00" + too_large))
    response = await client.response(stream_id)
    assert response.status == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
    reset = await client.until(f.RST_STREAM, stream_id)
    assert reset is not None and reset.error_code == f.NO_ERROR
    late = f.frame(f.DATA, 0, stream_id, b"x" * 100) + f.window_update(stream_id, 5) + f.rst_stream(stream_id, 8)
    client.send(late + client.headers_frame(stream_id, ECHO, end_stream=True))


async def padded_with_priority(client: RawH2) -> int:
    """Padding on HEADERS and DATA and priority fields on HEADERS: all allowed, all stripped."""
    stream_id = client.stream_id()
    block = b"\x03" + b"\x00\x00\x00\x00\x10" + client.header_block(ECHO) + b"\x00" * 3
    flags = f.FLAG_END_HEADERS | f.FLAG_PADDED | f.FLAG_PRIORITY
    data = b"\x02" + grpc_message(b"padded") + b"\x00\x00"
    client.send(
        f.frame(f.HEADERS, flags, stream_id, block)
        + f.frame(f.DATA, f.FLAG_PADDED | f.FLAG_END_STREAM, stream_id, data)
    )
    return stream_id


async def large_header_list(client: RawH2) -> int:
    """A header list over the 64 KiB limit, sent as HEADERS and CONTINUATIONs."""
    stream_id = client.stream_id()
    block = client.header_block(ECHO, extra=((b"x-big", b"v" * (STRICT.max_header_list_bytes + KIB)),))
    chunks = [block[i : i + 16_384] for i in range(0, len(block), 16_384)]
    frames = f.frame(f.HEADERS, 0, stream_id, chunks[0])
    for i, chunk in enumerate(chunks[1:], start=1):
        frames += f.frame(f.CONTINUATION, f.FLAG_END_HEADERS if i == len(chunks) - 1 else 0, stream_id, chunk)
    client.send(frames + f.frame(f.DATA, f.FLAG_END_STREAM, stream_id, grpc_message(b"x")))
    return stream_id


def raw_bytes(data: bytes) -> Build:
    async def build(client: RawH2) -> None:
        client.send(data)

    return build


PROTOCOL, FRAME_SIZE, FLOW, COMPRESSION, CLOSED = (
    f.PROTOCOL_ERROR,
    f.FRAME_SIZE_ERROR,
    f.FLOW_CONTROL_ERROR,
    f.COMPRESSION_ERROR,
    f.STREAM_CLOSED,
)
_HEADERS_END = f.FLAG_END_HEADERS | f.FLAG_END_STREAM

CASES: list[tuple[str, Build, Any]] = [
    # Connection errors (5.4.1).
    ("SETTINGS_MAX_FRAME_SIZE below 16384 (6.5.2)", send(f.settings({f.SETTINGS_MAX_FRAME_SIZE: 0})), GoAway(PROTOCOL)),
    (
        "SETTINGS_MAX_FRAME_SIZE above 2^24-1 (6.5.2)",
        send(f.settings({f.SETTINGS_MAX_FRAME_SIZE: 2**24})),
        GoAway(PROTOCOL),
    ),
    ("SETTINGS_ENABLE_PUSH of 2 (6.5.2)", send(f.settings({f.SETTINGS_ENABLE_PUSH: 2})), GoAway(PROTOCOL)),
    ("HEADERS on an even stream (5.1.1)", even_stream, GoAway(PROTOCOL)),
    ("stream ids going backwards (5.1.1)", backwards, GoAway(PROTOCOL)),
    ("HEADERS on a closed stream (5.1)", closed_stream_headers, GoAway(PROTOCOL)),
    ("DATA on stream 0 (6.1)", send(f.frame(f.DATA, 0, 0, b"abc")), GoAway(PROTOCOL)),
    ("DATA on an idle stream (5.1)", send(f.frame(f.DATA, 0, 5, b"abc")), GoAway(PROTOCOL)),
    ("HEADERS on stream 0 (6.2)", send(f.frame(f.HEADERS, _HEADERS_END, 0, b"\x82")), GoAway(PROTOCOL)),
    ("WINDOW_UPDATE of 0 on the connection (6.9)", send(f.window_update(0, 0)), GoAway(PROTOCOL)),
    ("WINDOW_UPDATE on an idle stream (5.1)", send(f.window_update(7, 5)), GoAway(PROTOCOL)),
    ("PING on a stream (6.7)", send(f.frame(f.PING, 0, 1, b"12345678")), GoAway(PROTOCOL)),
    ("SETTINGS on a stream (6.5)", send(f.frame(f.SETTINGS, 0, 1)), GoAway(PROTOCOL)),
    ("RST_STREAM on stream 0 (6.4)", send(f.rst_stream(0, 8)), GoAway(PROTOCOL)),
    ("RST_STREAM on an idle stream (6.4)", send(f.rst_stream(9, 8)), GoAway(PROTOCOL)),
    ("PRIORITY on stream 0 (6.3)", send(f.frame(f.PRIORITY, 0, 0, b"\x00\x00\x00\x03\x10")), GoAway(PROTOCOL)),
    (
        "self-dependent PRIORITY on an idle stream (5.3.1)",
        send(f.frame(f.PRIORITY, 0, 3, b"\x00\x00\x00\x03\x10")),
        GoAway(PROTOCOL),
    ),
    ("GOAWAY on a stream (6.8)", send(f.frame(f.GOAWAY, 0, 1, b"\x00" * 8)), GoAway(PROTOCOL)),
    (
        "CONTINUATION without HEADERS (6.10)",
        send(f.frame(f.CONTINUATION, f.FLAG_END_HEADERS, 1, b"\x82")),
        GoAway(PROTOCOL),
    ),
    ("PING inside a header block (6.10)", then(open_headers, f.frame(f.PING, 0, 0, b"12345678")), GoAway(PROTOCOL)),
    ("an unknown frame inside a header block (5.5)", then(open_headers, f.frame(0x42, 0, 0, b"x")), GoAway(PROTOCOL)),
    (
        "CONTINUATION on another stream (6.10)",
        then(open_headers, f.frame(f.CONTINUATION, 4, 3, b"\x82")),
        GoAway(PROTOCOL),
    ),
    ("PUSH_PROMISE from a client (8.4)", send(f.frame(f.PUSH_PROMISE, 4, 1, b"\x00\x00\x00\x02")), GoAway(PROTOCOL)),
    (
        "DATA padding longer than the frame (6.1)",
        after(opened, lambda s: f.frame(f.DATA, f.FLAG_PADDED, s, b"\x09abc")),
        GoAway(PROTOCOL),
    ),
    (
        "HEADERS padding longer than the frame (6.2)",
        send(f.frame(f.HEADERS, _HEADERS_END | f.FLAG_PADDED, 1, b"\x05\x82")),
        GoAway(PROTOCOL),
    ),
    (
        "a preface not followed by SETTINGS (3.4)",
        raw_bytes(f.PREFACE + f.frame(f.PING, 0, 0, b"12345678")),
        GoAway(PROTOCOL),
    ),
    ("not HTTP/2 at all (3.4)", raw_bytes(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"), GoAway(PROTOCOL)),
    (
        "a frame larger than SETTINGS_MAX_FRAME_SIZE (4.2)",
        send((2**20 + 1).to_bytes(3, "big") + b"\x00\x00\x00\x00\x00\x01"),
        GoAway(FRAME_SIZE),
    ),
    (
        "WINDOW_UPDATE of 5 bytes (6.9)",
        send(f.frame(f.WINDOW_UPDATE, 0, 0, b"\x00\x00\x00\x01\x00")),
        GoAway(FRAME_SIZE),
    ),
    ("PING of 7 bytes (6.7)", send(f.frame(f.PING, 0, 0, b"1234567")), GoAway(FRAME_SIZE)),
    (
        "SETTINGS acknowledgement with a payload (6.5)",
        send(f.frame(f.SETTINGS, f.FLAG_ACK, 0, b"\x00\x04\x00\x00\x00\x01")),
        GoAway(FRAME_SIZE),
    ),
    ("SETTINGS of 5 bytes (6.5)", send(f.frame(f.SETTINGS, 0, 0, b"\x00\x04\x00\x00\x00")), GoAway(FRAME_SIZE)),
    ("RST_STREAM of 3 bytes (6.4)", send(f.frame(f.RST_STREAM, 0, 1, b"\x00\x00\x00")), GoAway(FRAME_SIZE)),
    ("GOAWAY of 4 bytes (6.8)", send(f.frame(f.GOAWAY, 0, 0, b"\x00" * 4)), GoAway(FRAME_SIZE)),
    (
        "HEADERS too short for its priority (6.2)",
        send(f.frame(f.HEADERS, _HEADERS_END | f.FLAG_PRIORITY, 1, b"\x00\x00")),
        GoAway(FRAME_SIZE),
    ),
    ("connection window overflow (6.9.1)", send(f.window_update(0, MAX_WINDOW)), GoAway(FLOW)),
    (
        "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1 (6.5.2)",
        send(f.settings({f.SETTINGS_INITIAL_WINDOW_SIZE: 2**31})),
        GoAway(FLOW),
    ),
    (
        "SETTINGS_INITIAL_WINDOW_SIZE overflowing an open stream's window (6.9.2)",
        after(
            hanging,
            lambda s: f.window_update(s, MAX_WINDOW - f.DEFAULT_WINDOW),
            lambda s: f.settings({f.SETTINGS_INITIAL_WINDOW_SIZE: f.DEFAULT_WINDOW + 1}),
        ),
        GoAway(FLOW),
    ),
    ("a malformed header block (4.3)", send(f.frame(f.HEADERS, _HEADERS_END, 1, b"\x80")), GoAway(COMPRESSION)),
    (
        "a table size update after a header field (RFC 7541 4.2)",
        send(f.frame(f.HEADERS, _HEADERS_END, 1, b"\x82\x20")),
        GoAway(COMPRESSION),
    ),
    # Stream errors (5.4.2).
    ("stream window overflow (6.9.1)", after(hanging, lambda s: f.window_update(s, MAX_WINDOW)), Reset(FLOW)),
    ("WINDOW_UPDATE of 0 on a stream (6.9)", after(hanging, lambda s: f.window_update(s, 0)), Reset(PROTOCOL)),
    ("DATA beyond the stream's window (6.9.1)", beyond_window, Reset(FLOW)),
    ("DATA after END_STREAM (5.1)", after(hanging, lambda s: f.frame(f.DATA, 0, s, b"x")), Reset(CLOSED)),
    ("DATA on a stream already answered (6.1)", after(answered, lambda s: f.frame(f.DATA, 0, s, b"x")), Reset(CLOSED)),
    ("HEADERS after END_STREAM (5.1)", headers_after_end_stream, Reset(CLOSED)),
    ("trailers without END_STREAM (8.1)", trailers_without_end_stream, Reset(PROTOCOL)),
    (
        "PRIORITY of 4 bytes (6.3)",
        after(hanging, lambda s: f.frame(f.PRIORITY, 0, s, b"\x00\x00\x00\x00")),
        Reset(FRAME_SIZE),
    ),
    (
        "a PRIORITY making a stream depend on itself (5.3.1)",
        after(hanging, lambda s: f.frame(f.PRIORITY, 0, s, s.to_bytes(4, "big") + b"\x10")),
        Reset(PROTOCOL),
    ),
    ("HEADERS making a stream depend on itself (5.3.1)", self_dependent_headers, Reset(PROTOCOL)),
    # What must be ignored.
    ("an unknown frame type (5.5)", send(f.frame(0x42, 0, 0, b"hello") + f.frame(0x42, 0, 7, b"")), Ignored()),
    ("an unknown setting (6.5.2)", send(f.settings({0x99: 5})), Ignored()),
    ("PRIORITY on an idle stream (5.3)", send(f.frame(f.PRIORITY, 0, 99, b"\x00\x00\x00\x00\x10")), Ignored()),
    ("frames sent before the client saw our RST_STREAM (5.1)", late_frames_after_our_reset, Ignored()),
    (
        "WINDOW_UPDATE and RST_STREAM on an answered stream (5.1)",
        after(answered, lambda s: f.window_update(s, 9), lambda s: f.rst_stream(s, 8)),
        Ignored(),
    ),
    ("a GOAWAY from the client (6.8)", send(f.goaway(0, f.NO_ERROR)), Ignored()),
    # gRPC's own framing, answered with grpc-go's statuses and words.
    ("padding and priority where allowed (6.1, 6.2)", padded_with_priority, Status(grpc.StatusCode.OK, "")),
    (
        "a path that is not UTF-8",
        request(grpc_message(b"x"), path=b"/\xff\xfe/X"),
        Status(grpc.StatusCode.UNIMPLEMENTED, "unknown service \ufffd\ufffd"),
    ),
    (
        "a malformed method name",
        request(grpc_message(b"x"), path=b"bad"),
        Status(grpc.StatusCode.UNIMPLEMENTED, 'malformed method name: "bad"'),
    ),
    (
        "an unknown method",
        request(grpc_message(b"x"), path=b"/test.Echo/Nope"),
        Status(grpc.StatusCode.UNIMPLEMENTED, "unknown method Nope for service test.Echo"),
    ),
    (
        "no message",
        request(b""),
        Status(
            grpc.StatusCode.INTERNAL, "cardinality violation: received no request message from non-client-streaming RPC"
        ),
    ),
    (
        "two messages",
        request(grpc_message(b"a") + grpc_message(b"b")),
        Status(
            grpc.StatusCode.INTERNAL,
            "cardinality violation: received multiple request messages for non-client-streaming RPC",
        ),
    ),
    ("a truncated message", request(grpc_message(b"abc")[:-1]), Status(grpc.StatusCode.UNKNOWN, "unexpected EOF")),
    ("a truncated prefix", request(b"\x00\x00"), Status(grpc.StatusCode.UNKNOWN, "unexpected EOF")),
    (
        "an unknown payload format",
        request(b"\x02" + grpc_message(b"x")[1:]),
        Status(grpc.StatusCode.INTERNAL, "grpc: received unexpected payload format 2"),
    ),
    (
        "a compressed message without grpc-encoding",
        request(grpc_message(gzip.compress(b"x"), compressed=True)),
        Status(grpc.StatusCode.INTERNAL, "grpc: compressed flag set with identity or empty encoding"),
    ),
    (
        "an unknown grpc-encoding",
        request(grpc_message(b"x", compressed=True), extra=((b"grpc-encoding", b"br"),)),
        Status(grpc.StatusCode.UNIMPLEMENTED, 'grpc: Decompressor is not installed for grpc-encoding "br"'),
    ),
    (
        "gzip that is not gzip",
        request(grpc_message(b"not gzip", compressed=True), extra=((b"grpc-encoding", b"gzip"),)),
        Status(grpc.StatusCode.INTERNAL, "grpc: failed to decompress the message: "),
    ),
    ("a header list over the limit", large_header_list, Status(grpc.StatusCode.RESOURCE_EXHAUSTED, "header list of ")),
]


@pytest.mark.parametrize(("name", "build", "expected"), CASES, ids=[case[0] for case in CASES])
async def test_violation_gets_the_rfc_answer(in_process: Any, name: str, build: Build, expected: Any) -> None:
    _, _, address = in_process
    client = await RawH2.connect(address, preface=not name.startswith(("a preface", "not HTTP/2")))
    try:
        stream_id = await build(client)
        if isinstance(expected, GoAway):
            assert await client.goaway() == expected.code
            await echo_answered(address)  # other connections are untouched
            return
        if isinstance(expected, Reset):
            frame = await client.until(f.RST_STREAM, stream_id)
            assert frame is not None, "the connection closed instead"
            assert frame.error_code == expected.code
        elif isinstance(expected, Status):
            response = await client.response(stream_id)
            assert response.status == expected.code.value[0]
            assert unquote(response.message).startswith(expected.message)
            assert response.reset in (None, f.NO_ERROR)
        # The connection still serves calls.
        stream_id = client.request(ECHO, b"after")
        response = await client.response(stream_id)
        assert (response.status, response.data) == (0, grpc_message(b"after"))
        assert response.goaway is None
    finally:
        client.close()


class Exploding(GrpcServer):
    """A server whose call dispatch fails: an internal error inside connection handling."""

    def _on_request(self, connection: Connection, stream: Stream) -> Any:
        if stream.header(b":path") == b"/test.Echo/Explode":
            raise RuntimeError("injected")
        return super()._on_request(connection, stream)


async def test_an_internal_error_closes_only_its_connection(caplog: pytest.LogCaptureFixture) -> None:
    server, _, address = await serve_in_process(STRICT, Exploding)
    try:
        client = await RawH2.connect(address)
        with caplog.at_level(logging.ERROR, logger="gnomon.server.transport.connection"):
            client.request(b"/test.Echo/Explode", b"")
            assert await client.goaway() == f.INTERNAL_ERROR
        assert any("internal error" in record.message for record in caplog.records)
        await echo_answered(address)
    finally:
        await server.stop(grace=0)


async def test_ping_is_answered_with_its_payload(in_process: Any) -> None:
    client = await RawH2.connect(in_process[2])
    try:
        client.send(f.frame(f.PING, 0, 0, b"pingpong"))
        frame = await client.until(f.PING)
        assert frame is not None and frame.flags & f.FLAG_ACK and frame.payload == b"pingpong"
    finally:
        client.close()


async def test_settings_advertise_the_limits(in_process: Any) -> None:
    client = await RawH2.connect(in_process[2])
    try:
        frame = await client.until(f.SETTINGS)
        assert frame is not None
        settings = {
            int.from_bytes(frame.payload[i : i + 2], "big"): int.from_bytes(frame.payload[i + 2 : i + 6], "big")
            for i in range(0, len(frame.payload), 6)
        }
        assert settings[f.SETTINGS_MAX_CONCURRENT_STREAMS] == STRICT.max_concurrent_streams
        assert settings[f.SETTINGS_MAX_HEADER_LIST_SIZE] == STRICT.max_header_list_bytes
    finally:
        client.close()


async def test_a_header_block_left_open_is_ended_after_the_request_timeout(in_process: Any) -> None:
    client = await RawH2.connect(in_process[2])
    try:
        await open_headers(client)
        assert await client.goaway() == f.ENHANCE_YOUR_CALM
    finally:
        client.close()
