"""Task tokens: what a worker hands back to say which task it is answering.

A token names the run and the exact task attempt, so a late, duplicate or stale answer
is recognised and rejected. The format is Gnomon's own (workers treat it as opaque).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, fields

import orjson

from gnomon.server.errors import InvalidArgumentError

MAX_EVENT_ID = 2**63 - 1
MAX_ID_LENGTH = 1_000
_MALFORMED = "Error deserializing task token."


class TokenKind(enum.Enum):
    """Which task a token answers; each RPC accepts only its own kind."""

    WORKFLOW = "workflow"
    ACTIVITY = "activity"
    QUERY = "query"


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
    # Which start of a workflow task this is (the started event's request id). A restart can
    # lose the record that a task was handed out (see engine.py), and hand the same attempt out
    # again with the same event ids: only this tells the new start's worker from the old one's.
    start_id: str = ""

    def encode(self) -> bytes:
        return orjson.dumps(self)  # compact JSON of the fields, in order

    @property
    def kind(self) -> TokenKind:
        if self.query_id:
            return TokenKind.QUERY
        return TokenKind.ACTIVITY if self.activity_id else TokenKind.WORKFLOW

    @classmethod
    def decode(cls, data: bytes, kind: TokenKind) -> TaskToken:
        """The token a worker sent, checked field by field before it can touch any state.

        Workers treat tokens as opaque, so anything but a token this server made, for this
        kind of task, is refused as INVALID_ARGUMENT: never a crash, never a half-match
        against a real task.
        """
        if not data:
            raise InvalidArgumentError("Task token not set on request.")
        try:
            raw = orjson.loads(data)
        except (orjson.JSONDecodeError, UnicodeDecodeError):
            raise InvalidArgumentError(_MALFORMED) from None
        if not isinstance(raw, dict) or not set(raw) <= _FIELDS.keys():
            raise InvalidArgumentError(_MALFORMED)
        for name, value in raw.items():
            if not _FIELDS[name](value):
                raise InvalidArgumentError(_MALFORMED)
        try:
            token = cls(**raw)
        except TypeError:  # a required field is missing
            raise InvalidArgumentError(_MALFORMED) from None
        if not token.namespace_id or not token.run_id or not token.workflow_id:
            raise InvalidArgumentError(_MALFORMED)
        if token.kind is not kind or not _COMPLETE[kind](token):
            raise InvalidArgumentError(f"Task token is not a {kind.value} task token.")
        return token


def _text(value: object) -> bool:
    return isinstance(value, str) and len(value) <= MAX_ID_LENGTH


def _count(value: object) -> bool:
    # bool is an int in Python; JSON true is not a number here.
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_EVENT_ID


_FIELDS = {f.name: (_count if f.type == "int" else _text) for f in fields(TaskToken)}
_COMPLETE = {
    TokenKind.WORKFLOW: lambda t: t.scheduled_event_id > 0 and t.attempt > 0 and t.started_event_id > 0 and t.start_id,
    TokenKind.ACTIVITY: lambda t: (
        t.scheduled_event_id > 0 and t.attempt > 0 and not t.started_event_id and not t.start_id
    ),
    TokenKind.QUERY: lambda t: (
        not (t.scheduled_event_id or t.attempt or t.started_event_id or t.activity_id or t.start_id)
    ),
}
