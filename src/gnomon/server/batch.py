"""Batch operations: terminate, cancel, signal or delete every workflow a query matches.

A job runs in the background right away and is kept in memory with its counts, which
DescribeBatchOperation and ListBatchOperations report (the reference runs each job as a
system workflow; here a restart forgets jobs, and one cut short by it is not resumed).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from temporalio.api.batch.v1 import BatchOperationInfo
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import BatchOperationState, BatchOperationType
from temporalio.api.workflowservice.v1 import DescribeBatchOperationResponse, StartBatchOperationRequest

from gnomon.server.errors import AlreadyExistsError, InvalidArgumentError, NotFoundError, ServiceError
from gnomon.server.history import lifecycle
from gnomon.server.history.engine import HistoryEngine, RunContext
from gnomon.server.protoutil import timestamp
from gnomon.server.visibility.service import VisibilityService

logger = logging.getLogger(__name__)

PAGE_SIZE = 1000
MAX_JOBS = 1000

Operation = Callable[[RunContext], Awaitable[None]]


@dataclass
class BatchJob:
    """One batch operation and how far it got."""

    namespace_id: str
    job_id: str
    operation_type: int
    reason: str
    query: str
    identity: str
    start_time: float
    state: int = BatchOperationState.BATCH_OPERATION_STATE_RUNNING
    close_time: float = 0.0
    total: int = 0
    completed: int = 0
    failed: int = 0

    def describe(self) -> DescribeBatchOperationResponse:
        response = DescribeBatchOperationResponse(
            operation_type=self.operation_type,  # type: ignore[arg-type]
            job_id=self.job_id,
            state=self.state,  # type: ignore[arg-type]
            start_time=timestamp(self.start_time),
            total_operation_count=self.total,
            complete_operation_count=self.completed,
            failure_operation_count=self.failed,
            identity=self.identity,
            reason=self.reason,
            query=self.query,
        )
        if self.close_time:
            response.close_time.CopyFrom(timestamp(self.close_time))
        return response

    def info(self) -> BatchOperationInfo:
        info = BatchOperationInfo(
            job_id=self.job_id,
            state=self.state,  # type: ignore[arg-type]
            start_time=timestamp(self.start_time),
            operation_type=self.operation_type,  # type: ignore[arg-type]
        )
        if self.close_time:
            info.close_time.CopyFrom(timestamp(self.close_time))
        return info


class BatchOperations:
    """Starts batch jobs and remembers them."""

    def __init__(self, engine: HistoryEngine, visibility: VisibilityService) -> None:
        self._engine = engine
        self._visibility = visibility
        self._jobs: dict[tuple[str, str], BatchJob] = {}

    def start(self, namespace_id: str, request: StartBatchOperationRequest) -> None:
        if not request.job_id:
            raise InvalidArgumentError("JobId is not set on request.")
        if (namespace_id, request.job_id) in self._jobs:
            raise AlreadyExistsError(f"Batch operation {request.job_id} already exists.")
        if bool(request.visibility_query) == bool(request.executions):
            raise InvalidArgumentError("Exactly one of VisibilityQuery and Executions must be set.")
        operation_type, operation = self._operation(request)
        job = BatchJob(
            namespace_id=namespace_id,
            job_id=request.job_id,
            operation_type=operation_type,
            reason=request.reason,
            query=request.visibility_query,
            identity=self._identity(request),
            start_time=time.time(),
        )
        if len(self._jobs) >= MAX_JOBS:  # forget the oldest finished jobs
            for key in [k for k, j in self._jobs.items() if j.close_time][: MAX_JOBS // 10]:
                del self._jobs[key]
        self._jobs[(namespace_id, request.job_id)] = job
        executions = list(request.executions)
        self._engine.spawn(self._run(job, operation, executions), name=f"batch:{request.job_id}")

    def describe(self, namespace_id: str, job_id: str) -> DescribeBatchOperationResponse:
        job = self._jobs.get((namespace_id, job_id))
        if job is None:
            raise NotFoundError(f"Batch operation {job_id} not found.")
        return job.describe()

    def list_jobs(self, namespace_id: str) -> list[BatchOperationInfo]:
        jobs = [j for (ns, _), j in self._jobs.items() if ns == namespace_id]
        return [j.info() for j in sorted(jobs, key=lambda j: -j.start_time)]

    @staticmethod
    def _identity(request: StartBatchOperationRequest) -> str:
        for name in ("termination_operation", "signal_operation", "cancellation_operation", "deletion_operation"):
            if request.HasField(name):
                return str(getattr(request, name).identity)
        return ""

    def _operation(self, request: StartBatchOperationRequest) -> tuple[int, Operation]:
        engine, reason = self._engine, request.reason
        if request.HasField("termination_operation"):
            op = request.termination_operation
            details = op.details if op.HasField("details") else None

            async def terminate(ctx: RunContext) -> None:
                await lifecycle.terminate(engine, ctx, reason=reason, details=details, identity=op.identity)

            return BatchOperationType.BATCH_OPERATION_TYPE_TERMINATE, terminate
        if request.HasField("cancellation_operation"):
            identity = request.cancellation_operation.identity

            async def cancel(ctx: RunContext) -> None:
                await lifecycle.request_cancel(engine, ctx, reason=reason, identity=identity, request_id="")

            return BatchOperationType.BATCH_OPERATION_TYPE_CANCEL, cancel
        if request.HasField("signal_operation"):
            batch_signal = request.signal_operation
            signal = lifecycle.SignalInput(
                name=batch_signal.signal,
                input=batch_signal.input if batch_signal.HasField("input") else None,
                identity=batch_signal.identity,
                request_id="",
                header=batch_signal.header if batch_signal.HasField("header") else None,
            )

            async def send(ctx: RunContext) -> None:
                await lifecycle.signal_workflow(engine, ctx, signal)

            return BatchOperationType.BATCH_OPERATION_TYPE_SIGNAL, send
        if request.HasField("deletion_operation"):

            async def delete(ctx: RunContext) -> None:
                await lifecycle.delete_workflow(engine, ctx)

            return BatchOperationType.BATCH_OPERATION_TYPE_DELETE, delete
        raise InvalidArgumentError("Batch operation type is not set or not supported.")

    async def _run(self, job: BatchJob, operation: Operation, executions: list[WorkflowExecution]) -> None:
        try:
            if not executions:
                executions = await self._matching(job)
            job.total = len(executions)
            for execution in executions:
                try:
                    ctx = await self._engine.resolve(job.namespace_id, execution.workflow_id, execution.run_id)
                    await operation(ctx)
                    job.completed += 1
                except ServiceError as error:
                    job.failed += 1
                    logger.info("batch %s: %s: %s", job.job_id, execution.workflow_id, error.message)
            job.state = BatchOperationState.BATCH_OPERATION_STATE_COMPLETED
        except ServiceError:
            job.state = BatchOperationState.BATCH_OPERATION_STATE_FAILED
            raise
        finally:
            job.close_time = time.time()

    async def _matching(self, job: BatchJob) -> list[WorkflowExecution]:
        """Every run the job's query matches, read before anything is changed."""
        found: list[WorkflowExecution] = []
        token = b""
        while True:
            page = await self._visibility.list(job.namespace_id, job.query, PAGE_SIZE, token)
            found += [info.execution for info in page.executions]
            token = page.next_page_token
            if not token:
                return found
