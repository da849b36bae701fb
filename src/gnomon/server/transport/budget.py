"""How much request data one connection may make the server hold: its request budget.

A unary call's request must be held whole before its handler runs, so HTTP/2's windows
are the only brake on what a client makes the server buffer. Each stream starts with the
64 KiB window HTTP/2 gives it; more is granted only as the gRPC prefix shows the message
needs it, and only while the connection's budget lasts. A request that takes more than one
frame counts against the budget the window it was given (its initial window and every
grant) while it arrives, then its message's size until the call's response has gone, so
calls in progress count too. A request that arrives in one frame (almost every request) is
not counted: those are bounded by the concurrent stream limit times the initial window.

Budget alone could deadlock: streams each holding part of a message can fill it with none
complete. So the oldest request still arriving is granted regardless, unless calls in
progress alone fill the budget (they will end and free it). That adds at most one message
to what the budget bounds, and there is always a request that can finish.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from gnomon.server.transport import frames as f
from gnomon.server.transport.stream import Stream


class RequestBudget:
    """One connection's request budget: ``limit`` bytes (``Limits.max_connection_request_bytes``)."""

    __slots__ = ("limit", "arriving", "calls", "starved")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.arriving = 0  # held by requests still arriving
        self.calls = 0  # held by calls in progress
        self.starved: dict[int, Stream] = {}  # streams refused window, oldest first

    def opened(self, stream: Stream) -> None:
        """The stream's request takes more than one frame: count the window it started with."""
        stream.reserved = f.DEFAULT_WINDOW
        self.arriving += f.DEFAULT_WINDOW

    def arrived(self, stream: Stream, size: int) -> None:
        """The request is whole: its call holds the message's ``size`` (0 if refused) until it ends."""
        self.arriving -= stream.reserved
        stream.reserved = size
        self.calls += size
        if self.starved:
            self.starved.pop(stream.stream_id, None)

    def released(self, stream: Stream) -> None:
        """The stream is gone (answered or reset): all it held is free."""
        if stream.complete:
            self.calls -= stream.reserved
        else:
            self.arriving -= stream.reserved
        stream.reserved = 0
        if self.starved:
            self.starved.pop(stream.stream_id, None)

    def grant(self, stream: Stream, oldest_arriving: Callable[[], Stream | None]) -> int:
        """The window to grant a stream still arriving, so its message fits; 0 if none is due or allowed."""
        increment = stream.expected - len(stream.body) - stream.recv_window
        if increment <= 0:
            self.starved.pop(stream.stream_id, None)
            return 0
        if self.arriving + self.calls + increment > self.limit and not (
            self.calls < self.limit and stream is oldest_arriving()
        ):
            self.starved[stream.stream_id] = stream  # an existing key keeps its place
            return 0
        self.starved.pop(stream.stream_id, None)
        stream.recv_window += increment
        stream.reserved += increment
        self.arriving += increment
        return increment

    def regrants(self, oldest_arriving: Callable[[], Stream | None]) -> Iterator[tuple[Stream, int]]:
        """Window for starved streams, oldest first, now that budget was freed; stops at the first refused."""
        for stream in list(self.starved.values()):
            increment = self.grant(stream, oldest_arriving)
            if stream.stream_id in self.starved:
                return
            if increment:
                yield stream, increment
