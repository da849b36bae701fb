"""The in-memory registry of a run's in-flight updates, and their delivery as messages.

Kept apart from :mod:`.updates` so that workflow task code can attach the messages
without depending on the update API.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from google.protobuf.any_pb2 import Any as AnyProto
from temporalio.api.protocol.v1 import Message
from temporalio.api.update.v1 import Outcome, Request

if TYPE_CHECKING:
    from gnomon.server.history.engine import RunContext


@dataclass
class PendingUpdate:
    """An update admitted and not yet completed, with the futures its callers wait on."""

    request: Request
    accepted: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    completed: asyncio.Future[Outcome] = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    sent: bool = False

    @property
    def update_id(self) -> str:
        return self.request.meta.update_id


def registry(ctx: RunContext) -> dict[str, PendingUpdate]:
    """The run's in-flight updates by id (lost, like the reference's, when the run leaves memory)."""
    return ctx.updates  # type: ignore[no-any-return]


def messages_for_task(ctx: RunContext, started_event_id: int, *, include_sent: bool = True) -> list[Message]:
    """Protocol messages carrying admitted, not yet accepted updates to the worker (in admission order)."""
    messages = []
    for pending in registry(ctx).values():
        if pending.accepted.done() or (pending.sent and not include_sent):
            continue
        body = AnyProto()
        body.Pack(pending.request)
        messages.append(
            Message(
                id=f"{pending.update_id}/request",
                protocol_instance_id=pending.update_id,
                event_id=started_event_id - 1,
                body=body,
            )
        )
        pending.sent = True
    return messages


def has_undelivered(ctx: RunContext) -> bool:
    """Whether some admitted update still needs a workflow task to reach the worker."""
    return any(not p.accepted.done() for p in registry(ctx).values())
