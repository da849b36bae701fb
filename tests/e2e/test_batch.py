"""Batch operations: signal, then terminate, every workflow a query matches."""

from __future__ import annotations

import uuid

from temporalio.api.batch.v1 import BatchOperationSignal, BatchOperationTermination
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.enums.v1 import BatchOperationState, WorkflowExecutionStatus
from temporalio.api.workflowservice.v1 import DescribeBatchOperationRequest, StartBatchOperationRequest
from temporalio.client import Client

from tests.e2e.helpers import NAMESPACE, running_worker, status_of, unique_id, wait_for
from tests.e2e.workflows import SignalWorkflow


async def _wait_batch_done(client: Client, job_id: str, total: int) -> None:
    async def done() -> bool:
        described = await client.workflow_service.describe_batch_operation(
            DescribeBatchOperationRequest(namespace=NAMESPACE, job_id=job_id)
        )
        return (
            described.state == BatchOperationState.BATCH_OPERATION_STATE_COMPLETED
            and described.complete_operation_count == total
        )

    await wait_for(done, what=f"batch {job_id} to complete {total} operations", timeout=30)


async def test_batch_signal_then_terminate_by_query(client: Client, task_queue: str) -> None:
    async with running_worker(client, task_queue):
        handles = [
            await client.start_workflow(SignalWorkflow.run, id=unique_id("batch"), task_queue=task_queue)
            for _ in range(3)
        ]
        query = f"TaskQueue = '{task_queue}' AND ExecutionStatus = 'Running'"

        async def all_listed() -> bool:
            return len([w async for w in client.list_workflows(query)]) == 3

        await wait_for(all_listed, what="three running workflows to be listed")
        signal_job = f"signal-{uuid.uuid4()}"
        await client.workflow_service.start_batch_operation(
            StartBatchOperationRequest(
                namespace=NAMESPACE,
                job_id=signal_job,
                visibility_query=query,
                reason="e2e",
                signal_operation=BatchOperationSignal(
                    signal="add",
                    input=Payloads(payloads=[Payload(metadata={"encoding": b"json/plain"}, data=b'"batched"')]),
                    identity="e2e",
                ),
            )
        )
        await _wait_batch_done(client, signal_job, 3)
        for handle in handles:
            assert await handle.query(SignalWorkflow.state) == ["batched"]

        terminate_job = f"terminate-{uuid.uuid4()}"
        await client.workflow_service.start_batch_operation(
            StartBatchOperationRequest(
                namespace=NAMESPACE,
                job_id=terminate_job,
                visibility_query=query,
                reason="e2e",
                termination_operation=BatchOperationTermination(identity="e2e"),
            )
        )
        await _wait_batch_done(client, terminate_job, 3)
        for handle in handles:
            assert await status_of(client, handle.id) == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED
