"""One client's HTTP/2 connection, serving gRPC unary calls (RFC 9113).

Every Temporal RPC is unary, so a stream is always: request headers, one
length-prefixed message, then the response headers, one message and the trailers.
That is all this class has to know about gRPC; the rest is plain HTTP/2: SETTINGS,
PING, flow control in both directions, CONTINUATION, padding, RST_STREAM and GOAWAY.

Receiving, Gnomon opens both windows to the maximum at once and tops the
connection window up as data arrives, so a client is never stalled by us. Sending,
it honours the client's windows and frame size: a response that fits goes out in
one write (headers, data and trailers together); a larger one waits for
WINDOW_UPDATEs.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Callable
from typing import Any, cast

from gnomon.server.transport import frames as f
from gnomon.server.transport.hpack_decoder import HeaderDecodeError, HeaderDecoder

logger = logging.getLogger(__name__)

# Top the connection's receive window up once this much has been consumed.
_WINDOW_REFILL = 2**30
# Our SETTINGS: the largest stream window, and frames of up to 1 MiB from clients.
_OUR_MAX_FRAME = 1 << 20
# A frame header: a 24-bit length (read as 16 + 8 bits), type, flags, stream id.
_FRAME_HEADER = struct.Struct(">HBBBI")
_OUR_SETTINGS = f.settings({f.SETTINGS_INITIAL_WINDOW_SIZE: f.MAX_WINDOW, f.SETTINGS_MAX_FRAME_SIZE: _OUR_MAX_FRAME})


class ProtocolError(Exception):
    """The peer broke HTTP/2; the connection is closed with GOAWAY."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class Stream:
    """One call: its request as it arrives, then its response while it waits for window."""

    __slots__ = ("stream_id", "headers", "body", "task", "send_window", "pending", "trailers")

    def __init__(self, stream_id: int, headers: list[tuple[bytes, bytes]], send_window: int) -> None:
        self.stream_id = stream_id
        self.headers = headers
        self.body = b""
        self.task: asyncio.Task[None] | None = None
        self.send_window = send_window
        self.pending: memoryview | None = None
        self.trailers = b""

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None


RequestHandler = Callable[["Connection", Stream], "asyncio.Task[None]"]


