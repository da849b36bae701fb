"""Encoding of what the server writes: status trailers and grpc-timeout parsing."""

from __future__ import annotations

import base64

import pytest

from gnomon.server.transport import frames
from gnomon.server.transport.hpack_decoder import HeaderDecoder


def test_status_block_percent_encodes_the_message_and_base64s_binary_metadata() -> None:
    block = frames.status_block(5, "workflow «x» not found 100%", [("grpc-status-details-bin", b"\x00\xff")])
    decoded = dict(HeaderDecoder().decode(block))
    assert decoded[b"grpc-status"] == b"5"
    assert decoded[b"grpc-message"] == b"workflow %C2%ABx%C2%BB not found 100%25"
    assert base64.b64decode(decoded[b"grpc-status-details-bin"] + b"==") == b"\x00\xff"


def test_response_headers_decode_to_status_200_grpc() -> None:
    assert HeaderDecoder().decode(frames.RESPONSE_HEADERS) == [
        (b":status", b"200"),
        (b"content-type", b"application/grpc"),
    ]


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(b"100m", 0.1), (b"5S", 5.0), (b"2M", 120.0), (b"1H", 3600.0), (b"250u", 0.00025), (b"7n", 7e-9)],
)
def test_parse_timeout(value: bytes, seconds: float) -> None:
    assert frames.parse_timeout(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", [b"", b"5", b"m", b"5x", b"-5S", b"1.5S"])
def test_parse_timeout_rejects_malformed_values(value: bytes) -> None:
    assert frames.parse_timeout(value) is None
