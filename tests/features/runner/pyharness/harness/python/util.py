"""Update helpers the feature files import: wait until the server has admitted an update."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.update.v1 import UpdateRef
from temporalio.api.workflowservice.v1 import PollWorkflowExecutionUpdateRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

T = TypeVar("T")


async def workflow_update_has_been_admitted(client: Client, workflow_id: str, update_id: str) -> bool:
    """Whether the server knows update ``update_id`` of ``workflow_id`` (a non-blocking poll answers)."""
    request = PollWorkflowExecutionUpdateRequest(
        namespace=client.namespace,
        update_ref=UpdateRef(workflow_execution=WorkflowExecution(workflow_id=workflow_id), update_id=update_id),
    )
    try:
        await client.workflow_service.poll_workflow_execution_update(request)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def assert_eq_eventually(
    expected: T,
    fn: Callable[[], Awaitable[T]],
    *,
    timeout: timedelta = timedelta(seconds=10),
    interval: timedelta = timedelta(milliseconds=200),
) -> None:
    """Call ``fn`` every ``interval`` until it returns ``expected``; fail with its last value after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout.total_seconds()
    while True:
        last = await fn()
        if last == expected:
            return
        if loop.time() >= deadline:
            raise AssertionError(f"still {last!r}, not {expected!r}, after {timeout}")
        await asyncio.sleep(interval.total_seconds())


async def admitted_update_task(
    client: Client, handle: WorkflowHandle, update_method: Any, id: str, **kwargs: Any
) -> asyncio.Task[Any]:
    """Send update ``id`` in a task and return the task once the server has admitted the update."""
    task = asyncio.create_task(handle.execute_update(update_method, id=id, **kwargs))
    await assert_eq_eventually(True, lambda: workflow_update_has_been_admitted(client, handle.id, id))
    return task
