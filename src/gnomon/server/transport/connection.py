"""One client's HTTP/2 connection, serving gRPC unary calls (RFC 9113).

Every Temporal RPC is unary, so a stream is always: request headers, one
length-prefixed message, then the response headers, one message and the trailers.
That is all this class has to know about gRPC; the rest is plain HTTP/2: SETTINGS,
PING, flow control in both directions, CONTINUATION, padding, RST_STREAM and GOAWAY.

A client must not be able to make the server hold more than the :class:`Limits` allow,
nor wait forever on it, so:

- Receiving, the connection window is kept open (topped up as data arrives) while each
  stream's window is what bounds buffering: a new stream gets HTTP/2's default 64 KiB, and
  more only as its message needs and the connection's :class:`RequestBudget` allows. A
  message over the size limit is refused as soon as its gRPC prefix shows its size.
- Sending, a response that fits the client's windows goes out in one write (headers, data
  and trailers together); a larger one waits for WINDOW_UPDATEs. While the client leaves
  more than ``max_connection_unsent_bytes`` unread, new calls wait before they start (and
  reading stops if the socket itself backs up); at twice that, or after ``send_timeout``
  without progress, the connection is closed with GOAWAY ENHANCE_YOUR_CALM.
- A request that stalls for ``request_timeout`` is answered CANCELLED and reset.
- Every MUST of RFC 9113 that a client can break ends in the RST_STREAM or GOAWAY the RFC
  names, and any unexpected exception closes this connection (logged), never another.

The frame handlers share the stream table, the windows and the budget, so this one state
machine stays in one module, longer than most.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Callable
from typing import Any, cast

from gnomon.server.limits import Limits
from gnomon.server.transport import frames as f
from gnomon.server.transport.budget import RequestBudget
from gnomon.server.transport.hpack_decoder import HeaderDecodeError, HeaderDecoder, HeaderListTooLarge
from gnomon.server.transport.stream import Refusal, Stream

logger = logging.getLogger(__name__)

# Top the connection's receive window up once this much has been consumed.
_WINDOW_REFILL = 2**30
# Frames of up to 1 MiB from clients.
_OUR_MAX_FRAME = 1 << 20
# A frame header: a 24-bit length (read as 16 + 8 bits), type, flags, stream id.
_FRAME_HEADER = struct.Struct(">HBBBI")
# Streams this connection reset whose late frames are ignored, not answered (RFC 9113 5.1).
_RESET_MEMORY = 1024
# Seconds a connection closed for an error keeps reading (and dropping) what the client
# still sends: closing with its data unread would reset the connection, and a reset can
# destroy the GOAWAY before the client reads it.
_LINGER = 1.0
# A header block on the wire may be at most this many times the header list limit: no
# real encoding is larger than what it decodes to, and a bigger block only costs time.
_BLOCK_FACTOR = 2

_END = f.FLAG_END_STREAM | f.FLAG_END_HEADERS


class ProtocolError(Exception):
    """The peer broke HTTP/2; the connection is closed with GOAWAY."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


RequestHandler = Callable[["Connection", Stream], "asyncio.Task[None]"]


