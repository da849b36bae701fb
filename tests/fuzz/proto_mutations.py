"""Protobuf-level mutations: a random field, at any depth, set to an adversarial value of its type.

The walk follows the message descriptors, so it reaches nested, repeated and map fields and the members
of oneofs; the values are the ones servers get wrong: empty and huge strings, invalid UTF-8, extreme and
unknown numbers, NaN, durations and timestamps out of range, deeply nested failures, odd payloads.
Requests stay under :data:`MAX_REQUEST_BYTES` so that the fuzzer is not merely testing the size limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from random import Random
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.failure.v1 import Failure

F = FieldDescriptor
MAX_REQUEST_BYTES = 3 * 1024 * 1024
#: Stands in for invalid UTF-8, which a protobuf string field cannot hold: replaced in the bytes.
UTF8_SENTINEL = "\x01fuzz-utf8\x01"
_INVALID_UTF8 = [
    b"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5",
    b"\xc0\xafabcdefgh\xed\xa0",
    b"\xed\xa0\x80" * 3 + b"\xc3Z",
]
#: Deepest descent into nested messages when choosing a field.
MAX_WALK_DEPTH = 10

_INT_EDGES = {
    F.CPPTYPE_INT32: [0, -1, 1, 2**31 - 1, -(2**31), 1000, -1000],
    F.CPPTYPE_INT64: [0, -1, 1, 2**63 - 1, -(2**63), 2**31, 86400 * 10**9 * 365 * 100, -(10**18)],
    F.CPPTYPE_UINT32: [0, 1, 2**32 - 1, 2**31],
    F.CPPTYPE_UINT64: [0, 1, 2**64 - 1, 2**63],
}
_FLOATS = [math.nan, math.inf, -math.inf, -0.0, 1e308, -1e308, 5e-324, 3.5e38, -1.0]
_DURATION_SECONDS = [-1, 0, 1, 315_576_000_000, 315_576_000_001, -315_576_000_001, 2**63 - 1, -(2**63), 10**12]
_TIMESTAMP_SECONDS = [0, -1, -62_135_596_801, -62_135_596_800, 253_402_300_800, 2**63 - 1, -(2**63), 4_102_444_800]
_NANOS = [0, -1, 999_999_999, 1_000_000_000, 2**31 - 1, -(2**31)]
_STRINGS = [
    "",
    " ",
    "\x00",
    "default",
    "\u202e\u0000\ufeff",
    "' OR 1=1 --",
    "WorkflowId = 'x' OR 1=1",
    "%s%s%n%x",
    "../../../../etc/passwd",
    "${jndi:ldap://x}",
    "\n\r\t\x0b",
    "00000000-0000-0000-0000-000000000000",
    "not-a-uuid",
    "*",
    "💥" * 64,
    "é" * 300,
]
_STRING_SIZES = [255, 256, 1000, 4097, 65_537, 300_000]
_PAYLOAD_ENCODINGS = [
    b"json/plain",
    b"binary/null",
    b"binary/plain",
    b"json/protobuf",
    b"binary/protobuf",
    b"",
    b"\xff",
]
_PAYLOAD_DATA = [
    b"",
    b"{",
    b"null",
    b"NaN",
    b"1e999",
    b"9" * 5000,
    b'"' + b"a" * 1000 + b'"',
    b"[" * 5000 + b"]" * 5000,
    b'{"a":' * 2000 + b"1" + b"}" * 2000,
    b"\xff\xfe",
    b"[1,2,3]",
    b'"2024-13-45T99:99:99Z"',
]
_SEARCH_ATTRIBUTE_TYPES = [b"Keyword", b"Int", b"Double", b"Bool", b"Datetime", b"KeywordList", b"Text", b"Nope"]


@dataclass
class ValuePool:
    """Real values seen in the world (ids, names, tokens), mixed in so that mutations cross-wire them."""

    strings: list[str] = field(default_factory=list)
    blobs: list[bytes] = field(default_factory=list)


@dataclass
class ProtoMutation:
    """What one protobuf-level mutation did, and whether the bytes need invalid UTF-8 patched in."""

    description: str
    invalid_utf8: bool = False


def _string(rng: Random, pool: ValuePool) -> tuple[str, str]:
    roll = rng.random()
    if roll < 0.35:
        value = rng.choice(_STRINGS)
        return value, repr(value[:40])
    if roll < 0.55 and pool.strings:
        value = rng.choice(pool.strings)
        return value, f"real {value[:60]!r}"
    if roll < 0.75:
        size = rng.choice(_STRING_SIZES if rng.random() < 0.97 else [1_500_000])
        return rng.choice("aZ9é-_.") * size, f"{size} chars"
    value = "".join(
        chr(rng.choice([rng.randint(32, 126), rng.randint(0x80, 0xD7FF)])) for _ in range(rng.randint(1, 40))
    )
    return value, f"random {value!r}"


def _blob(rng: Random, pool: ValuePool) -> tuple[bytes, str]:
    roll = rng.random()
    if roll < 0.4 and pool.blobs:
        real = rng.choice(pool.blobs)
        how = rng.choice(["as is", "truncated", "flipped", "doubled"])
        if how == "truncated" and real:
            real = real[: rng.randrange(len(real))]
        elif how == "flipped" and real:
            pos = rng.randrange(len(real))
            real = real[:pos] + bytes([real[pos] ^ (1 << rng.randrange(8))]) + real[pos + 1 :]
        elif how == "doubled":
            real = real * 2
        return real, f"real token {how}"
    size = rng.choice([0, 1, 16, 1000, 100_000])
    return rng.randbytes(size), f"{size} random bytes"


def _payload(rng: Random) -> tuple[Payload, str]:
    encoding = rng.choice(_PAYLOAD_ENCODINGS)
    data = rng.choice(_PAYLOAD_DATA)
    metadata = {"encoding": encoding}
    if rng.random() < 0.4:
        metadata["type"] = rng.choice(_SEARCH_ATTRIBUTE_TYPES)
    if rng.random() < 0.1:
        metadata.update({f"k{i}": b"v" * 100 for i in range(rng.choice([100, 5000]))})
    return Payload(metadata=metadata, data=data), f"payload {encoding!r} {data[:20]!r}"


def _deep_failure(rng: Random) -> tuple[Failure, str]:
    """A Failure whose cause chain is deep (``byte_mutations.nest_deeply`` goes past protobuf's limit of 100)."""
    depth = rng.choice([2, 30, 64, 90])
    root = Failure(message="root")
    node = root
    for i in range(depth):
        node.cause.message = f"cause {i}"
        node = node.cause
    return root, f"Failure with cause depth {depth}"


def _set_special_message(rng: Random, message: Message, pool: ValuePool) -> str | None:
    """Adversarial values for the well-known message types; None for the others."""
    name = message.DESCRIPTOR.full_name
    if name == "google.protobuf.Duration":
        message.seconds = rng.choice(_DURATION_SECONDS)  # type: ignore[attr-defined]
        message.nanos = rng.choice(_NANOS)  # type: ignore[attr-defined]
        return f"Duration({message.seconds}s, {message.nanos}ns)"  # type: ignore[attr-defined]
    if name == "google.protobuf.Timestamp":
        message.seconds = rng.choice(_TIMESTAMP_SECONDS)  # type: ignore[attr-defined]
        message.nanos = rng.choice(_NANOS)  # type: ignore[attr-defined]
        return f"Timestamp({message.seconds}s, {message.nanos}ns)"  # type: ignore[attr-defined]
    if name == Failure.DESCRIPTOR.full_name and rng.random() < 0.5:
        failure, what = _deep_failure(rng)
        message.CopyFrom(failure)
        return what
    if name == Payloads.DESCRIPTOR.full_name and rng.random() < 0.6:
        count = rng.choice([0, 1, 10, 10_000])
        payload, what = (
            _payload(rng) if count <= 10 else (Payload(metadata={"encoding": b"json/plain"}, data=b"1"), "tiny")
        )
        del message.payloads[:]  # type: ignore[attr-defined]
        message.payloads.extend([payload] * count)  # type: ignore[attr-defined]
        return f"{count} x {what}"
    if name == Payload.DESCRIPTOR.full_name and rng.random() < 0.6:
        payload, what = _payload(rng)
        message.CopyFrom(payload)
        return what
    return None


def _scalar(rng: Random, fd: FieldDescriptor, pool: ValuePool) -> tuple[Any, str, bool]:
    """(value, description, invalid_utf8) for a scalar field."""
    cpp = fd.cpp_type
    if cpp == F.CPPTYPE_STRING and fd.type == F.TYPE_STRING:
        if rng.random() < 0.08:
            return UTF8_SENTINEL, "invalid UTF-8", True
        value, what = _string(rng, pool)
        return value, what, False
    if cpp == F.CPPTYPE_STRING:
        value, what = _blob(rng, pool)
        return value, what, False
    if cpp in _INT_EDGES:
        value = rng.choice(_INT_EDGES[cpp])
        return value, str(value), False
    if cpp in (F.CPPTYPE_DOUBLE, F.CPPTYPE_FLOAT):
        value = rng.choice(_FLOATS)
        return value, str(value), False
    if cpp == F.CPPTYPE_BOOL:
        return rng.random() < 0.5, "bool", False
    if cpp == F.CPPTYPE_ENUM:
        known = [v.number for v in fd.enum_type.values]
        value = rng.choice([*known, 999, -1, 2**31 - 1, -(2**31)])
        return value, f"enum {value}", False
    raise AssertionError(f"unexpected field type {fd.full_name}")


def _fill_repeated(rng: Random, container: Any, fd: FieldDescriptor, pool: ValuePool) -> tuple[str, bool]:
    """Clear a repeated field, or add one or many adversarial elements."""
    if rng.random() < 0.2:
        del container[:]
        return "cleared", False
    count = rng.choice([1, 1, 2, 100, 2000])
    if fd.cpp_type == F.CPPTYPE_MESSAGE:
        template = container[rng.randrange(len(container))] if len(container) and rng.random() < 0.5 else None
        if template is not None:
            count = min(count, MAX_REQUEST_BYTES // max(template.ByteSize(), 1))
        for _ in range(count):
            element = container.add()
            if template is not None:
                element.CopyFrom(template)
        return f"{count} more elements", False
    value, what, bad = _scalar(rng, fd, pool)
    if isinstance(value, str | bytes):
        count = min(count, MAX_REQUEST_BYTES // max(len(value), 1))
    container.extend([value] * count)
    return f"{count} x {what}", bad


def _fill_map(rng: Random, container: Any, fd: FieldDescriptor, pool: ValuePool) -> tuple[str, bool]:
    key_fd = fd.message_type.fields_by_name["key"]
    value_fd = fd.message_type.fields_by_name["value"]
    count = rng.choice([1, 1, 3, 1000])
    bad = False
    for i in range(count):
        key, _, key_bad = _scalar(rng, key_fd, pool)
        if key_fd.cpp_type == F.CPPTYPE_STRING and count > 1:
            key = f"{key}{i}" if isinstance(key, str) else key
        bad = bad or key_bad
        if value_fd.cpp_type == F.CPPTYPE_MESSAGE:
            entry = container[key]
            if count > 3:
                continue  # many entries: empty values, or the request would be huge
            if _set_special_message(rng, entry, pool) is None and entry.DESCRIPTOR.fields:
                mutate_field(rng, entry, pool, depth=MAX_WALK_DEPTH)
        else:
            value, _, value_bad = _scalar(rng, value_fd, pool)
            container[key] = value
            bad = bad or value_bad
    return f"{count} map entries", bad


def _switch_oneof(rng: Random, message: Message, pool: ValuePool) -> ProtoMutation | None:
    oneofs = list(message.DESCRIPTOR.oneofs)
    if not oneofs:
        return None
    oneof = rng.choice(oneofs)
    current = message.WhichOneof(oneof.name)
    choices = [fd for fd in oneof.fields if fd.name != current]
    if not choices:
        return None
    fd = rng.choice(choices)
    if fd.cpp_type == F.CPPTYPE_MESSAGE:
        getattr(message, fd.name).SetInParent()
        return ProtoMutation(f"oneof {oneof.name}: {current} -> {fd.name}")
    value, what, bad = _scalar(rng, fd, pool)
    setattr(message, fd.name, value)
    return ProtoMutation(f"oneof {oneof.name}: {current} -> {fd.name}={what}", bad)


def mutate_field(rng: Random, message: Message, pool: ValuePool, depth: int = 0) -> ProtoMutation:
    """Pick a field of ``message`` (descending into nested messages) and set it to something adversarial."""
    descriptor = message.DESCRIPTOR
    if not descriptor.fields:
        return ProtoMutation(f"{descriptor.name} has no fields")
    if rng.random() < 0.1:
        switched = _switch_oneof(rng, message, pool)
        if switched is not None:
            return switched
    present = [fd for fd, _ in message.ListFields()]
    fd = rng.choice(present) if present and rng.random() < 0.7 else rng.choice(descriptor.fields)
    label = f"{descriptor.name}.{fd.name}"
    is_map = fd.message_type is not None and fd.message_type.GetOptions().map_entry
    if is_map:
        what, bad = _fill_map(rng, getattr(message, fd.name), fd, pool)
        return ProtoMutation(f"{label}: {what}", bad)
    if fd.is_repeated:
        container = getattr(message, fd.name)
        if fd.cpp_type == F.CPPTYPE_MESSAGE and len(container) and depth < MAX_WALK_DEPTH and rng.random() < 0.5:
            inner = mutate_field(rng, container[rng.randrange(len(container))], pool, depth + 1)
            return ProtoMutation(f"{label}[]: {inner.description}", inner.invalid_utf8)
        what, bad = _fill_repeated(rng, container, fd, pool)
        return ProtoMutation(f"{label}: {what}", bad)
    if fd.cpp_type == F.CPPTYPE_MESSAGE:
        child = getattr(message, fd.name)
        roll = rng.random()
        if roll < 0.1:
            message.ClearField(fd.name)
            return ProtoMutation(f"{label}: cleared")
        if roll < 0.2:
            child.Clear()
            child.SetInParent()
            return ProtoMutation(f"{label}: present but empty")
        special = _set_special_message(rng, child, pool)
        if special is not None:
            return ProtoMutation(f"{label}: {special}")
        if depth < MAX_WALK_DEPTH:
            inner = mutate_field(rng, child, pool, depth + 1)
            return ProtoMutation(f"{label}.{inner.description}", inner.invalid_utf8)
        child.SetInParent()
        return ProtoMutation(f"{label}: set at max depth")
    value, what, bad = _scalar(rng, fd, pool)
    setattr(message, fd.name, value)
    return ProtoMutation(f"{label}={what}", bad)


def patch_invalid_utf8(rng: Random, data: bytes) -> bytes:
    """Replace each UTF-8 sentinel with invalid UTF-8 of the same length (so every length stays right)."""
    sentinel = UTF8_SENTINEL.encode()
    while sentinel in data:
        data = data.replace(sentinel, rng.choice(_INVALID_UTF8)[: len(sentinel)].ljust(len(sentinel), b"\xff"), 1)
    return data
