"""What one client may make the server hold or wait for: every limit in one place.

A :class:`Limits` travels from :class:`~gnomon.server.app.ServerConfig` to the parts that
enforce it; nothing reads a global. Defaults follow the reference server where it has one
(Temporal's frontend is a grpc-go server, and keeps most of grpc-go's defaults) and are
chosen to bound memory per connection where it has none, saying which below.

Each field's ``metadata`` names its command-line flag and help text, so the CLI and the
README's "Limits" table list the same things. Limits added later (payload sizes, id lengths,
query limits) belong here too; a field without a ``flag`` is simply not on the command line.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

KIB = 1024
MIB = 1024 * KIB

# HTTP/2's largest flow-control window; a message and its 5-byte gRPC prefix must fit in one.
_MAX_WINDOW = 2**31 - 1


def _limit(default: Any, flag: str, text: str) -> Any:
    return field(default=default, metadata={"flag": flag, "help": text})


@dataclass(frozen=True)
class Limits:
    """Server limits. Sizes are in bytes, durations in seconds; every one must be positive."""

    # ---- gRPC transport, per message

    max_message_bytes: int = _limit(
        4 * MIB,
        "--max-message-bytes",
        "largest request message, after decompression (grpc-go's default, kept by Temporal's frontend); "
        "a larger one is answered RESOURCE_EXHAUSTED",
    )

    # ---- gRPC transport, per connection

    max_concurrent_streams: int = _limit(
        1000,
        "--max-concurrent-streams",
        "calls one connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS); "
        "gRPC clients queue calls beyond it, a client that does not is refused with REFUSED_STREAM",
    )
    max_header_list_bytes: int = _limit(
        64 * KIB,
        "--max-header-list-bytes",
        "largest request header list, as HTTP/2 counts it (SETTINGS_MAX_HEADER_LIST_SIZE); "
        "a larger one is answered RESOURCE_EXHAUSTED",
    )
    max_connection_request_bytes: int = _limit(
        64 * MIB,
        "--max-connection-request-bytes",
        "request bytes one connection may have in flight (calls still arriving or still running); beyond it, "
        "flow control holds back further request data until calls end",
    )
    max_connection_unsent_bytes: int = _limit(
        64 * MIB,
        "--max-connection-unsent-bytes",
        "response bytes the server holds for a client that is not reading them; beyond it, no new call "
        "starts on that connection until it reads; at twice it, the connection is closed (ENHANCE_YOUR_CALM)",
    )

    # ---- gRPC transport, time

    request_timeout: float = _limit(
        60.0,
        "--request-timeout",
        "seconds a call's request may stall (no data while the client may send); then it is answered "
        "CANCELLED and its stream reset",
    )
    send_timeout: float = _limit(
        30.0,
        "--send-timeout",
        "seconds a connection over --max-connection-unsent-bytes may go without reading anything; "
        "then it is closed with GOAWAY ENHANCE_YOUR_CALM",
    )

    def __post_init__(self) -> None:
        for limit in fields(self):
            if getattr(self, limit.name) <= 0:
                raise ValueError(f"{limit.name} must be positive")
        if self.max_message_bytes > _MAX_WINDOW - 5:
            raise ValueError(f"max_message_bytes must be at most {_MAX_WINDOW - 5}")
