"""Helpers for tests that drive workflow updates."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import UpdateWorkflowExecutionLifecycleStage
from temporalio.api.update.v1 import UpdateRef, WaitPolicy
from temporalio.api.workflowservice.v1 import PollWorkflowExecutionUpdateRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode


async def wait_until_admitted(client: Client, workflow_id: str, update_id: str, timeout: float = 15.0) -> None:
    """Wait until the workflow's current run has admitted the update (it has no event to watch for).

    Admission is observable only by asking for the update: NOT_FOUND until then; once admitted,
    a poll for acceptance blocks, and ends with the short timeout given here.
    """
    request = PollWorkflowExecutionUpdateRequest(
        namespace=client.namespace,
        update_ref=UpdateRef(workflow_execution=WorkflowExecution(workflow_id=workflow_id), update_id=update_id),
        wait_policy=WaitPolicy(
            lifecycle_stage=UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED
        ),
    )
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        try:
            await client.workflow_service.poll_workflow_execution_update(request, timeout=timedelta(seconds=0.5))
            return
        except RPCError as error:
            if error.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
                return  # found, and waiting (the client's own timeout ends the call as CANCELLED)
            # Not there yet; the reference also answers RESOURCE_EXHAUSTED while the old run closes.
            if error.status not in (RPCStatusCode.NOT_FOUND, RPCStatusCode.RESOURCE_EXHAUSTED):
                raise
        await asyncio.sleep(0.05)
    raise TimeoutError(f"update {update_id} never reached the current run of {workflow_id}")
