"""How much request data one connection may make the server hold: its request budget.

A unary call's request must be held whole before its handler runs, so HTTP/2's windows
are the only brake on what a client makes the server buffer. Each stream starts with the
64 KiB window HTTP/2 gives it; more is granted only as the gRPC prefix shows the message
needs it, and only while the connection's budget lasts. A stream counts against the budget
what it has received plus the window it may still fill while its request arrives, then its
message's size until the call's response has gone, so calls in progress count too.

Budget alone could deadlock: streams each holding part of a message can fill it with none
complete. So the oldest request still arriving is granted regardless, unless calls in
progress alone fill the budget (they will end and free it). That adds at most one message
to what the budget bounds, and there is always a request that can finish.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

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
        self.arriving += stream.reserved

    def arrived(self, stream: Stream) -> None:
        """The request is whole: what it had reserved for arriving data is no longer needed."""
        self.arriving -= stream.reserved
        stream.reserved = 0
        if self.starved:
            self.starved.pop(stream.stream_id, None)

    def started(self, stream: Stream, size: int) -> None:
        """The call starts, holding its message's ``size`` until it ends."""
        stream.reserved = size
        self.calls += size

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
