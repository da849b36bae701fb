"""Task tokens: what a worker hands back to say which task it is answering.

A token names the run and the exact task attempt, so a late, duplicate or stale answer
is recognised and rejected. The format is Gnomon's own (workers treat it as opaque).
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from gnomon.server.errors import InvalidArgumentError


@dataclass(frozen=True)
class TaskToken:
    """Identifies one attempt of a workflow, activity or query task."""

    namespace_id: str
    workflow_id: str
    run_id: str
    scheduled_event_id: int = 0
    attempt: int = 0
    started_event_id: int = 0
    activity_id: str = ""
    query_id: str = ""

    def encode(self) -> bytes:
        return orjson.dumps(self)  # compact JSON of the fields, in order

    @classmethod
    def decode(cls, data: bytes) -> TaskToken:
        if not data:
            raise InvalidArgumentError("Task token not set on request.")
        try:
            raw = orjson.loads(data)
            token = cls(**raw)
        except (ValueError, TypeError, UnicodeDecodeError):
            raise InvalidArgumentError("Error deserializing task token.") from None
        if not token.namespace_id or not token.run_id:
            raise InvalidArgumentError("Error deserializing task token.")
        return token
