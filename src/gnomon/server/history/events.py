"""Reading a run's committed history back."""

from __future__ import annotations

from temporalio.api.history.v1 import History, HistoryEvent

from gnomon.server.persistence import Persistence


async def read_events(
    persistence: Persistence, namespace_id: str, run_id: str, first_event_id: int = 1
) -> list[HistoryEvent]:
    """The run's committed events with ids from ``first_event_id`` on, in order."""
    events: list[HistoryEvent] = []
    for data in await persistence.read_history(namespace_id, run_id, first_event_id):
        batch = History()
        batch.ParseFromString(data)
        events.extend(e for e in batch.events if e.event_id >= first_event_id)
    return events


def encode_history(events: list[HistoryEvent]) -> bytes:
    """``History(events=events).SerializeToString()``, without first copying every event.

    A History is one repeated message field (number 1): each event is written as tag
    0x0A, its length as a varint, then its own encoding.
    """
    parts = []
    for event in events:
        data = event.SerializeToString()
        parts.append(b"\x0a" + _varint(len(data)) + data)
    return b"".join(parts)


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)
