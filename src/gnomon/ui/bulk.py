"""Bulk actions: cancel, terminate or signal many runs, chosen by hand or by a query.

Each run is acted on with the same RPC the single-run buttons use. A run that closed in
the meantime is counted as skipped, not as an error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from temporalio.api.common.v1 import Payloads

from gnomon.server.errors import FailedPreconditionError, NotFoundError, ServiceError
from gnomon.ui.backend import Backend
from gnomon.ui.listing import and_status

ACTIONS = ("cancel", "terminate", "signal")
CONCURRENCY = 16
PAGE_SIZE = 500


@dataclass
class BulkOutcome:
    done: int = 0
    skipped: int = 0
    failed: int = 0
    first_error: str = ""

    def describe(self, verb: str) -> str:
        text = f"{verb} {self.done} workflow{'s' if self.done != 1 else ''}"
        if self.skipped:
            text += f"; {self.skipped} had already closed"
        if self.failed:
            text += f"; {self.failed} failed ({self.first_error})"
        return text + "."


@dataclass
class BulkRequest:
    action: str
    reason: str = ""
    signal_name: str = ""
    signal_input: Payloads | None = None


async def matching_runs(backend: Backend, namespace: str, query: str) -> list[tuple[str, str]]:
    """Every running run the query matches (closed runs cannot be cancelled, terminated or signalled)."""
    runs: list[tuple[str, str]] = []
    token = b""
    effective = and_status(query, "Running")
    while True:
        page = await backend.list_workflows(namespace, effective, PAGE_SIZE, token)
        runs += [(e.execution.workflow_id, e.execution.run_id) for e in page.executions]
        token = page.next_page_token
        if not token:
            return runs


def _operation(backend: Backend, namespace: str, request: BulkRequest) -> Callable[[str, str], Awaitable[None]]:
    if request.action == "cancel":
        return lambda wid, rid: backend.cancel(namespace, wid, rid, request.reason)
    if request.action == "terminate":
        return lambda wid, rid: backend.terminate(namespace, wid, rid, request.reason)
    if request.action == "signal":
        return lambda wid, rid: backend.signal(namespace, wid, rid, request.signal_name, request.signal_input)
    raise ValueError(f"unknown bulk action {request.action!r}")


async def apply(backend: Backend, namespace: str, runs: list[tuple[str, str]], request: BulkRequest) -> BulkOutcome:
    """Act on each run, a few at a time."""
    operation = _operation(backend, namespace, request)
    outcome = BulkOutcome()
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(workflow_id: str, run_id: str) -> None:
        async with limit:
            try:
                await operation(workflow_id, run_id)
            except (NotFoundError, FailedPreconditionError):
                outcome.skipped += 1
            except ServiceError as error:
                outcome.failed += 1
                outcome.first_error = outcome.first_error or error.message
            else:
                outcome.done += 1

    await asyncio.gather(*(one(wid, rid) for wid, rid in runs))
    return outcome
