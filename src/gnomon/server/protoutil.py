"""Small conversions between protobuf well-known types and Python numbers."""

from __future__ import annotations

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp


def seconds(duration: Duration) -> float:
    """A Duration as float seconds."""
    return duration.seconds + duration.nanos / 1e9


def duration(value: float) -> Duration:
    """Float seconds as a Duration."""
    d = Duration()
    d.FromNanoseconds(int(round(value * 1e9)))
    return d


def timestamp(epoch: float) -> Timestamp:
    """Epoch seconds as a Timestamp."""
    ts = Timestamp()
    ts.FromNanoseconds(int(epoch * 1e9))
    return ts


def epoch(ts: Timestamp) -> float:
    """A Timestamp as epoch seconds."""
    return ts.seconds + ts.nanos / 1e9
