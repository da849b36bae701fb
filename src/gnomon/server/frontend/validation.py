"""Request checks shared by the RPCs: what is required, what is well-formed."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from functools import cache
from typing import Protocol

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from gnomon.server.errors import InvalidArgumentError
from gnomon.server.protoutil import capped, duration_problem

MAX_ID_LENGTH = 1000


def require(value: str, what: str) -> str:
    """``value``, or INVALID_ARGUMENT naming the missing field."""
    if not value:
        raise InvalidArgumentError(f"{what} is not set on request.")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidArgumentError(f"{what} exceeds length limit of {MAX_ID_LENGTH}.")
    return value


def run_id(value: str) -> str:
    """An empty run id (meaning the current run) or a UUID; INVALID_ARGUMENT otherwise."""
    if value:
        try:
            uuid.UUID(value)
        except ValueError:
            raise InvalidArgumentError("Invalid RunId.") from None
    return value


class ProtoEnum(Protocol):
    """A generated protobuf enum (its class, whose metaclass is the enum type wrapper)."""

    def values(self) -> Sequence[int]: ...

    def __hash__(self) -> int: ...


def known_enum(enum: ProtoEnum, value: int, what: str) -> int:
    """``value`` if it is one of the enum's values; INVALID_ARGUMENT otherwise."""
    if value not in _values_of(enum):
        raise InvalidArgumentError(f"Invalid {what}: unknown value {value}.")
    return value


@cache
def _values_of(enum: ProtoEnum) -> frozenset[int]:
    # enum.values() builds a new list on every call; requests check several enums each.
    return frozenset(enum.values())


def valid_duration(value: Duration, what: str) -> Duration:
    """``value`` capped at 100 years, as the reference reads a duration; INVALID_ARGUMENT, in its
    wording, for a negative one or one whose seconds and nanos have different signs."""
    problem = duration_problem(value)
    if problem is not None:
        raise InvalidArgumentError(f"An invalid {what} is set on request. cause: {problem}")
    return capped(value)


def valid_timestamp(timestamp: Timestamp, what: str) -> Timestamp:
    """``timestamp`` with its nanos carried into seconds, as the reference reads one (nanos of -1
    or 2e9 are accepted); INVALID_ARGUMENT if it then lies outside years 1 to 9999."""
    seconds, nanos = divmod(timestamp.seconds * 1_000_000_000 + timestamp.nanos, 1_000_000_000)
    if not _MIN_SECONDS <= seconds <= _MAX_SECONDS:
        raise InvalidArgumentError(f"Invalid {what}: not a valid timestamp.")
    return Timestamp(seconds=seconds, nanos=nanos)


_MIN_SECONDS = -62_135_596_800  # 0001-01-01T00:00:00Z
_MAX_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z
