"""The protobuf wire format, parsed just far enough to mutate it: fields, nested messages, lengths.

A request's bytes become a tree of :class:`WireField`; a mutation changes one node (its payload, or
the length it declares) and :func:`encode` writes the tree back with every *other* length correct, so
that a lie about one length reaches the parser of the nested message it belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from random import Random

VARINT, I64, LEN, SGROUP, EGROUP, I32 = 0, 1, 2, 3, 4, 5
#: Nested payloads are parsed as messages down to this depth (deeper ones stay opaque bytes).
MAX_PARSE_DEPTH = 12


@dataclass
class WireField:
    """One field on the wire: number, wire type, and its value (an int, or bytes for LEN/fixed)."""

    number: int
    wire_type: int
    value: int | bytes
    #: For LEN fields that parse as a message: its fields (then ``value`` is ignored on encode).
    children: list[WireField] | None = None
    #: A length to declare instead of the payload's real length (a lie).
    declared_length: int | None = None
    path: tuple[int, ...] = field(default=())


def encode_varint(value: int) -> bytes:
    """Unsigned LEB128; negative numbers as their 64-bit two's complement, like protobuf does."""
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("bad varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos


def parse(data: bytes, depth: int = 0, path: tuple[int, ...] = ()) -> list[WireField]:
    """The fields of ``data``; raises ValueError if it is not a well-formed message."""
    fields: list[WireField] = []
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        number, wire_type = key >> 3, key & 7
        if number == 0 or wire_type in (SGROUP, EGROUP) or wire_type > I32:
            raise ValueError("bad key")
        here = (*path, len(fields))
        if wire_type == VARINT:
            value, pos = _read_varint(data, pos)
            fields.append(WireField(number, wire_type, value, path=here))
        elif wire_type in (I64, I32):
            size = 8 if wire_type == I64 else 4
            if pos + size > len(data):
                raise ValueError("short fixed")
            fields.append(WireField(number, wire_type, data[pos : pos + size], path=here))
            pos += size
        else:
            length, pos = _read_varint(data, pos)
            if pos + length > len(data):
                raise ValueError("short payload")
            payload = data[pos : pos + length]
            pos += length
            children = None
            if payload and depth < MAX_PARSE_DEPTH:
                try:
                    children = parse(payload, depth + 1, here)
                except ValueError:
                    children = None  # a string or bytes field, or packed numbers
            fields.append(WireField(number, wire_type, payload, children, path=here))
    return fields


def encode(fields: list[WireField]) -> bytes:
    """The bytes of ``fields``, with real lengths except where a field declares a lie."""
    out = bytearray()
    for f in fields:
        out += encode_varint(f.number << 3 | f.wire_type)
        if f.wire_type == VARINT:
            assert isinstance(f.value, int)
            out += encode_varint(f.value)
        elif f.wire_type in (I64, I32):
            assert isinstance(f.value, bytes)
            out += f.value
        else:
            payload = encode(f.children) if f.children is not None else f.value
            assert isinstance(payload, bytes)
            length = f.declared_length if f.declared_length is not None else len(payload)
            out += encode_varint(length) + payload
    return bytes(out)


def walk(fields: list[WireField]) -> list[WireField]:
    """Every field of the tree, depth first."""
    found: list[WireField] = []
    for f in fields:
        found.append(f)
        if f.children is not None:
            found.extend(walk(f.children))
    return found


def random_field(rng: Random, max_number: int = 60) -> WireField:
    """A field with a random (often unknown) number and a random value of a random wire type."""
    number = rng.choice([rng.randint(1, max_number), rng.randint(1, 2**29 - 1), 19000 + rng.randint(0, 999)])
    wire_type = rng.choice([VARINT, I64, LEN, I32])
    if wire_type == VARINT:
        return WireField(number, wire_type, rng.choice([0, 1, 2**63 - 1, 2**64 - 1, rng.getrandbits(64)]))
    if wire_type in (I64, I32):
        return WireField(number, wire_type, rng.randbytes(8 if wire_type == I64 else 4))
    return WireField(number, wire_type, rng.randbytes(rng.choice([0, 1, 16, 300])))
