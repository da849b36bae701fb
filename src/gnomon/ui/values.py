"""Protobuf messages as plain view values: payloads decoded, enums named, times as datetimes.

:func:`view` turns any message into a dict keyed by the JSON (camelCase) field names the
CLI and the reference UI use, with:

* ``Payload``/``Payloads``/``Memo``/``SearchAttributes``/``Header`` decoded (see :mod:`payloads`),
* ``Failure`` as a :class:`FailureView`,
* ``Timestamp`` as an aware ``datetime``, ``Duration`` as a :class:`Span`,
* enum numbers as their short CamelCase name (``TASK_QUEUE_KIND_NORMAL`` → ``Normal``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from google.protobuf.descriptor import EnumDescriptor, FieldDescriptor
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.common.v1 import Header, Memo, Payload, Payloads, SearchAttributes
from temporalio.api.failure.v1 import Failure

from gnomon.ui import payloads


@dataclass(frozen=True)
class Span:
    """A duration, shown the way people read them (``1m 5s``, ``250ms``)."""

    seconds: float

    def __str__(self) -> str:
        return human_duration(self.seconds)

    def to_json(self) -> str:
        return str(self)


@dataclass
class FailureView:
    """A failure as the UI shows it: message, type, stack trace, and the chain of causes."""

    message: str
    type: str
    source: str = ""
    stack_trace: str = ""
    details: list[Any] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    cause: FailureView | None = None

    def chain(self) -> list[FailureView]:
        """This failure and its causes, outermost first."""
        out: list[FailureView] = []
        current: FailureView | None = self
        while current is not None:
            out.append(current)
            current = current.cause
        return out

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message, "type": self.type}
        if self.source:
            out["source"] = self.source
        if self.stack_trace:
            out["stackTrace"] = self.stack_trace
        if self.details:
            out["details"] = self.details
        out.update(self.facts)
        if self.cause is not None:
            out["cause"] = self.cause.to_json()
        return out


def human_duration(seconds: float) -> str:
    """``0.25`` → ``250ms``, ``65`` → ``1m 5s``, ``90061`` → ``1d 1h 1m``."""
    if seconds < 0:
        return "-" + human_duration(-seconds)
    if seconds == 0:
        return "0s"
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    if seconds < 60:
        return f"{seconds:.3g}s" if seconds < 10 else f"{round(seconds)}s"
    parts: list[str] = []
    remaining = round(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        amount, remaining = divmod(remaining, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return " ".join(parts[:3])


_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def words(name: str) -> str:
    """``activityType`` → ``Activity type`` (labels for attribute keys)."""
    spaced = _CAMEL_BOUNDARY.sub(" ", name).lower()
    return spaced[:1].upper() + spaced[1:]


def enum_name(descriptor: EnumDescriptor, number: int) -> str:
    """A value's name without its type prefix, in CamelCase: ``RETRY_STATE_TIMEOUT`` → ``Timeout``."""
    value = descriptor.values_by_number.get(number)
    if value is None:
        return str(number)
    prefix = _CAMEL_BOUNDARY.sub("_", descriptor.name).upper() + "_"
    name = value.name.removeprefix(prefix)
    return "".join(part.capitalize() for part in name.split("_"))


def to_datetime(ts: Timestamp) -> datetime:
    return datetime.fromtimestamp(ts.seconds + ts.nanos / 1e9, tz=UTC)


def failure_view(failure: Failure) -> FailureView:
    """A Failure proto (with its causes) as a :class:`FailureView`."""
    message, stack = failure.message, failure.stack_trace
    if failure.HasField("encoded_attributes"):
        encoded = payloads.decode(failure.encoded_attributes)
        if isinstance(encoded, dict):
            message = encoded.get("message", message)
            stack = encoded.get("stack_trace", stack)
    info_name = failure.WhichOneof("failure_info") or ""
    info = getattr(failure, info_name) if info_name else None
    facts = view(info) if info is not None else {}
    details = facts.pop("details", None)
    kind = facts.pop("type", "") if info_name == "application_failure_info" else ""
    if not kind:  # ActivityFailure, TimeoutFailure... as the SDKs name them
        kind = "".join(part.capitalize() for part in info_name.removesuffix("_failure_info").split("_")) + "Failure"
    return FailureView(
        message=message,
        type=kind,
        source=failure.source,
        stack_trace=stack,
        details=details if isinstance(details, list) else ([] if details is None else [details]),
        facts=facts,
        cause=failure_view(failure.cause) if failure.HasField("cause") else None,
    )


SPECIAL_TYPES = (Payload, Payloads, Memo, Header, SearchAttributes, Failure, Timestamp, Duration)


def flat_fields(message: Message, prefix: str = "") -> list[tuple[str, Any]]:
    """A message's fields as (label, value) rows, nested plain messages flattened.

    ``taskQueue { name kind }`` becomes the rows ``Task queue name`` and ``Task queue kind``.
    """
    rows: list[tuple[str, Any]] = []
    for fd, value in message.ListFields():
        name = prefix + (fd.json_name[:1].upper() + fd.json_name[1:] if prefix else fd.json_name)
        is_plain_message = (
            fd.type == FieldDescriptor.TYPE_MESSAGE and not fd.is_repeated and not isinstance(value, SPECIAL_TYPES)
        )
        if is_plain_message:
            rows += flat_fields(value, name) or [(words(name), {})]
        else:
            rows.append((words(name), _field(fd, value)))
    return rows


def view(message: Message) -> Any:
    """A message as a view value (see the module docstring)."""
    if isinstance(message, Payload):
        return payloads.decode(message)
    if isinstance(message, Payloads):
        return payloads.decode_all(message)
    if isinstance(message, Memo | Header):
        return {k: payloads.decode(v) for k, v in message.fields.items()}
    if isinstance(message, SearchAttributes):
        return {k: payloads.decode(v) for k, v in message.indexed_fields.items()}
    if isinstance(message, Failure):
        return failure_view(message)
    if isinstance(message, Timestamp):
        return to_datetime(message)
    if isinstance(message, Duration):
        return Span(message.seconds + message.nanos / 1e9)
    return {fd.json_name: _field(fd, value) for fd, value in message.ListFields()}


def _field(fd: FieldDescriptor, value: Any) -> Any:
    if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
        value_fd = fd.message_type.fields_by_name["value"]
        return {k: _scalar(value_fd, v) for k, v in value.items()}
    if fd.is_repeated:
        return [_scalar(fd, v) for v in value]
    return _scalar(fd, value)


def _scalar(fd: FieldDescriptor, value: Any) -> Any:
    if fd.type == FieldDescriptor.TYPE_MESSAGE:
        return view(value)
    if fd.type == FieldDescriptor.TYPE_ENUM and fd.enum_type is not None:
        return enum_name(fd.enum_type, value)
    if fd.type == FieldDescriptor.TYPE_BYTES:
        return payloads.Encoded("bytes", value)
    return value
