"""gzip-compressed request messages, decompressed within the message size limit.

The limit applies to what a message decompresses to, and decompression stops one byte
past it: a few hundred kilobytes of gzip can expand to gigabytes. Output comes a step at
a time, and the event loop gets a turn between steps, so a large message delays other
connections by one step, not by the whole message.
"""

from __future__ import annotations

import asyncio
import zlib

_STEP = 1 << 20  # bytes of output per step: a few milliseconds of inflate
_GZIP = 16 + zlib.MAX_WBITS  # a gzip header and trailer around the deflate data


class MessageTooLarge(Exception):
    """The message decompresses to more than the limit."""


async def gunzip(data: bytes, limit: int) -> bytes:
    """``data`` decompressed; raises :class:`MessageTooLarge`, or ``zlib.error`` if it is not valid gzip.

    Several gzip members in a row decompress to their concatenation, as ``gzip.decompress``
    (and grpc-go's gzip reader) read them.
    """
    out = bytearray()
    inflater = zlib.decompressobj(_GZIP)
    pending = data
    while True:
        step = min(_STEP, limit + 1 - len(out))
        chunk = inflater.decompress(pending, step)
        out += chunk
        if len(out) > limit:
            raise MessageTooLarge(f"more than {limit} bytes")
        if inflater.eof:
            pending = inflater.unused_data
            if not pending:
                return bytes(out)
            inflater = zlib.decompressobj(_GZIP)
        else:
            pending = inflater.unconsumed_tail
            if not pending and len(chunk) < step:
                raise zlib.error("truncated gzip data")
        await asyncio.sleep(0)
