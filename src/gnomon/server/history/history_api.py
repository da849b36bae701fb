"""GetWorkflowExecutionHistory (paging and long polls) and its reverse form."""

from __future__ import annotations

import asyncio
import json

from temporalio.api.enums.v1 import HistoryEventFilterType
from temporalio.api.history.v1 import History, HistoryEvent

from gnomon.server.errors import InvalidArgumentError
from gnomon.server.history.engine import HistoryEngine, RunContext

# The reference's page size for history: the default, and the most one page holds.
MAX_PAGE_SIZE = 256


def page_size_of(requested: int) -> int:
    """The page size used for a requested one: unset or negative means the default, as on the reference."""
    return MAX_PAGE_SIZE if requested <= 0 else min(requested, MAX_PAGE_SIZE)


def _encode_token(run_id: str, next_event_id: int) -> bytes:
    return json.dumps({"run_id": run_id, "next_event_id": next_event_id}).encode()


def decode_page_token(token: bytes, run_id: str) -> int:
    """The event id a page token continues from."""
    try:
        raw = json.loads(token)
        next_event_id = int(raw["next_event_id"])
        token_run = str(raw["run_id"])
    except (ValueError, KeyError, TypeError):
        raise InvalidArgumentError("Invalid NextPageToken.") from None
    if run_id and token_run != run_id:
        raise InvalidArgumentError("Invalid NextPageToken: it belongs to another run.")
    return next_event_id


async def _wait_for_change(engine: HistoryEngine, ctx: RunContext, timeout: float) -> RunContext:
    """The run after its next commit, or after ``timeout``; settled either way."""
    try:
        async with asyncio.timeout(timeout):
            await engine.changed(ctx.key).wait()
    except TimeoutError:
        pass
    return await engine.settled(ctx)


async def get_history(
    engine: HistoryEngine,
    ctx: RunContext,
    *,
    page_size: int,
    token: bytes,
    wait_new_event: bool,
    filter_type: int,
    long_poll_timeout: float,
) -> tuple[History, bytes]:
    """One page of history and the token for the next (empty when there is none)."""
    page_size = page_size_of(page_size)
    run_id = ctx.ms.run_id
    first = decode_page_token(token, run_id) if token else 1
    loop = asyncio.get_running_loop()
    deadline = loop.time() + long_poll_timeout
    # Whether the run is open and which events are stored must be read together: a run
    # mid-transition may already be closed while its last events are still being written.
    ctx = await engine.settled(ctx)

    if filter_type == HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT:
        while ctx.ms.is_open and wait_new_event and loop.time() < deadline:
            ctx = await _wait_for_change(engine, ctx, deadline - loop.time())
        if ctx.ms.is_open:
            # Still running: the caller polls again with this token.
            return (History(), _encode_token(run_id, ctx.ms.last_committed_event_id + 1) if wait_new_event else b"")
        close = await engine.read_events(ctx, ctx.ms.close_event_id)
        return History(events=close[:1]), b""

    if wait_new_event:
        while ctx.ms.is_open and ctx.ms.last_committed_event_id < first and loop.time() < deadline:
            ctx = await _wait_for_change(engine, ctx, deadline - loop.time())
    is_open = ctx.ms.is_open  # as settled: read_events may wait while a transition starts
    events = await engine.read_events(ctx, first)
    page = events[:page_size]
    next_token = b""
    if len(events) > page_size:
        next_token = _encode_token(run_id, page[-1].event_id + 1)
    elif wait_new_event and is_open:
        next_first = page[-1].event_id + 1 if page else first
        next_token = _encode_token(run_id, next_first)
    return History(events=page), next_token


async def get_history_reverse(
    engine: HistoryEngine, ctx: RunContext, *, page_size: int, token: bytes
) -> tuple[History, bytes]:
    """History newest first, one page at a time."""
    page_size = page_size_of(page_size)
    run_id = ctx.ms.run_id
    ctx = await engine.settled(ctx)
    last = decode_page_token(token, run_id) if token else ctx.ms.last_committed_event_id
    events: list[HistoryEvent] = [e for e in await engine.read_events(ctx) if e.event_id <= last]
    events.reverse()
    page = events[:page_size]
    next_token = _encode_token(run_id, page[-1].event_id - 1) if len(events) > page_size else b""
    return History(events=page), next_token
