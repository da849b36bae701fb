"""A raw HTTP/2 client for hostile tests: it sends whatever frames a test builds, valid or not.

No HTTP/2 library would send a DATA frame on stream 0 or a PING of seven bytes, so frames are
built by hand (with the server's own frame encoder and ``hpack`` for header blocks) and the
server's frames are read back one by one.
"""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass, field

from hpack import Decoder, Encoder

from gnomon.server.transport import frames as f

_HEADER = struct.Struct(">HBBBI")


@dataclass(frozen=True)
class Frame:
    kind: int
    flags: int
    stream_id: int
    payload: bytes
    headers: tuple[tuple[str, str], ...] = ()  # a HEADERS frame's decoded fields

    @property
    def error_code(self) -> int:
        """The error code of a RST_STREAM or GOAWAY."""
        offset = 4 if self.kind == f.GOAWAY else 0
        return int.from_bytes(self.payload[offset : offset + 4], "big")


@dataclass
class Response:
    """What the server sent on one stream."""

    headers: list[tuple[str, str]] = field(default_factory=list)
    data: bytes = b""
    reset: int | None = None  # RST_STREAM's error code
    goaway: int | None = None  # a GOAWAY's error code seen meanwhile
    connection_closed: bool = False

    @property
    def status(self) -> int | None:
        """grpc-status, if the server sent one."""
        return next((int(v) for k, v in self.headers if k == "grpc-status"), None)

    @property
    def message(self) -> str:
        return next((v for k, v in self.headers if k == "grpc-message"), "")


def grpc_message(message: bytes, compressed: bool = False) -> bytes:
    """A message in gRPC's length-prefixed framing."""
    return bytes((int(compressed),)) + len(message).to_bytes(4, "big") + message


def request_headers(path: bytes, extra: tuple[tuple[bytes, bytes], ...] = ()) -> list[tuple[bytes, bytes]]:
    return [
        (b":method", b"POST"),
        (b":scheme", b"http"),
        (b":path", path),
        (b":authority", b"localhost"),
        (b"content-type", b"application/grpc"),
        (b"te", b"trailers"),
        *extra,
    ]


