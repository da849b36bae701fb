"""Serialise dataclass trees that hold protobuf messages to compact JSON bytes, and back.

The mutable state of a run is a tree of dataclasses; its proto-valued fields (payloads,
failures, events) are stored as base64 of their wire form. The type hints drive both
directions, so a new field needs no codec code.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import types
import typing
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

from google.protobuf.message import Message

T = TypeVar("T")


def dumps(obj: Any) -> bytes:
    """The dataclass tree as JSON bytes."""
    return json.dumps(_encode(obj), separators=(",", ":")).encode()


def loads(cls: type[T], data: bytes) -> T:
    """Rebuild a dataclass tree of type ``cls`` from :func:`dumps` output."""
    return typing.cast(T, _decode(cls, json.loads(data)))


def _encode(value: Any) -> Any:
    # Dispatch on the exact type, with one encoder built per type: this runs at every
    # commit over the whole mutable state, so it avoids repeating isinstance chains.
    encoder = _ENCODERS.get(type(value))
    if encoder is None:
        encoder = _ENCODERS[type(value)] = _encoder_for(type(value))
    return encoder(value)


def _identity(value: Any) -> Any:
    return value


def _encode_message(value: Message) -> str:
    return base64.b64encode(value.SerializeToString()).decode()


def _encode_bytes(value: bytes) -> str:
    return base64.b64encode(value).decode()


def _encode_dict(value: dict[Any, Any]) -> dict[str, Any]:
    return {str(k): _encode(v) for k, v in value.items()}


def _encode_list(value: list[Any]) -> list[Any]:
    return [_encode(v) for v in value]


def _encoder_for(cls: type) -> Callable[[Any], Any]:
    if issubclass(cls, Message):
        return _encode_message
    if dataclasses.is_dataclass(cls):
        names = tuple(f.name for f in _fields(cls))
        return lambda value: {name: _encode(getattr(value, name)) for name in names}
    if issubclass(cls, dict):
        return _encode_dict
    if issubclass(cls, list):
        return _encode_list
    if issubclass(cls, bytes):
        return _encode_bytes
    return _identity


_ENCODERS: dict[type, Callable[[Any], Any]] = {}


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
    if dataclasses.is_dataclass(tp):
        hints = _hints(tp)
        kwargs = {f.name: _decode(hints[f.name], raw[f.name]) for f in _fields(tp) if f.name in raw}
        return tp(**kwargs)
    if tp is float:
        return float(raw)
    return raw
