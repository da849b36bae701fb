"""History batches are encoded exactly as protobuf encodes a History message."""

from __future__ import annotations

from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.history.v1 import (
    History,
    HistoryEvent,
    WorkflowExecutionSignaledEventAttributes,
)

from gnomon.server.history.events import encode_history


def _event(event_id: int, size: int) -> HistoryEvent:
    attrs = WorkflowExecutionSignaledEventAttributes(
        signal_name="s", input=Payloads(payloads=[Payload(data=b"x" * size)])
    )
    return HistoryEvent(event_id=event_id, workflow_execution_signaled_event_attributes=attrs)


def test_encode_history_matches_protobuf() -> None:
    # Sizes around the one- and two-byte varint boundaries, and a large one.
    events = [_event(i, size) for i, size in enumerate([0, 100, 120, 127, 128, 16_000, 300_000], start=1)]
    assert encode_history(events) == History(events=events).SerializeToString()
    assert History.FromString(encode_history(events)).events == events
    assert encode_history([]) == b""
