"""HPACK header-block decoding (RFC 7541) for request headers.

The ``hpack`` package's decoder costs ~150 µs per gRPC request (it logs every field and
builds an object per header); this one does the same work with plain tuples and a
cache of Huffman-decoded strings, which repeat from call to call. The static table and
the Huffman code come from ``hpack``.

Once a client has sent each of its headers once, its later requests are blocks of
indexed fields only, a few bytes each, and the same few blocks repeat (one per method).
Such a block means the same headers for as long as the dynamic table does not change,
so its decoded list is kept until the table changes.
"""

from __future__ import annotations

from hpack.huffman_table import decode_huffman
from hpack.table import HeaderTable

_STATIC: tuple[tuple[bytes, bytes], ...] = HeaderTable.STATIC_TABLE
_STATIC_LENGTH = len(_STATIC)
_ENTRY_OVERHEAD = 32  # RFC 7541 section 4.1
_HUFFMAN_CACHE_LIMIT = 4096
# Cached blocks per connection, and the longest one kept: the blocks worth caching are a
# few bytes, and a connection sending large one-off blocks must not pin their lists.
_BLOCK_CACHE_LIMIT = 256
_CACHED_BLOCK_MAX = 256


class HeaderDecodeError(Exception):
    """The header block is malformed; HTTP/2 makes this a connection error."""


class HeaderListTooLarge(Exception):
    """The block is well formed but its header list is over the limit: a refusal of one stream.

    Raised only after the whole block was decoded, so the dynamic table stays in step with
    the client's encoder and the connection can go on.
    """

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"header list of {size} bytes exceeds the limit of {limit}")
        self.size = size
        self.limit = limit


class HeaderDecoder:
    """One connection's HPACK decoding context (its dynamic table)."""

    def __init__(self, table_size_limit: int = 4096, max_header_list_size: int = 256 * 1024) -> None:
        self._dynamic: list[tuple[bytes, bytes]] = []  # newest first, as indices count
        self._size = 0
        self._limit = table_size_limit  # what our SETTINGS allow the encoder
        self._max_size = table_size_limit  # what the encoder chose, within the limit
        self._max_list_size = max_header_list_size
        self._huffman: dict[bytes, bytes] = {}
        # Decoded blocks that did not change the dynamic table, valid until it changes.
        self._blocks: dict[bytes, list[tuple[bytes, bytes]]] = {}
        self._table_changes = 0

    def decode(self, block: bytes) -> list[tuple[bytes, bytes]]:
        """The block's headers, in order. Callers must not modify the list."""
        headers = self._blocks.get(block)
        if headers is not None:
            return headers
        changes = self._table_changes
        try:
            headers = self._decode(block)
        finally:
            if self._table_changes != changes:
                self._blocks.clear()
        if self._table_changes == changes and len(block) <= _CACHED_BLOCK_MAX:
            if len(self._blocks) >= _BLOCK_CACHE_LIMIT:
                self._blocks.clear()
            self._blocks[block] = headers
        return headers

    def _decode(self, block: bytes) -> list[tuple[bytes, bytes]]:
        headers: list[tuple[bytes, bytes]] = []
        position = 0
        end = len(block)
        list_size = 0
        # Past the limit, fields are still decoded (insertions keep the table in step) but not kept.
        list_limit = self._max_list_size
        static = _STATIC
        dynamic = self._dynamic
        while position < end:
            first = block[position]
            if first & 0x80:  # indexed field; the common one-byte form is inlined
                index = first & 0x7F
                if 0 < index <= _STATIC_LENGTH:
                    field = static[index - 1]
                    position += 1
                elif _STATIC_LENGTH < index < 0x7F and index - _STATIC_LENGTH <= len(dynamic):
                    field = dynamic[index - _STATIC_LENGTH - 1]
                    position += 1
                else:
                    index, position = _integer(block, position, 0x7F)
                    field = self._entry(index)
            elif first & 0x40:  # literal with incremental indexing
                index, position = _integer(block, position, 0x3F)
                field, position = self._literal(block, position, index)
                self._insert(field)
            elif first & 0x20:  # dynamic table size update
                if list_size:  # RFC 7541 4.2: only at the start of a block
                    raise HeaderDecodeError("table size update after a header field")
                size, position = _integer(block, position, 0x1F)
                if size > self._limit:
                    raise HeaderDecodeError(f"table size {size} above the allowed {self._limit}")
                self._max_size = size
                self._table_changes += 1
                self._evict(0)
                continue
            else:  # literal without indexing, or never indexed
                index, position = _integer(block, position, 0x0F)
                field, position = self._literal(block, position, index)
            list_size += len(field[0]) + len(field[1]) + _ENTRY_OVERHEAD
            if list_size <= list_limit:
                headers.append(field)
        if list_size > list_limit:
            raise HeaderListTooLarge(list_size, list_limit)
        return headers

    def _entry(self, index: int) -> tuple[bytes, bytes]:
        if 0 < index <= _STATIC_LENGTH:
            return _STATIC[index - 1]
        dynamic_index = index - _STATIC_LENGTH - 1
        if index == 0 or dynamic_index >= len(self._dynamic):
            raise HeaderDecodeError(f"header index {index} out of range")
        return self._dynamic[dynamic_index]

    def _literal(self, block: bytes, position: int, index: int) -> tuple[tuple[bytes, bytes], int]:
        if index:
            name = self._entry(index)[0]
        else:
            name, position = self._string(block, position)
        value, position = self._string(block, position)
        return (name, value), position

    def _string(self, block: bytes, position: int) -> tuple[bytes, int]:
        if position >= len(block):
            raise HeaderDecodeError("truncated header block")
        huffman = block[position] & 0x80
        length, position = _integer(block, position, 0x7F)
        end = position + length
        if end > len(block):
            raise HeaderDecodeError("truncated header string")
        raw = block[position:end]
        if not huffman:
            return raw, end
        decoded = self._huffman.get(raw)
        if decoded is None:
            try:
                decoded = decode_huffman(raw)
            except Exception as error:  # hpack raises its own HPACKDecodingError
                raise HeaderDecodeError(f"bad Huffman string: {error}") from error
            if len(self._huffman) >= _HUFFMAN_CACHE_LIMIT:
                self._huffman.clear()
            self._huffman[raw] = decoded
        return decoded, end

    def _insert(self, field: tuple[bytes, bytes]) -> None:
        self._table_changes += 1
        size = len(field[0]) + len(field[1]) + _ENTRY_OVERHEAD
        if size > self._max_size:
            self._dynamic.clear()  # an entry larger than the table empties it (section 4.4)
            self._size = 0
            return
        self._evict(size)
        self._dynamic.insert(0, field)
        self._size += size

    def _evict(self, room: int) -> None:
        while self._dynamic and self._size + room > self._max_size:
            name, value = self._dynamic.pop()
            self._size -= len(name) + len(value) + _ENTRY_OVERHEAD


def _integer(block: bytes, position: int, mask: int) -> tuple[int, int]:
    """An HPACK prefix integer starting at ``position`` (section 5.1); returns (value, next position)."""
    value = block[position] & mask
    position += 1
    if value < mask:
        return value, position
    shift = 0
    while True:
        if position >= len(block):
            raise HeaderDecodeError("truncated integer")
        byte = block[position]
        position += 1
        value += (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, position
        if shift > 28:
            raise HeaderDecodeError("integer too large")