class RawH2:
    """One client connection: preface and SETTINGS sent on connect, then frames as the test writes them.

    It never sends WINDOW_UPDATE or acknowledges SETTINGS by itself: tests do that when they mean to.
    It does keep count of the windows the server grants it, for :meth:`send_data`.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.encoder = Encoder()
        self.decoder = Decoder()
        self.next_stream_id = 1
        self.backlog: list[Frame] = []  # frames read while sending, not yet returned by read_frame
        self.connection_window = f.DEFAULT_WINDOW
        self.granted: dict[int, int] = {}  # per stream: every byte of window the server ever gave
        self.sent: dict[int, int] = {}  # per stream: DATA bytes sent

    @classmethod
    async def connect(cls, address: str, settings: dict[int, int] | None = None, preface: bool = True) -> RawH2:
        """Connect; send the preface and SETTINGS unless ``preface`` is False."""
        host, port = address.rsplit(":", 1)
        reader, writer = await asyncio.open_connection(host, int(port), limit=1 << 24)
        client = cls(reader, writer)
        if preface:
            client.send(f.PREFACE + f.settings(settings or {}))
        return client

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    async def drain(self) -> None:
        await self.writer.drain()

    def close(self) -> None:
        self.writer.close()

    def stream_id(self) -> int:
        """A fresh client stream id."""
        stream_id = self.next_stream_id
        self.next_stream_id += 2
        return stream_id

    def header_block(self, path: bytes, extra: tuple[tuple[bytes, bytes], ...] = ()) -> bytes:
        return bytes(self.encoder.encode(request_headers(path, extra)))

    def headers_frame(
        self, stream_id: int, path: bytes, end_stream: bool = False, extra: tuple[tuple[bytes, bytes], ...] = ()
    ) -> bytes:
        flags = f.FLAG_END_HEADERS | (f.FLAG_END_STREAM if end_stream else 0)
        return f.frame(f.HEADERS, flags, stream_id, self.header_block(path, extra))

    def request(self, path: bytes, message: bytes, stream_id: int | None = None) -> int:
        """Send a whole unary request in one HEADERS and one DATA frame; return its stream id."""
        stream_id = stream_id or self.stream_id()
        data = f.frame(f.DATA, f.FLAG_END_STREAM, stream_id, grpc_message(message))
        self.send(self.headers_frame(stream_id, path) + data)
        return stream_id

    def window(self, stream_id: int) -> int:
        return self.granted.get(stream_id, f.DEFAULT_WINDOW) - self.sent.get(stream_id, 0)

    async def send_data(
        self, stream_id: int, data: bytes, frame_size: int = f.DEFAULT_MAX_FRAME, end_stream: bool = True
    ) -> bool:
        """Send ``data`` in frames, within the windows the server grants (waiting for them).

        Returns False if the server reset the stream or closed the connection first.
        """
        position = 0
        while position < len(data) or end_stream:
            room = min(self.window(stream_id), self.connection_window, frame_size, len(data) - position)
            if room <= 0 and position < len(data):
                frame = await self.read_socket(timeout=10.0)
                if frame is None or (frame.kind == f.RST_STREAM and frame.stream_id == stream_id):
                    return False
                self.backlog.append(frame)
                continue
            last = end_stream and position + room == len(data)
            self.send(f.frame(f.DATA, f.FLAG_END_STREAM if last else 0, stream_id, data[position : position + room]))
            self.sent[stream_id] = self.sent.get(stream_id, 0) + room
            self.connection_window -= room
            position += room
            try:
                await self.drain()
            except ConnectionError:
                return False
            if last:
                break
        return True

    async def read_frame(self, timeout: float = 10.0) -> Frame | None:
        """The next frame from the server, or None once it closed the connection."""
        if self.backlog:
            return self.backlog.pop(0)
        return await self.read_socket(timeout)

    async def read_socket(self, timeout: float) -> Frame | None:
        """The next frame off the socket, past the backlog (keep it there if it must be seen later)."""
        try:
            head = await asyncio.wait_for(self.reader.readexactly(9), timeout)
            high, low, kind, flags, stream_id = _HEADER.unpack(head)
            payload = await asyncio.wait_for(self.reader.readexactly(high << 8 | low), timeout)
        except (asyncio.IncompleteReadError, ConnectionResetError):
            return None
        stream_id &= 0x7FFFFFFF
        headers: tuple[tuple[str, str], ...] = ()
        if kind == f.HEADERS:  # the server sends neither padding nor priority
            headers = tuple((str(k), str(v)) for k, v in self.decoder.decode(payload))
        elif kind == f.WINDOW_UPDATE:
            increment = int.from_bytes(payload, "big")
            if stream_id:
                self.granted[stream_id] = self.granted.get(stream_id, f.DEFAULT_WINDOW) + increment
            else:
                self.connection_window += increment
        return Frame(kind, flags, stream_id, payload, headers)

    async def until(self, kind: int, stream_id: int | None = None, timeout: float = 10.0) -> Frame | None:
        """Read until a frame of this kind (on this stream, if given); None if the connection ends first."""
        while True:
            frame = await self.read_frame(timeout)
            if frame is None or (frame.kind == kind and (stream_id is None or frame.stream_id == stream_id)):
                return frame

    async def goaway(self, timeout: float = 10.0) -> int | None:
        """Read to the end of the connection; the error code of the server's last GOAWAY (None if none)."""
        code = None
        while True:
            frame = await self.read_frame(timeout)
            if frame is None:
                return code
            if frame.kind == f.GOAWAY:
                code = frame.error_code

    async def response(self, stream_id: int, timeout: float = 10.0) -> Response:
        """Everything the server sends on one stream until it ends (END_STREAM or RST_STREAM)."""
        response = Response()
        while True:
            frame = await self.read_frame(timeout)
            if frame is None:
                response.connection_closed = True
                return response
            if frame.kind == f.GOAWAY:
                response.goaway = frame.error_code
            if frame.stream_id != stream_id:
                continue
            if frame.kind == f.HEADERS:
                response.headers.extend(frame.headers)
            elif frame.kind == f.DATA:
                response.data += frame.payload
            elif frame.kind == f.RST_STREAM:
                response.reset = frame.error_code
                return response
            if frame.flags & f.FLAG_END_STREAM:
                return response
