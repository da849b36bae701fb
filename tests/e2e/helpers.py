"""Small helpers shared by the end-to-end tests."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, TypeVar

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, WorkflowExecutionStatus
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    DescribeWorkflowExecutionResponse,
    GetWorkflowExecutionHistoryRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from tests.e2e.activities import E2EActivities
from tests.e2e.invariants import assert_well_formed
from tests.e2e.workflows import ALL_WORKFLOWS

T = TypeVar("T")

NAMESPACE = "default"
#: Upper bound for any "wait until the server reaches state X" loop.
WAIT_TIMEOUT = 15.0


def unique_id(prefix: str) -> str:
    """A workflow (or other) id no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


async def wait_for(
    probe: Callable[[], Awaitable[T | None]], *, what: str, timeout: float = WAIT_TIMEOUT, interval: float = 0.05
) -> T:
    """Call ``probe`` until it returns something truthy, and return that; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = await probe()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")
        await asyncio.sleep(interval)


@asynccontextmanager
async def running_worker(
    client: Client,
    task_queue: str,
    *,
    activities: E2EActivities | None = None,
    workflows: Sequence[type] = ALL_WORKFLOWS,
    with_activities: bool = True,
    **options: Any,
) -> AsyncIterator[Worker]:
    """Run a worker with every e2e workflow (and the given activities) for the duration of the block.

    ``with_activities=False`` makes a workflow-only worker, which never polls the activity task queue.
    """
    acts = (activities or E2EActivities()).all() if with_activities else []
    worker = Worker(client, task_queue=task_queue, workflows=list(workflows), activities=acts, **options)
    async with worker:
        yield worker


async def history_events(client: Client, workflow_id: str, run_id: str | None = None) -> list[HistoryEvent]:
    """The full history of one run (the latest run when ``run_id`` is None), checked to be well formed."""
    history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    events = list(history.events)
    assert_well_formed(events)
    return events


def event_types(events: Sequence[HistoryEvent]) -> list[EventType.ValueType]:
    """The event types, in order (``EventType`` values)."""
    return [e.event_type for e in events]


def events_of(events: Sequence[HistoryEvent], event_type: EventType.ValueType) -> list[HistoryEvent]:
    """The events of one type, in order."""
    return [e for e in events if e.event_type == event_type]


def one_event(events: Sequence[HistoryEvent], event_type: EventType.ValueType) -> HistoryEvent:
    """The single event of ``event_type``; fails if there is not exactly one."""
    found = events_of(events, event_type)
    assert len(found) == 1, f"expected one {EventType.Name(event_type)}, got {len(found)}: {type_names(events)}"
    return found[0]


def type_names(events: Sequence[HistoryEvent]) -> list[str]:
    """Readable event type names, for assertion messages."""
    return [EventType.Name(e.event_type) for e in events]


async def wait_for_event(
    client: Client, workflow_id: str, event_type: EventType.ValueType, *, run_id: str | None = None, count: int = 1
) -> list[HistoryEvent]:
    """Poll the history until it holds at least ``count`` events of ``event_type``; return the history."""

    async def probe() -> list[HistoryEvent] | None:
        events = await history_events(client, workflow_id, run_id)
        return events if len(events_of(events, event_type)) >= count else None

    return await wait_for(probe, what=f"{count}x {EventType.Name(event_type)} in {workflow_id}")


async def describe(client: Client, workflow_id: str, run_id: str = "") -> DescribeWorkflowExecutionResponse:
    """Raw DescribeWorkflowExecution."""
    return await client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(
            namespace=NAMESPACE, execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id)
        )
    )


def history_request(workflow_id: str, run_id: str = "", **fields: Any) -> GetWorkflowExecutionHistoryRequest:
    """A GetWorkflowExecutionHistoryRequest on the default namespace."""
    return GetWorkflowExecutionHistoryRequest(
        namespace=NAMESPACE, execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id), **fields
    )


async def expect_rpc_error(call: Awaitable[Any], status: RPCStatusCode) -> RPCError:
    """Await ``call`` and require it to fail with gRPC ``status``; return the error."""
    try:
        result = await call
    except RPCError as err:
        assert err.status == status, f"expected {status.name}, got {err.status.name}: {err.message}"
        return err
    raise AssertionError(f"expected {status.name}, but the call succeeded: {result!r}")


def normalized(message: str) -> str:
    """Lower-case, without spaces/underscores/dashes: so 'WorkflowId', 'workflow_id' and 'workflow id' match."""
    return "".join(ch for ch in message.lower() if ch not in " _-")


def seconds(value: float) -> timedelta:
    """Shorthand for ``timedelta(seconds=value)``."""
    return timedelta(seconds=value)


def decode(client: Client, payload: Any) -> Any:
    """Decode one payload with the client's (default JSON) payload converter."""
    return client.data_converter.payload_converter.from_payload(payload)


def decode_all(client: Client, payloads: Any) -> list[Any]:
    """Decode a ``Payloads`` message (or a list of payloads)."""
    items = payloads.payloads if hasattr(payloads, "payloads") else payloads
    return [decode(client, p) for p in items]


async def another_client(client: Client) -> Client:
    """A second, independent connection to the same server (the SDK allows one worker per client and queue)."""
    return await Client.connect(client.service_client.config.target_host, namespace=client.namespace)


async def status_of(client: Client, workflow_id: str, run_id: str = "") -> WorkflowExecutionStatus.ValueType:
    """The execution status of one run (the latest when ``run_id`` is empty)."""
    return (await describe(client, workflow_id, run_id)).workflow_execution_info.status