class Connection(asyncio.Protocol):
    """The server side of one HTTP/2 connection."""

    def __init__(self, on_request: RequestHandler, on_close: Callable[[Connection], None], limits: Limits) -> None:
        self._on_request = on_request
        self._on_close = on_close
        self._limits = limits
        self._max_unsent = limits.max_connection_unsent_bytes
        self._most_unsent = 2 * self._max_unsent  # past it, the connection is given up
        self._max_message = limits.max_message_bytes
        self._max_streams = limits.max_concurrent_streams
        self._max_block = _BLOCK_FACTOR * limits.max_header_list_bytes
        self._transport: asyncio.Transport | None = None
        # Frames written during one event-loop iteration go out in one send (see _write).
        self._outbox: list[bytes | memoryview] = []
        self._outbox_size = 0
        self._loop = asyncio.get_running_loop()
        # The loop's clock at the last sweep: timestamps need no more precision than the
        # sweeps that check them, and reading the clock per frame would cost every call.
        self._now = self._loop.time()
        self._buffer = bytearray()
        self._preface_seen = False
        self._decoder = HeaderDecoder(max_header_list_size=limits.max_header_list_bytes)
        self._streams: dict[int, Stream] = {}
        self._last_stream_id = 0
        self._reset_ids: dict[int, None] = {}
        self._continuation: tuple[int, bool, bool, bytearray] | None = None
        self._continuation_at = 0.0
        self._budget = RequestBudget(limits.max_connection_request_bytes)
        self._received = 0
        # Sending.
        self._send_window = f.DEFAULT_WINDOW
        self._peer_initial_window = f.DEFAULT_WINDOW
        self._peer_max_frame = f.DEFAULT_MAX_FRAME
        self._blocked: dict[int, Stream] = {}  # responses waiting for window
        self._unsent = 0  # their bytes
        self._deferred: list[Stream] = []  # calls received while the client was not reading
        self._writing_paused = False
        self._written = 0  # bytes handed to the transport, ever
        self._drained = 0  # of those, how many had left its buffer at the last sweep
        self._stalled_since = self._now
        self._going_away = False
        self._closing_since: float | None = None
        self.closed = self._loop.create_future()

    # ---- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # a stream server's transport
        self._transport.set_write_buffer_limits(high=self._max_unsent)
        settings = {
            f.SETTINGS_MAX_CONCURRENT_STREAMS: self._limits.max_concurrent_streams,
            f.SETTINGS_MAX_FRAME_SIZE: _OUR_MAX_FRAME,
            f.SETTINGS_MAX_HEADER_LIST_SIZE: self._limits.max_header_list_bytes,
        }
        self._write(f.settings(settings) + f.window_update(0, f.MAX_WINDOW - f.DEFAULT_WINDOW))

    def connection_lost(self, exc: Exception | None) -> None:
        for stream in self._streams.values():
            if stream.task is not None:
                stream.task.cancel()
        self._streams.clear()
        self._blocked.clear()
        self._budget.starved.clear()
        self._deferred.clear()
        self._transport = None
        if not self.closed.done():
            self.closed.set_result(None)
        self._on_close(self)

    def pause_writing(self) -> None:
        # The socket is backed up: read nothing more (no new calls, no PINGs to answer)
        # until the client reads. sweep() closes the connection if it never does.
        self._writing_paused = True
        if self._transport is not None and self._closing_since is None:
            self._transport.pause_reading()

    def resume_writing(self) -> None:
        self._writing_paused = False
        if self._transport is not None and self._closing_since is None:
            self._transport.resume_reading()
            self._start_deferred()

    def data_received(self, data: bytes) -> None:
        if self._closing_since is not None:
            return
        buffer = self._buffer
        buffer += data
        try:
            if not self._preface_seen and not self._read_preface(buffer):
                return
            self._read_frames(buffer)
        except ProtocolError as error:
            logger.warning("closing HTTP/2 connection from %s: %s", self.peer(), error)
            self._close_with(error.code, str(error))
        except HeaderDecodeError as error:
            logger.warning("closing HTTP/2 connection from %s: bad header block: %s", self.peer(), error)
            self._close_with(f.COMPRESSION_ERROR, "bad header block")
        except Exception:
            self._crash("reading frames")

    # ---- frames in

    def _read_preface(self, buffer: bytearray) -> bool:
        """Consume the client preface; RFC 9113 3.4 makes SETTINGS its first frame."""
        preface = len(f.PREFACE)
        if not f.PREFACE.startswith(bytes(buffer[:preface])):
            raise ProtocolError(f.PROTOCOL_ERROR, "not an HTTP/2 connection preface")
        if len(buffer) < preface + 9:
            return False
        if buffer[preface + 3] != f.SETTINGS or buffer[preface + 4] & f.FLAG_ACK:
            raise ProtocolError(f.PROTOCOL_ERROR, "the connection preface must be followed by SETTINGS")
        del buffer[:preface]
        self._preface_seen = True
        return True

    def _read_frames(self, buffer: bytearray) -> None:
        position = 0
        size = len(buffer)
        unpack = _FRAME_HEADER.unpack_from
        # Only an exception (a connection error) closes the connection while frames are read.
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
                self._on_ping(stream_id, flags, payload)
            elif kind == f.SETTINGS:
                self._on_settings(stream_id, flags, payload)
            elif kind == f.CONTINUATION:
                self._on_continuation(stream_id, flags, payload)
            elif kind == f.RST_STREAM:
                self._on_reset(stream_id, payload)
            elif kind == f.PRIORITY:
                self._on_priority(stream_id, payload)
            elif kind == f.GOAWAY:
                self._on_goaway(stream_id, payload)
            elif kind == f.PUSH_PROMISE:
                raise ProtocolError(f.PROTOCOL_ERROR, "clients must not push")
            # Unknown frame types are ignored, as the RFC requires.
        if position:
            del buffer[:position]

    def _on_headers_frame(self, stream_id: int, flags: int, payload: bytes) -> None:
        if stream_id == 0:
            raise ProtocolError(f.PROTOCOL_ERROR, "HEADERS on stream 0")
        if flags & f.FLAG_PADDED:
            payload = _strip_padding(payload)
        self_dependent = False
        if flags & f.FLAG_PRIORITY:
            if len(payload) < 5:
                raise ProtocolError(f.FRAME_SIZE_ERROR, "HEADERS too short for its priority")
            self_dependent = int.from_bytes(payload[:4], "big") & 0x7FFFFFFF == stream_id
            payload = payload[5:]
        if len(payload) > self._max_block:
            raise ProtocolError(f.ENHANCE_YOUR_CALM, f"header block larger than {self._max_block} bytes")
        end_stream = bool(flags & f.FLAG_END_STREAM)
        if flags & f.FLAG_END_HEADERS:
            self._on_headers(stream_id, payload, end_stream, self_dependent)
        else:
            self._continuation = (stream_id, end_stream, self_dependent, bytearray(payload))
            self._continuation_at = self._now

    def _on_continuation(self, stream_id: int, flags: int, payload: bytes) -> None:
        if self._continuation is None or self._continuation[0] != stream_id:
            raise ProtocolError(f.PROTOCOL_ERROR, "unexpected CONTINUATION")
        _, end_stream, self_dependent, block = self._continuation
        block += payload
        if len(block) > self._max_block:
            raise ProtocolError(f.ENHANCE_YOUR_CALM, f"header block larger than {self._max_block} bytes")
        if flags & f.FLAG_END_HEADERS:
            self._continuation = None
            self._on_headers(stream_id, bytes(block), end_stream, self_dependent)

    def _on_headers(self, stream_id: int, block: bytes, end_stream: bool, self_dependent: bool) -> None:
        # Every block must be decoded, even for a refused stream: it updates the HPACK table.
        too_large: HeaderListTooLarge | None = None
        try:
            headers = self._decoder.decode(block)
        except HeaderListTooLarge as error:
            headers, too_large = [], error
        stream = self._streams.get(stream_id)
        if stream is not None:  # a second block on an open stream: trailers
            if stream.complete:
                self._reset(stream_id, f.STREAM_CLOSED, "HEADERS after END_STREAM")
            elif not end_stream:
                self._reset(stream_id, f.PROTOCOL_ERROR, "trailers without END_STREAM")
            else:
                self._received_request(stream)
            return
        if stream_id % 2 == 0:
            raise ProtocolError(f.PROTOCOL_ERROR, f"HEADERS on stream {stream_id}, which clients cannot open")
        if stream_id <= self._last_stream_id:
            if stream_id in self._reset_ids:
                return  # sent before the client saw our RST_STREAM
            raise ProtocolError(f.PROTOCOL_ERROR, f"HEADERS on closed stream {stream_id}")
        self._last_stream_id = stream_id
        if self_dependent:
            self._reset(stream_id, f.PROTOCOL_ERROR, "stream depends on itself")
        elif self._going_away:
            self._reset(stream_id, f.REFUSED_STREAM, "server going away")
        elif len(self._streams) >= self._max_streams:
            self._reset(stream_id, f.REFUSED_STREAM, "too many concurrent streams")
        else:
            stream = Stream(stream_id, headers, self._peer_initial_window, self._now)
            self._streams[stream_id] = stream
            if too_large is not None:
                stream.complete = end_stream
                self._reject(stream, f.STATUS_RESOURCE_EXHAUSTED, str(too_large))
            elif end_stream:
                self._received_request(stream)

    def _on_data(self, stream_id: int, flags: int, payload: bytes) -> None:
        size = len(payload)  # padding counts against flow control too
        received = self._received + size
        if received >= _WINDOW_REFILL:
            self._write(f.window_update(0, received))
            received = 0
        self._received = received
        stream = self._streams.get(stream_id)
        if stream is None or stream.complete:
            self._on_data_elsewhere(stream_id, stream)
            return
        if flags & f.FLAG_PADDED:
            payload = _strip_padding(payload)
        stream.recv_window -= size
        if stream.recv_window < 0:
            self._reset(stream_id, f.FLOW_CONTROL_ERROR, "DATA beyond the stream's window")
            return
        if stream.body:
            stream.append(payload)
        else:
            stream.body = payload  # most requests are one DATA frame: no copy
        if flags & f.FLAG_END_STREAM:
            self._received_request(stream)
        else:
            self._received_part(stream)

    def _on_data_elsewhere(self, stream_id: int, stream: Stream | None) -> None:
        """DATA on a stream that is not receiving (RFC 9113 5.1 and 6.1)."""
        if stream_id == 0:
            raise ProtocolError(f.PROTOCOL_ERROR, "DATA on stream 0")
        if stream is None and stream_id > self._last_stream_id:
            raise ProtocolError(f.PROTOCOL_ERROR, f"DATA on idle stream {stream_id}")
        if stream is None and stream_id in self._reset_ids:
            return
        self._reset(stream_id, f.STREAM_CLOSED, "DATA after END_STREAM")

    def _received_part(self, stream: Stream) -> None:
        """Part of a request body arrived: check it against the limits, grant the window it needs."""
        try:
            stream.check_prefix(self._max_message)
        except Refusal as refusal:
            self._reject(stream, refusal.code, refusal.message)
            return
        stream.active_at = self._now
        if not stream.reserved:
            self._budget.opened(stream)
        increment = self._budget.grant(stream, self._oldest_arriving)
        if increment:
            self._granted(stream, increment)

    def _received_request(self, stream: Stream) -> None:
        """END_STREAM: the request is whole. Check its one message, then start the call."""
        stream.complete = True
        try:
            size = stream.take_message(self._max_message)
        except Refusal as refusal:
            if stream.reserved:
                self._budget.arrived(stream, 0)
            self._reject(stream, refusal.code, refusal.message)
            return
        if stream.reserved:  # a request that took more than one frame
            self._budget.arrived(stream, size)
            if self._budget.starved:  # the window it reserved and did not use is free again
                self._regrant()
        if self._unsent > self._max_unsent or self._writing_paused:
            self._deferred.append(stream)
        else:
            stream.task = self._on_request(self, stream)

    def _granted(self, stream: Stream, increment: int) -> None:
        stream.active_at = self._now
        self._write(f.window_update(stream.stream_id, increment))

    def _regrant(self) -> None:
        for stream, increment in self._budget.regrants(self._oldest_arriving):
            self._granted(stream, increment)

    def _oldest_arriving(self) -> Stream | None:
        # Streams are kept in the order they opened, which is the order of their ids.
        return next((stream for stream in self._streams.values() if not stream.complete), None)

    def _on_window_update(self, stream_id: int, payload: bytes) -> None:
        if len(payload) != 4:
            raise ProtocolError(f.FRAME_SIZE_ERROR, f"WINDOW_UPDATE of {len(payload)} bytes")
        increment = int.from_bytes(payload, "big") & 0x7FFFFFFF
        if stream_id == 0:
            if increment == 0:
                raise ProtocolError(f.PROTOCOL_ERROR, "WINDOW_UPDATE of 0 on the connection")
            self._send_window += increment
            if self._send_window > f.MAX_WINDOW:
                raise ProtocolError(f.FLOW_CONTROL_ERROR, "connection window overflow")
            for stream in list(self._blocked.values()):
                self._flush(stream)
        else:
            target = self._streams.get(stream_id)
            if target is None:
                if stream_id > self._last_stream_id:
                    raise ProtocolError(f.PROTOCOL_ERROR, f"WINDOW_UPDATE on idle stream {stream_id}")
                return  # the stream closed while the update was on its way
            if increment == 0:
                self._reset(stream_id, f.PROTOCOL_ERROR, "WINDOW_UPDATE of 0")
                return
            target.send_window += increment
            if target.send_window > f.MAX_WINDOW:
                self._reset(stream_id, f.FLOW_CONTROL_ERROR, "stream window overflow")
                return
            if target.pending is not None:
                self._flush(target)
        self._start_deferred()

    def _on_ping(self, stream_id: int, flags: int, payload: bytes) -> None:
        if stream_id != 0:
            raise ProtocolError(f.PROTOCOL_ERROR, "PING on a stream")
        if len(payload) != 8:
            raise ProtocolError(f.FRAME_SIZE_ERROR, f"PING of {len(payload)} bytes")
        if not flags & f.FLAG_ACK:
            self._write(f.frame(f.PING, f.FLAG_ACK, 0, payload))

    def _on_settings(self, stream_id: int, flags: int, payload: bytes) -> None:
        if stream_id != 0:
            raise ProtocolError(f.PROTOCOL_ERROR, "SETTINGS on a stream")
        if flags & f.FLAG_ACK:
            if payload:
                raise ProtocolError(f.FRAME_SIZE_ERROR, "SETTINGS acknowledgement with a payload")
            return
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
                    if stream.send_window > f.MAX_WINDOW:
                        raise ProtocolError(f.FLOW_CONTROL_ERROR, "stream window overflow")
            elif key == f.SETTINGS_MAX_FRAME_SIZE:
                if not f.DEFAULT_MAX_FRAME <= value <= f.LARGEST_MAX_FRAME:
                    raise ProtocolError(f.PROTOCOL_ERROR, f"SETTINGS_MAX_FRAME_SIZE of {value}")
                self._peer_max_frame = value
            elif key == f.SETTINGS_ENABLE_PUSH and value > 1:
                raise ProtocolError(f.PROTOCOL_ERROR, f"SETTINGS_ENABLE_PUSH of {value}")
        self._write(f.frame(f.SETTINGS, f.FLAG_ACK, 0))
        for stream in list(self._blocked.values()):
            self._flush(stream)
        self._start_deferred()

    def _on_reset(self, stream_id: int, payload: bytes) -> None:
        if stream_id == 0:
            raise ProtocolError(f.PROTOCOL_ERROR, "RST_STREAM on stream 0")
        if len(payload) != 4:
            raise ProtocolError(f.FRAME_SIZE_ERROR, f"RST_STREAM of {len(payload)} bytes")
        if stream_id > self._last_stream_id:
            raise ProtocolError(f.PROTOCOL_ERROR, f"RST_STREAM on idle stream {stream_id}")
        stream = self._streams.get(stream_id)
        if stream is not None:
            self._forget(stream)

    def _on_priority(self, stream_id: int, payload: bytes) -> None:
        # Priorities are not acted on (RFC 9113 deprecates them), but still checked.
        if stream_id == 0:
            raise ProtocolError(f.PROTOCOL_ERROR, "PRIORITY on stream 0")
        if len(payload) != 5:
            self._reset(stream_id, f.FRAME_SIZE_ERROR, f"PRIORITY of {len(payload)} bytes")
        elif int.from_bytes(payload[:4], "big") & 0x7FFFFFFF == stream_id:
            self._reset(stream_id, f.PROTOCOL_ERROR, "stream depends on itself")

    def _on_goaway(self, stream_id: int, payload: bytes) -> None:
        if stream_id != 0:
            raise ProtocolError(f.PROTOCOL_ERROR, "GOAWAY on a stream")
        if len(payload) < 8:
            raise ProtocolError(f.FRAME_SIZE_ERROR, f"GOAWAY of {len(payload)} bytes")
        code = int.from_bytes(payload[4:8], "big")
        if code != f.NO_ERROR:
            logger.info("HTTP/2 client %s going away with error %d: %r", self.peer(), code, payload[8:200])

    # ---- refusing streams

    def _reset(self, stream_id: int, code: int, reason: str) -> None:
        """A stream error: RST_STREAM, and the stream (if open) is forgotten."""
        if stream_id > self._last_stream_id:
            # RST_STREAM must not be sent on an idle stream: a connection error instead.
            raise ProtocolError(code, f"{reason} (stream {stream_id})")
        logger.info("resetting stream %d from %s with error %d: %s", stream_id, self.peer(), code, reason)
        self._write(f.rst_stream(stream_id, code))
        self._remember_reset(stream_id)
        stream = self._streams.get(stream_id)
        if stream is not None:
            self._forget(stream)

    def _reject(self, stream: Stream, code: int, message: str) -> None:
        """End a call before it starts, with a gRPC status; stop its request if still arriving."""
        logger.info("refusing the call on stream %d from %s: %s", stream.stream_id, self.peer(), message)
        arriving = not stream.complete
        self._forget(stream)
        block = f.RESPONSE_HEADERS + f.status_block(code, message)
        self._write(f.header_frames(_END, stream.stream_id, block, self._peer_max_frame))
        if arriving:  # RFC 9113 8.1: a complete response, then NO_ERROR asks the client to stop
            self._write(f.rst_stream(stream.stream_id, f.NO_ERROR))
            self._remember_reset(stream.stream_id)

    def _remember_reset(self, stream_id: int) -> None:
        reset_ids = self._reset_ids
        reset_ids[stream_id] = None
        if len(reset_ids) > _RESET_MEMORY:
            del reset_ids[next(iter(reset_ids))]

    def _forget(self, stream: Stream) -> None:
        """Drop a stream and everything it holds: its budget, unsent response and running call."""
        stream_id = stream.stream_id
        if self._streams.pop(stream_id, None) is not stream:
            return
        if stream.reserved:
            self._budget.released(stream)
        if self._blocked.pop(stream_id, None) is not None and stream.pending is not None:
            self._unsent -= len(stream.pending)
        stream.pending = None
        if stream in self._deferred:
            self._deferred.remove(stream)
        if stream.task is not None:
            stream.task.cancel()
        if self._budget.starved:
            self._regrant()

    # ---- frames out

    def respond(self, stream: Stream, message: bytes) -> None:
        """Send a successful response: headers, the length-prefixed message, OK trailers."""
        if self._streams.get(stream.stream_id) is not stream or self._closing_since is not None:
            return  # reset by the client, or the connection is going
        stream_id = stream.stream_id
        size = len(message) + 5  # the DATA payload: gRPC's 5-byte prefix, then the message
        if self._unsent + self._outbox_size > self._most_unsent or self._writing_paused:
            # Responses of calls that were running when the client stopped reading keep
            # coming; once what is queued is twice the limit, holding more helps nobody.
            queued = self._unsent + self._outbox_size + self._transport_backlog()
            if queued > self._most_unsent:
                self._give_up_on_reader(f"{queued} response bytes unread")
                return
        if size <= self._send_window and size <= stream.send_window and size <= self._peer_max_frame:
            self._send_window -= size
            self._write(
                _RESPONSE_HEAD.pack(
                    _HEADERS_PREFIX, stream_id, f.RESPONSE_HEADERS, size << 8 | f.DATA, 0, stream_id, 0, size - 5
                )
                + message
                + _RESPONSE_TAIL.pack(_TRAILERS_PREFIX, stream_id, f.OK_TRAILERS)
            )
            del self._streams[stream_id]  # _finished(), inlined for the common case
            if stream.reserved:
                self._release(stream)
            return
        self._write(f.frame(f.HEADERS, f.FLAG_END_HEADERS, stream_id, f.RESPONSE_HEADERS))
        stream.pending = memoryview(b"\x00" + (size - 5).to_bytes(4, "big") + message)
        self._unsent += size
        self._flush(stream)

    def fail(self, stream: Stream, status_block: bytes) -> None:
        """End the call with a status and no message ("Trailers-Only")."""
        if self._streams.get(stream.stream_id) is not stream or self._closing_since is not None:
            return
        if stream.pending is not None:  # a response already under way cannot become a failure
            self._close_with(f.INTERNAL_ERROR, "internal error")
            return
        self._write(f.header_frames(_END, stream.stream_id, f.RESPONSE_HEADERS + status_block, self._peer_max_frame))
        self._finished(stream)

    def _finished(self, stream: Stream) -> None:
        """The response has gone: release what the call held."""
        del self._streams[stream.stream_id]
        if stream.reserved:
            self._release(stream)

    def _release(self, stream: Stream) -> None:
        self._budget.released(stream)
        if self._budget.starved:
            self._regrant()

    def _flush(self, stream: Stream) -> None:
        pending = stream.pending
        assert pending is not None
        sent = 0
        while sent < len(pending):
            chunk = min(len(pending) - sent, self._send_window, stream.send_window, self._peer_max_frame)
            if chunk <= 0:
                break
            # The frame's header, then a view of the response: joined into the send, copied once.
            self._write(f.frame_header(f.DATA, 0, stream.stream_id, chunk))
            self._outbox.append(pending[sent : sent + chunk])
            self._outbox_size += chunk
            self._send_window -= chunk
            stream.send_window -= chunk
            sent += chunk
        self._unsent -= sent
        stream.pending = pending[sent:]
        if len(stream.pending):
            self._blocked[stream.stream_id] = stream
            return
        self._blocked.pop(stream.stream_id, None)
        stream.pending = None
        self._write(f.frame(f.HEADERS, _END, stream.stream_id, f.OK_TRAILERS))
        self._finished(stream)

    def _start_deferred(self) -> None:
        """Start the calls that arrived while the client was not reading, once it reads again."""
        while self._deferred and self._unsent <= self._max_unsent and not self._writing_paused:
            stream = self._deferred.pop(0)
            stream.task = self._on_request(self, stream)

    def _write(self, data: bytes) -> None:
        # A group commit answers many calls in one loop iteration; sending their frames
        # together costs one system call instead of one per call.
        if self._transport is None:
            return
        if not self._outbox:
            self._loop.call_soon(self._send_outbox)
        self._outbox.append(data)
        self._outbox_size += len(data)

    def _send_outbox(self) -> None:
        outbox = self._outbox
        if self._transport is not None and self._closing_since is None and outbox:
            self._written += self._outbox_size
            self._transport.write(b"".join(outbox))
        outbox.clear()
        self._outbox_size = 0

    def _transport_backlog(self) -> int:
        """Bytes the socket has not taken yet (only worth asking once it has backed up)."""
        if self._transport is None or not self._writing_paused:
            return 0
        return self._transport.get_write_buffer_size()

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
        """Close once what was written has been sent (see sweep() for a client that never reads it)."""
        if self._transport is not None:
            self._send_outbox()
            self._transport.close()
            if self._closing_since is None:
                self._closing_since = self._now

    def sweep(self, now: float, interval: float) -> None:
        """Called every ``interval`` seconds: enforce the timeouts. Never raises."""
        self._now = now
        if self._transport is None:
            return
        try:
            self._sweep(now, interval)
        except Exception:
            self._crash("checking timeouts")

    def _sweep(self, now: float, interval: float) -> None:
        assert self._transport is not None
        limits = self._limits
        if self._closing_since is not None:
            closing = now - self._closing_since
            if closing > _LINGER and (not self._transport.get_write_buffer_size() or closing > limits.send_timeout):
                self._transport.abort()  # all sent, or a client that will not read the rest either
            return
        if self._continuation is not None and now - self._continuation_at > limits.request_timeout + interval:
            logger.warning("closing HTTP/2 connection from %s: header block not finished in time", self.peer())
            self._close_with(f.ENHANCE_YOUR_CALM, "header block not finished in time")
            return
        # A request waiting for window the budget withholds is not the client's delay.
        late = [
            stream
            for stream in self._streams.values()
            if not stream.complete
            and now - stream.active_at > limits.request_timeout + interval  # stamped up to one sweep early
            and stream.stream_id not in self._budget.starved
        ]
        for stream in late:
            message = f"request stalled for {limits.request_timeout:g} s"
            self._reject(stream, f.STATUS_CANCELLED, message)
        drained = self._written - self._transport.get_write_buffer_size()
        if drained > self._drained or not (self._unsent > self._max_unsent or self._writing_paused):
            self._drained = drained
            self._stalled_since = now
        elif now - self._stalled_since > limits.send_timeout:
            self._give_up_on_reader(f"nothing read for {limits.send_timeout:g} s")

    def _give_up_on_reader(self, reason: str) -> None:
        logger.warning("closing HTTP/2 connection from %s: client not reading responses (%s)", self.peer(), reason)
        self._close_with(f.ENHANCE_YOUR_CALM, "client not reading responses")
        if self._transport is not None and self._transport.get_write_buffer_size():
            self._transport.abort()  # what it has not read, it will not read: drop it

    def _crash(self, doing: str) -> None:
        logger.exception("closing HTTP/2 connection from %s: internal error while %s", self.peer(), doing)
        self._close_with(f.INTERNAL_ERROR, "internal error")

    def _close_with(self, code: int, message: str) -> None:
        """GOAWAY, then close (RFC 9113 5.4.1): at once if the transport cannot half-close, else after _LINGER."""
        transport = self._transport
        if transport is None or self._closing_since is not None:
            return
        self._closing_since = self._now
        # Written here rather than by _send_outbox(), which writes nothing once closing.
        self._outbox.append(f.goaway(self._last_stream_id, code, message.encode()))
        transport.write(b"".join(self._outbox))
        self._outbox.clear()
        self._outbox_size = 0
        if transport.can_write_eof():
            transport.write_eof()
            if self._writing_paused:
                transport.resume_reading()  # to drop what comes, while lingering
        else:
            transport.close()

    def peer(self) -> Any:
        return self._transport.get_extra_info("peername") if self._transport is not None else None


# A response that fits the windows, in one write, packed around its stream id and sizes:
# the HEADERS frame (the constant response headers), the DATA frame's header with gRPC's
# message prefix (not compressed, 32-bit length), then the message, then the trailers.
_RESPONSE_HEAD = struct.Struct(f">5sI{len(f.RESPONSE_HEADERS)}sIBIBI")
_HEADERS_PREFIX = len(f.RESPONSE_HEADERS).to_bytes(3, "big") + bytes((f.HEADERS, f.FLAG_END_HEADERS))
_RESPONSE_TAIL = struct.Struct(f">5sI{len(f.OK_TRAILERS)}s")
_TRAILERS_PREFIX = len(f.OK_TRAILERS).to_bytes(3, "big") + bytes((f.HEADERS, _END))


def _strip_padding(payload: bytes) -> bytes:
    if not payload or payload[0] >= len(payload):
        raise ProtocolError(f.PROTOCOL_ERROR, "bad padding")
    return payload[1 : len(payload) - payload[0]]
