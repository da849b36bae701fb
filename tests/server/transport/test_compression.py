"""Bounded gzip decompression of request messages."""

from __future__ import annotations

import gzip
import zlib

import pytest

from gnomon.server.transport.compression import MessageTooLarge, gunzip

MIB = 1024 * 1024


@pytest.mark.parametrize("size", [0, 1, MIB - 1, MIB, 3 * MIB + 7])
async def test_decompresses_across_steps_up_to_exactly_the_limit(size: int) -> None:
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    assert await gunzip(gzip.compress(data), limit=size) == data


async def test_one_byte_past_the_limit_is_too_large() -> None:
    with pytest.raises(MessageTooLarge):
        await gunzip(gzip.compress(bytes(2 * MIB + 1)), limit=2 * MIB)


async def test_a_bomb_stops_at_the_limit() -> None:
    deflate = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    bomb = b"".join(deflate.compress(bytes(MIB)) for _ in range(64)) + deflate.flush()  # 64 MiB of zeros
    with pytest.raises(MessageTooLarge):
        await gunzip(bomb, limit=4 * MIB)


async def test_several_members_decompress_to_their_concatenation() -> None:
    assert await gunzip(gzip.compress(b"abc") + gzip.compress(b"def"), limit=100) == b"abcdef"


@pytest.mark.parametrize(
    "data", [b"", b"not gzip", gzip.compress(b"abcdef" * 1000)[:-9], gzip.compress(b"a") + b"\x00"]
)
async def test_what_is_not_whole_gzip_is_an_error(data: bytes) -> None:
    with pytest.raises(zlib.error):
        await gunzip(data, limit=MIB)
