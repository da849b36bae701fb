"""One call's HTTP/2 stream: its request as it arrives, then its response while it waits for window.

A unary request carries exactly one gRPC length-prefixed message; the checks on that
framing (and on the message size limit, from the prefix as soon as it is seen) are here,
in grpc-go's words, so that a client gets the answer a Temporal server would give.
"""

from __future__ import annotations

import asyncio

from gnomon.server.transport import frames as f

_MULTIPLE_MESSAGES = "cardinality violation: received multiple request messages for non-client-streaming RPC"
_NO_MESSAGE = "cardinality violation: received no request message from non-client-streaming RPC"


class Refusal(Exception):
    """A call refused before it starts, with the gRPC status to answer it with."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def too_large(length: int, limit: int) -> Refusal:
    return Refusal(f.STATUS_RESOURCE_EXHAUSTED, f"grpc: received message larger than max ({length} vs. {limit})")


class Stream:
    """A unary call, from its request headers to the last byte of its response.

    ``reserved`` is what the call counts against its connection's request budget (see
    :mod:`~gnomon.server.transport.budget`): nothing for a request that arrives in one frame.
    """

    __slots__ = (
        "stream_id",
        "headers",
        "active_at",
        "body",
        "expected",
        "recv_window",
        "reserved",
        "complete",
        "message",
        "compressed",
        "task",
        "send_window",
        "pending",
    )

    def __init__(self, stream_id: int, headers: list[tuple[bytes, bytes]], send_window: int, now: float) -> None:
        self.stream_id = stream_id
        self.headers = headers
        self.active_at = now  # when its request last moved: data arrived, or window was granted
        # The request body: the first DATA payload as is (most requests are one frame), a
        # bytearray once a second one arrives, so a long body is never copied per frame.
        self.body: bytes | bytearray = b""
        self.expected = -1  # body length the gRPC prefix announces (prefix included), once seen
        self.recv_window = f.DEFAULT_WINDOW
        self.reserved = 0
        self.complete = False  # END_STREAM received: the client is done sending
        self.message = b""  # the request message, still compressed if ``compressed``
        self.compressed = False
        self.task: asyncio.Task[None] | None = None
        self.send_window = send_window
        self.pending: memoryview | None = None  # the part of the response still waiting for window

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def check_prefix(self, limit: int) -> None:
        """Part of the body arrived: raise :class:`Refusal` if it already cannot be one message within ``limit``."""
        body = self.body
        if self.expected < 0:
            if len(body) < 5:
                return
            length = int.from_bytes(body[1:5], "big")
            if length > limit:
                raise too_large(length, limit)
            self.expected = 5 + length
        if len(body) > self.expected:
            raise Refusal(f.STATUS_INTERNAL, _MULTIPLE_MESSAGES)

    def take_message(self, limit: int) -> int:
        """The request is whole: set ``message`` and ``compressed`` from its one message, return its size.

        Raises :class:`Refusal` if the body is not exactly one message within ``limit``.
        """
        body = self.body
        self.body = b""
        if len(body) < 5:
            if body:
                raise Refusal(f.STATUS_UNKNOWN, "unexpected EOF")
            raise Refusal(f.STATUS_INTERNAL, _NO_MESSAGE)
        length = int.from_bytes(body[1:5], "big")
        if length > limit:
            raise too_large(length, limit)
        if len(body) != 5 + length:
            if len(body) < 5 + length:
                raise Refusal(f.STATUS_UNKNOWN, "unexpected EOF")
            raise Refusal(f.STATUS_INTERNAL, _MULTIPLE_MESSAGES)
        if body[0] > 1:
            raise Refusal(f.STATUS_INTERNAL, f"grpc: received unexpected payload format {body[0]}")
        self.compressed = body[0] == 1
        self.message = body[5:] if type(body) is bytes else bytes(body[5:])
        return length

    def append(self, data: bytes) -> None:
        body = self.body
        if isinstance(body, bytearray):
            body += data
        elif body:
            grown = bytearray(body)
            grown += data
            self.body = grown
        else:
            self.body = data