class Connection(asyncio.Protocol):
    """The server side of one HTTP/2 connection."""

    def __init__(self, on_request: RequestHandler, on_close: Callable[[Connection], None]) -> None:
        self._on_request = on_request
        self._on_close = on_close
        self._transport: asyncio.Transport | None = None
        # Frames written during one event-loop iteration go out in one send (see _write).
        self._outbox: list[bytes] = []
        self._loop = asyncio.get_running_loop()
        self._buffer = bytearray()
        self._preface_seen = False
        self._decoder = HeaderDecoder()
        self._streams: dict[int, Stream] = {}
        self._last_stream_id = 0
        self._continuation: tuple[int, bool, bytearray] | None = None
        self._send_window = f.DEFAULT_WINDOW
        self._peer_initial_window = f.DEFAULT_WINDOW
        self._peer_max_frame = f.DEFAULT_MAX_FRAME
        self._received = 0
        self._blocked: dict[int, Stream] = {}
        self._going_away = False
        self.closed = self._loop.create_future()

    # ---- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # a stream server's transport
        self._write(_OUR_SETTINGS + f.window_update(0, f.MAX_WINDOW - f.DEFAULT_WINDOW))

    def connection_lost(self, exc: Exception | None) -> None:
        for stream in self._streams.values():
            if stream.task is not None:
                stream.task.cancel()
        self._streams.clear()
        self._blocked.clear()
        self._transport = None
        if not self.closed.done():
            self.closed.set_result(None)
        self._on_close(self)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        try:
            if not self._preface_seen:
                if len(buffer) < len(f.PREFACE):
                    return
                if not buffer.startswith(f.PREFACE):
                    raise ProtocolError(f.PROTOCOL_ERROR, "not an HTTP/2 connection preface")
                del buffer[: len(f.PREFACE)]
                self._preface_seen = True
            self._read_frames(buffer)
        except ProtocolError as error:
            logger.warning("closing HTTP/2 connection: %s", error, extra={"peer": self.peer()})
            self._close_with(error.code, str(error))
        except HeaderDecodeError as error:
            logger.warning("closing HTTP/2 connection: bad header block: %s", error, extra={"peer": self.peer()})
            self._close_with(f.COMPRESSION_ERROR, "bad header block")

    # ---- frames in

    def _read_frames(self, buffer: bytearray) -> None:
        position = 0
        size = len(buffer)
        unpack = _FRAME_HEADER.unpack_from
        while size - position >= 9:
            length_high, length_low, kind, flags, stream_id = unpack(buffer, position)
            length = length_high << 8 | length_low
            if length > _OUR_MAX_FRAME:
                raise ProtocolError(f.FRAME_SIZE_ERROR, f"frame of {length} bytes exceeds {_OUR_MAX_FRAME}")
            end = position + 9 + length
            if end > size:
                break
            stream_id &= 0x7FFFFFFF
            payload = bytes(buffer[position + 9 : end])
            position = end
            if self._continuation is not None and kind != f.CONTINUATION:
                raise ProtocolError(f.PROTOCOL_ERROR, "expected CONTINUATION")
            if kind == f.DATA:
                self._on_data(stream_id, flags, payload)
            elif kind == f.HEADERS:
                self._on_headers_frame(stream_id, flags, payload)
            elif kind == f.WINDOW_UPDATE:
                self._on_window_update(stream_id, payload)
            elif kind == f.PING:
                if not flags & f.FLAG_ACK:
                    self._write(f.frame(f.PING, f.FLAG_ACK, 0, payload))
            elif kind == f.SETTINGS:
                if not flags & f.FLAG_ACK:
                    self._on_settings(payload)
            elif kind == f.CONTINUATION:
                self._on_continuation(stream_id, flags, payload)
            elif kind == f.RST_STREAM:
                self._on_reset(stream_id)
            elif kind == f.GOAWAY:
                self._going_away = True
            elif kind == f.PUSH_PROMISE:
                raise ProtocolError(f.PROTOCOL_ERROR, "clients must not push")
            # PRIORITY and unknown frame types are ignored, as the RFC requires.
        if position:
            del buffer[:position]

    def _on_headers_frame(self, stream_id: int, flags: int, payload: bytes) -> None:
        if stream_id == 0:
            raise ProtocolError(f.PROTOCOL_ERROR, "HEADERS on stream 0")
        payload = _strip_padding(flags, payload)
        if flags & f.FLAG_PRIORITY:
            payload = payload[5:]
        end_stream = bool(flags & f.FLAG_END_STREAM)
        if flags & f.FLAG_END_HEADERS:
            self._on_headers(stream_id, payload, end_stream)
        else:
            self._continuation = (stream_id, end_stream, bytearray(payload))

    def _on_continuation(self, stream_id: int, flags: int, payload: bytes) -> None:
        if self._continuation is None or self._continuation[0] != stream_id:
            raise ProtocolError(f.PROTOCOL_ERROR, "unexpected CONTINUATION")
        self._continuation[2].extend(payload)
        if flags & f.FLAG_END_HEADERS:
            _, end_stream, block = self._continuation
            self._continuation = None
            self._on_headers(stream_id, bytes(block), end_stream)

    def _on_headers(self, stream_id: int, block: bytes, end_stream: bool) -> None:
        # Every block must be decoded, even for a refused stream: it updates the HPACK table.
        headers = self._decoder.decode(block)
        stream = self._streams.get(stream_id)
        if stream is None:
            if stream_id <= self._last_stream_id or stream_id % 2 == 0:
                return  # trailers of a stream already answered, or not client-initiated
            self._last_stream_id = stream_id
            if self._going_away:
                self._write(f.rst_stream(stream_id, f.REFUSED_STREAM))
                return
            stream = Stream(stream_id, headers, self._peer_initial_window)
            self._streams[stream_id] = stream
        if end_stream:
            self._dispatch(stream)

    def _on_data(self, stream_id: int, flags: int, payload: bytes) -> None:
        self._received += len(payload)
        if self._received >= _WINDOW_REFILL:
            self._write(f.window_update(0, self._received))
            self._received = 0
        stream = self._streams.get(stream_id)
        if stream is None or stream.task is not None:
            return  # a stream that was reset or already complete
        payload = _strip_padding(flags, payload)
        stream.body = stream.body + payload if stream.body else payload
        if flags & f.FLAG_END_STREAM:
            self._dispatch(stream)

    def _dispatch(self, stream: Stream) -> None:
        if stream.task is None:
            stream.task = self._on_request(self, stream)

    def _on_window_update(self, stream_id: int, payload: bytes) -> None:
        increment = int.from_bytes(payload[:4], "big") & 0x7FFFFFFF
        if stream_id == 0:
            self._send_window += increment
            if self._send_window > f.MAX_WINDOW:
                raise ProtocolError(f.FLOW_CONTROL_ERROR, "connection window overflow")
            for stream in list(self._blocked.values()):
                self._flush(stream)
        else:
            target = self._streams.get(stream_id)
            if target is not None:
                target.send_window += increment
                if target.pending is not None:
                    self._flush(target)

    def _on_settings(self, payload: bytes) -> None:
        if len(payload) % 6:
            raise ProtocolError(f.FRAME_SIZE_ERROR, "SETTINGS length not a multiple of 6")
        for offset in range(0, len(payload), 6):
            key = int.from_bytes(payload[offset : offset + 2], "big")
            value = int.from_bytes(payload[offset + 2 : offset + 6], "big")
            if key == f.SETTINGS_INITIAL_WINDOW_SIZE:
                if value > f.MAX_WINDOW:
                    raise ProtocolError(f.FLOW_CONTROL_ERROR, "initial window too large")
                delta = value - self._peer_initial_window
                self._peer_initial_window = value
                for stream in self._streams.values():
                    stream.send_window += delta
            elif key == f.SETTINGS_MAX_FRAME_SIZE:
                self._peer_max_frame = value
        self._write(f.frame(f.SETTINGS, f.FLAG_ACK, 0))
        for stream in list(self._blocked.values()):
            self._flush(stream)

    def _on_reset(self, stream_id: int) -> None:
        stream = self._streams.pop(stream_id, None)
        if stream is None:
            return
        self._blocked.pop(stream_id, None)
        if stream.task is not None:
            stream.task.cancel()

    # ---- frames out

    def respond(self, stream: Stream, message: bytes) -> None:
        """Send a successful response: headers, the length-prefixed message, OK trailers."""
        if self._streams.get(stream.stream_id) is not stream or self._transport is None:
            return  # reset by the client, or the connection is gone
        stream_id = stream.stream_id
        size = len(message) + 5  # the DATA payload: gRPC's 5-byte prefix, then the message
        if size <= self._send_window and size <= stream.send_window and size <= self._peer_max_frame:
            self._send_window -= size
            self._write(
                _RESPONSE_HEAD.pack(
                    _HEADERS_PREFIX, stream_id, f.RESPONSE_HEADERS, size << 8 | f.DATA, 0, stream_id, 0, size - 5
                )
                + message
                + _RESPONSE_TAIL.pack(_TRAILERS_PREFIX, stream_id, f.OK_TRAILERS)
            )
            del self._streams[stream_id]
            return
        self._write(f.frame(f.HEADERS, f.FLAG_END_HEADERS, stream_id, f.RESPONSE_HEADERS))
        stream.pending = memoryview(b"\x00" + (size - 5).to_bytes(4, "big") + message)
        stream.trailers = f.OK_TRAILERS
        self._flush(stream)

    def fail(self, stream: Stream, status_block: bytes) -> None:
        """End the call with a status and no message ("Trailers-Only")."""
        if self._streams.pop(stream.stream_id, None) is not stream or self._transport is None:
            return
        self._blocked.pop(stream.stream_id, None)
        self._write(f.frame(f.HEADERS, _END, stream.stream_id, f.RESPONSE_HEADERS + status_block))

    def _flush(self, stream: Stream) -> None:
        pending = stream.pending
        assert pending is not None
        sent = 0
        while sent < len(pending):
            chunk = min(len(pending) - sent, self._send_window, stream.send_window, self._peer_max_frame)
            if chunk <= 0:
                break
            self._write(f.frame(f.DATA, 0, stream.stream_id, bytes(pending[sent : sent + chunk])))
            self._send_window -= chunk
            stream.send_window -= chunk
            sent += chunk
        stream.pending = pending[sent:]
        if len(stream.pending):
            self._blocked[stream.stream_id] = stream
            return
        self._blocked.pop(stream.stream_id, None)
        stream.pending = None
        self._write(f.frame(f.HEADERS, _END, stream.stream_id, stream.trailers))
        self._streams.pop(stream.stream_id, None)

    def _write(self, data: bytes) -> None:
        # A group commit answers many calls in one loop iteration; sending their frames
        # together costs one system call instead of one per call.
        if self._transport is None:
            return
        if not self._outbox:
            self._loop.call_soon(self._send_outbox)
        self._outbox.append(data)

    def _send_outbox(self) -> None:
        if self._transport is not None and self._outbox:
            self._transport.write(b"".join(self._outbox))
        self._outbox.clear()

    # ---- lifecycle

    @property
    def active_streams(self) -> int:
        return len(self._streams)

    def go_away(self) -> None:
        """Tell the client no new calls will be taken; calls already begun may finish."""
        if not self._going_away:
            self._going_away = True
            self._write(f.goaway(self._last_stream_id, f.NO_ERROR))

    def close(self) -> None:
        if self._transport is not None:
            self._send_outbox()
            self._transport.close()

    def _close_with(self, code: int, message: str) -> None:
        self._write(f.goaway(self._last_stream_id, code, message.encode()))
        self.close()

    def peer(self) -> Any:
        return self._transport.get_extra_info("peername") if self._transport is not None else None


_END = f.FLAG_END_STREAM | f.FLAG_END_HEADERS
# A response that fits the windows, in one write, packed around its stream id and sizes:
# the HEADERS frame (the constant response headers), the DATA frame's header with gRPC's
# message prefix (not compressed, 32-bit length), then the message, then the trailers.
_RESPONSE_HEAD = struct.Struct(f">5sI{len(f.RESPONSE_HEADERS)}sIBIBI")
_HEADERS_PREFIX = len(f.RESPONSE_HEADERS).to_bytes(3, "big") + bytes((f.HEADERS, f.FLAG_END_HEADERS))
_RESPONSE_TAIL = struct.Struct(f">5sI{len(f.OK_TRAILERS)}s")
_TRAILERS_PREFIX = len(f.OK_TRAILERS).to_bytes(3, "big") + bytes((f.HEADERS, _END))


def _strip_padding(flags: int, payload: bytes) -> bytes:
    if not flags & f.FLAG_PADDED:
        return payload
    if not payload or payload[0] >= len(payload):
        raise ProtocolError(f.PROTOCOL_ERROR, "bad padding")
    return payload[1 : len(payload) - payload[0]]
