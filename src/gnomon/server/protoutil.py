"""Small conversions between protobuf well-known types and Python numbers."""

from __future__ import annotations

from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

NANOS_PER_SECOND = 1_000_000_000
#: The reference caps the durations it accepts at 100 years (ElasticSearch dates end in 2262).
MAX_DURATION_SECONDS = 100 * 365 * 24 * 3600


def seconds(duration: Duration) -> float:
    """A Duration as float seconds."""
    return duration.seconds + duration.nanos / 1e9


def duration(value: float) -> Duration:
    """Float seconds as a Duration."""
    nanos = int(round(value * 1e9))
    if nanos < 0:
        d = Duration()
        d.FromNanoseconds(nanos)  # seconds and nanos must share the sign
        return d
    # Set directly: FromNanoseconds is Python code, and this runs several times per event.
    return Duration(seconds=nanos // NANOS_PER_SECOND, nanos=nanos % NANOS_PER_SECOND)


def duration_problem(value: Duration) -> str | None:
    """Why the reference refuses ``value`` as a duration (its own wording), or None if it is valid."""
    if (value.seconds > 0 and value.nanos < 0) or (value.seconds < 0 and value.nanos > 0):
        return "duration has seconds and nanos with different signs"
    if value.seconds < 0 or value.nanos < 0:
        return "negative duration"
    return None


def capped(value: Duration) -> Duration:
    """``value``, or :data:`MAX_DURATION_SECONDS` if it is longer (as the reference records it)."""
    return Duration(seconds=MAX_DURATION_SECONDS) if value.seconds >= MAX_DURATION_SECONDS else value


def timestamp(epoch: float) -> Timestamp:
    """Epoch seconds as a Timestamp."""
    nanos = int(epoch * 1e9)
    return Timestamp(seconds=nanos // NANOS_PER_SECOND, nanos=nanos % NANOS_PER_SECOND)


def epoch(ts: Timestamp) -> float:
    """A Timestamp as epoch seconds."""
    return ts.seconds + ts.nanos / 1e9


def copy_fields(target: Message, source: Message, *names: str) -> None:
    """Copy the named fields that are set on ``source`` (same names on both messages).

    A message field that ``source`` does not have stays absent on ``target``: the
    reference server's events carry exactly the optional parts the command carried.
    """
    for name in names:
        field = source.DESCRIPTOR.fields_by_name[name]
        value = getattr(source, name)
        if field.is_repeated:
            if field.message_type is not None and field.message_type.GetOptions().map_entry:
                for key, item in value.items():
                    entry = getattr(target, name)
                    if hasattr(item, "CopyFrom"):
                        entry[key].CopyFrom(item)
                    else:
                        entry[key] = item
            else:
                getattr(target, name).extend(value)
        elif field.message_type is not None:
            if source.HasField(name):
                getattr(target, name).CopyFrom(value)
        else:
            setattr(target, name, value)
