"""HTTP/2 frame and header-block encoding for the gRPC transport (RFC 9113, RFC 7541).

Only what a gRPC server sends is encoded here. Response headers never use HPACK's
dynamic table or Huffman coding: both are optional for an encoder, and literal fields
leave the client's decoder state untouched, so a response can be built once and reused.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# Frame types.
DATA = 0x0
HEADERS = 0x1
PRIORITY = 0x2
RST_STREAM = 0x3
SETTINGS = 0x4
PUSH_PROMISE = 0x5
PING = 0x6
GOAWAY = 0x7
WINDOW_UPDATE = 0x8
CONTINUATION = 0x9

# Frame flags.
FLAG_END_STREAM = 0x1
FLAG_ACK = 0x1
FLAG_END_HEADERS = 0x4
FLAG_PADDED = 0x8
FLAG_PRIORITY = 0x20

# SETTINGS identifiers.
SETTINGS_HEADER_TABLE_SIZE = 0x1
SETTINGS_ENABLE_PUSH = 0x2
SETTINGS_MAX_CONCURRENT_STREAMS = 0x3
SETTINGS_INITIAL_WINDOW_SIZE = 0x4
SETTINGS_MAX_FRAME_SIZE = 0x5
SETTINGS_MAX_HEADER_LIST_SIZE = 0x6

# Error codes (RST_STREAM, GOAWAY).
NO_ERROR = 0x0
PROTOCOL_ERROR = 0x1
INTERNAL_ERROR = 0x2
FLOW_CONTROL_ERROR = 0x3
STREAM_CLOSED = 0x5
FRAME_SIZE_ERROR = 0x6
REFUSED_STREAM = 0x7
CANCEL = 0x8
COMPRESSION_ERROR = 0x9
ENHANCE_YOUR_CALM = 0xB

# gRPC status codes the transport answers with on its own (grpc.StatusCode's numbers).
STATUS_CANCELLED = 1
STATUS_UNKNOWN = 2
STATUS_RESOURCE_EXHAUSTED = 8
STATUS_INTERNAL = 13

DEFAULT_WINDOW = 65_535
DEFAULT_MAX_FRAME = 16_384
LARGEST_MAX_FRAME = 2**24 - 1
MAX_WINDOW = 2**31 - 1


def frame(kind: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    """One frame: 24-bit length, type, flags, 31-bit stream id, payload."""
    return frame_header(kind, flags, stream_id, len(payload)) + payload


def frame_header(kind: int, flags: int, stream_id: int, length: int) -> bytes:
    """The 9 bytes before a frame's payload of ``length`` bytes."""
    return length.to_bytes(3, "big") + bytes((kind, flags)) + stream_id.to_bytes(4, "big")


def settings(values: dict[int, int]) -> bytes:
    return frame(SETTINGS, 0, 0, b"".join(k.to_bytes(2, "big") + v.to_bytes(4, "big") for k, v in values.items()))


def window_update(stream_id: int, increment: int) -> bytes:
    return frame(WINDOW_UPDATE, 0, stream_id, increment.to_bytes(4, "big"))


def goaway(last_stream_id: int, error_code: int, debug: bytes = b"") -> bytes:
    return frame(GOAWAY, 0, 0, last_stream_id.to_bytes(4, "big") + error_code.to_bytes(4, "big") + debug)


def rst_stream(stream_id: int, error_code: int) -> bytes:
    return frame(RST_STREAM, 0, stream_id, error_code.to_bytes(4, "big"))


def _integer(value: int, prefix_bits: int, first_byte: int = 0) -> bytes:
    """HPACK integer representation with an N-bit prefix (RFC 7541 section 5.1)."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes((first_byte | value,))
    out = bytearray((first_byte | limit,))
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _string(value: bytes) -> bytes:
    return _integer(len(value), 7) + value


def literal(name: bytes, value: bytes) -> bytes:
    """A header field as a literal without indexing, with a literal name."""
    return b"\x00" + _string(name) + _string(value)


def literal_indexed_name(static_index: int, value: bytes) -> bytes:
    """A literal without indexing whose name is an entry of the static table."""
    return _integer(static_index, 4) + _string(value)


# ":status: 200" is entry 8 of the static table; "content-type" is entry 31.
RESPONSE_HEADERS = b"\x88" + literal_indexed_name(31, b"application/grpc")


# The most a status message may take once encoded. Messages often quote the request (an id, a
# name): unbounded, one would pass the client's metadata limit (grpc's 8-16 KiB), and the
# client would drop the call's answer, or the whole connection for a frame past its maximum.
MAX_STATUS_MESSAGE_BYTES = 4 * 1024
_CUT = b"... (cut)"


def _percent_encode(message: str) -> bytes:
    """grpc-message is percent-encoded UTF-8 (gRPC over HTTP/2, "Responses"), cut at a bound."""
    out = bytearray()
    for char in message:
        encoded = b"".join(
            bytes((byte,)) if 0x20 <= byte <= 0x7E and byte != 0x25 else b"%%%02X" % byte
            for byte in char.encode("utf-8", "replace")
        )
        if len(out) + len(encoded) > MAX_STATUS_MESSAGE_BYTES - len(_CUT):
            return bytes(out) + _CUT  # cut at a character, so what is sent stays valid UTF-8
        out += encoded
    return bytes(out)


def header_frames(flags: int, stream_id: int, block: bytes, max_frame: int) -> bytes:
    """A header block as HEADERS plus CONTINUATION frames, none larger than the peer's ``max_frame``."""
    if len(block) <= max_frame:
        return frame(HEADERS, flags, stream_id, block)
    chunks = [block[i : i + max_frame] for i in range(0, len(block), max_frame)]
    out = frame(HEADERS, flags & ~FLAG_END_HEADERS, stream_id, chunks[0])
    for chunk in chunks[1:-1]:
        out += frame(CONTINUATION, 0, stream_id, chunk)
    return out + frame(CONTINUATION, FLAG_END_HEADERS, stream_id, chunks[-1])


def status_block(code: int, message: str = "", metadata: Iterable[tuple[str, str | bytes]] = ()) -> bytes:
    """The header fields that end a call: grpc-status, grpc-message and trailing metadata.

    Binary metadata (keys ending in ``-bin``) is base64 without padding, as the spec asks.
    """
    block = literal(b"grpc-status", str(code).encode())
    if message:
        block += literal(b"grpc-message", _percent_encode(message))
    for key, value in metadata:
        if key.endswith("-bin"):
            raw = value if isinstance(value, bytes) else value.encode()
            encoded = base64.b64encode(raw).rstrip(b"=")
        else:
            encoded = value.encode() if isinstance(value, str) else value
        block += literal(key.lower().encode(), encoded)
    return block


OK_TRAILERS = status_block(0)


def parse_timeout(value: bytes) -> float | None:
    """Seconds from a ``grpc-timeout`` header ("100m", "5S", ...); None if malformed."""
    units = {ord("H"): 3600.0, ord("M"): 60.0, ord("S"): 1.0, ord("m"): 1e-3, ord("u"): 1e-6, ord("n"): 1e-9}
    if len(value) < 2 or value[-1] not in units or not value[:-1].isdigit():
        return None
    return int(value[:-1]) * units[value[-1]]
