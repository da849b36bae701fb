"""Serialise dataclass trees that hold protobuf messages to compact JSON bytes, and back.

The mutable state of a run is a tree of dataclasses; its proto-valued fields (payloads,
failures, events) are stored as base64 of their wire form. The type hints drive both
directions, so a new field needs no codec code.
"""

from __future__ import annotations

import base64
import dataclasses
import types
import typing
from functools import cache
from typing import Any, TypeVar

import orjson
from google.protobuf.message import Message

T = TypeVar("T")


def dumps(obj: Any) -> bytes:
    """The dataclass tree as JSON bytes.

    orjson walks the dataclasses in C; only protobuf messages and bytes come back to
    Python (:func:`_default`). Fields marked transient are written too (they are empty or
    unset when a run is committed) and ignored by :func:`loads`.
    """
    return orjson.dumps(obj, default=_default, option=orjson.OPT_NON_STR_KEYS)


def loads(cls: type[T], data: bytes) -> T:
    """Rebuild a dataclass tree of type ``cls`` from :func:`dumps` output."""
    return typing.cast(T, _decode(cls, orjson.loads(data)))


def _default(value: Any) -> str:
    if isinstance(value, Message):
        return base64.b64encode(value.SerializeToString()).decode()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"cannot serialise {type(value).__name__}")


@cache
def _fields(cls: type) -> tuple[dataclasses.Field[Any], ...]:
    """The persisted fields: those not marked ``metadata={"transient": True}``."""
    return tuple(f for f in dataclasses.fields(cls) if not f.metadata.get("transient"))


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _decode(tp: Any, raw: Any) -> Any:
    if raw is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _decode(inner[0], raw)
    if origin is list:
        (item,) = typing.get_args(tp)
        return [_decode(item, v) for v in raw]
    if origin is dict:
        key_type, value_type = typing.get_args(tp)
        return {key_type(k): _decode(value_type, v) for k, v in raw.items()}
    if isinstance(tp, type) and issubclass(tp, Message):
        message = tp()
        message.ParseFromString(base64.b64decode(raw))
        return message
    if tp is bytes:
        return base64.b64decode(raw)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = _hints(tp)
        kwargs = {f.name: _decode(hints[f.name], raw[f.name]) for f in _fields(tp) if f.name in raw}
        return tp(**kwargs)
    if tp is float:
        return float(raw)
    return raw
