"""Byte-level mutations of a serialized request: flipped bits, cuts, copies, varints, lying lengths.

Each takes the RNG and the bytes and returns new bytes and a short description. The structured ones
(:func:`lie_about_a_length`, :func:`mutate_nested_payload`) parse the wire format first, so their damage
lands inside a nested message whose envelope stays intact.
"""

from __future__ import annotations

from collections.abc import Callable
from random import Random

from tests.fuzz import wire

ByteMutation = Callable[[Random, bytes], tuple[bytes, str]]


def flip_bits(rng: Random, data: bytes) -> tuple[bytes, str]:
    if not data:
        return b"\x00", "flip: empty -> 00"
    out = bytearray(data)
    positions = [rng.randrange(len(out)) for _ in range(rng.choice([1, 1, 2, 4, 8]))]
    for pos in positions:
        out[pos] ^= 1 << rng.randrange(8)
    return bytes(out), f"flip bits at {positions}"


def truncate(rng: Random, data: bytes) -> tuple[bytes, str]:
    cut = rng.randrange(len(data) + 1)
    return data[:cut], f"truncate to {cut} of {len(data)}"


def duplicate_slice(rng: Random, data: bytes) -> tuple[bytes, str]:
    if not data:
        return data, "duplicate: empty"
    start = rng.randrange(len(data))
    end = rng.randint(start, len(data))
    at = rng.randint(0, len(data))
    times = rng.choice([1, 1, 2, 16])
    return data[:at] + data[start:end] * times + data[at:], f"copy [{start}:{end}] x{times} to {at}"


def delete_slice(rng: Random, data: bytes) -> tuple[bytes, str]:
    if not data:
        return data, "delete: empty"
    start = rng.randrange(len(data))
    end = rng.randint(start, min(len(data), start + rng.choice([1, 4, 64])))
    return data[:start] + data[end:], f"delete [{start}:{end}]"


def insert_random_bytes(rng: Random, data: bytes) -> tuple[bytes, str]:
    at = rng.randint(0, len(data))
    blob = rng.randbytes(rng.choice([1, 2, 8, 64]))
    return data[:at] + blob + data[at:], f"insert {blob.hex()} at {at}"


def insert_varint(rng: Random, data: bytes) -> tuple[bytes, str]:
    """A random varint (sometimes over-long, sometimes unterminated) at a random offset."""
    at = rng.randint(0, len(data))
    value = rng.choice([0, 1, 127, 128, 2**31, 2**63 - 1, 2**64 - 1, rng.getrandbits(rng.randint(1, 64))])
    blob = wire.encode_varint(value)
    shape = rng.choice(["plain", "overlong", "unterminated"])
    if shape == "overlong":
        blob = b"\x80" * rng.randint(1, 12) + blob
    elif shape == "unterminated":
        blob = b"\xff" * rng.randint(1, 11)
    return data[:at] + blob + data[at:], f"insert {shape} varint {blob.hex()} at {at}"


def append_random_field(rng: Random, data: bytes) -> tuple[bytes, str]:
    """A field with an unknown or clashing number, of a random wire type (unknown fields must be kept or ignored)."""
    added = wire.random_field(rng)
    return data + wire.encode([added]), f"append field {added.number} wire type {added.wire_type}"


def _tree(data: bytes) -> list[wire.WireField] | None:
    try:
        return wire.parse(data)
    except ValueError:
        return None


def lie_about_a_length(rng: Random, data: bytes) -> tuple[bytes, str]:
    """One length-delimited field, at any depth, declares a length other than its payload's."""
    tree = _tree(data)
    candidates = [f for f in wire.walk(tree or []) if f.wire_type == wire.LEN]
    if tree is None or not candidates:
        return flip_bits(rng, data)
    target = rng.choice(candidates)
    real = len(wire.encode(target.children)) if target.children is not None else len(target.value)  # type: ignore[arg-type]
    target.declared_length = rng.choice([0, real - 1, real + 1, real * 2 + 1, 2**31 - 1, 2**32 + real, 2**63])
    target.declared_length = max(target.declared_length, 0)
    return wire.encode(tree), f"field at {target.path} declares length {target.declared_length}, has {real}"


_SIMPLE: list[ByteMutation] = [flip_bits, truncate, duplicate_slice, delete_slice, insert_random_bytes, insert_varint]


def mutate_nested_payload(rng: Random, data: bytes) -> tuple[bytes, str]:
    """A simple byte mutation applied inside one nested field; the envelopes around it stay well formed."""
    tree = _tree(data)
    candidates = [f for f in wire.walk(tree or []) if f.wire_type == wire.LEN]
    if tree is None or not candidates:
        return rng.choice(_SIMPLE)(rng, data)
    target = rng.choice(candidates)
    payload = wire.encode(target.children) if target.children is not None else target.value
    assert isinstance(payload, bytes)
    inner, what = rng.choice(_SIMPLE)(rng, payload)
    target.children, target.value = None, inner
    return wire.encode(tree), f"inside field at {target.path}: {what}"


def swap_wire_type(rng: Random, data: bytes) -> tuple[bytes, str]:
    """A known field number sent with another wire type (a string as a varint, a message as fixed64...)."""
    tree = _tree(data)
    fields = wire.walk(tree or [])
    if tree is None or not fields:
        return append_random_field(rng, data)
    target = rng.choice(fields)
    new_type = rng.choice([t for t in (wire.VARINT, wire.I64, wire.LEN, wire.I32) if t != target.wire_type])
    target.wire_type, target.children = new_type, None
    if new_type == wire.VARINT:
        target.value = rng.getrandbits(64)
    elif new_type in (wire.I64, wire.I32):
        target.value = rng.randbytes(8 if new_type == wire.I64 else 4)
    else:
        target.value = rng.randbytes(rng.choice([0, 3, 40]))
    return wire.encode(tree), f"field at {target.path} re-sent as wire type {new_type}"


def nest_deeply(rng: Random, data: bytes) -> tuple[bytes, str]:
    """A nested field re-nested inside itself many times: a Failure.cause chain past any parser's depth limit."""
    tree = _tree(data)
    candidates = [f for f in wire.walk(tree or []) if f.children is not None]
    if tree is None or not candidates:
        return insert_varint(rng, data)
    target = rng.choice(candidates)
    depth = rng.choice([50, 99, 101, 200, 5000])
    payload = b""
    for _ in range(depth):  # each level holds only the next: a few bytes a level
        payload = wire.encode([wire.WireField(target.number, wire.LEN, payload)])
    target.children, target.value = None, payload
    return wire.encode(tree), f"field at {target.path} nested in itself {depth} times"


BYTE_MUTATIONS: list[ByteMutation] = [
    *_SIMPLE,
    append_random_field,
    lie_about_a_length,
    lie_about_a_length,
    mutate_nested_payload,
    mutate_nested_payload,
    mutate_nested_payload,
    swap_wire_type,
    nest_deeply,
]
