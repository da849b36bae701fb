"""The ``raw`` driver: a minimal load generator on the bare gRPC API.

It speaks ``temporal.api.workflowservice.v1`` through the generated async stubs, with no
SDK in between, so that nearly all the CPU a run costs is the server's. Its worker polls
the normal (not sticky) task queue, so every workflow task carries the run's full
history, and answers from that history alone (:mod:`bench.drivers.decide`). Its
histories have the SDK's shape, and it runs unchanged against the reference server.

Completion: the worker that sends a run's CompleteWorkflowExecution command resolves the
starter's future once RespondWorkflowTaskCompleted has returned (the server acknowledges
only what it has stored), so latency costs no extra RPC. A workflow's tasks reach this
process's worker because each driver process has its own task queue.

    python -m bench.drivers.raw --address 127.0.0.1:7233 --workload one_activity \\
        --concurrency 10 --workflows 100
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import grpc
from temporalio.api.common.v1 import WorkflowExecution, WorkflowType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    GetWorkflowExecutionHistoryRequest,
    PollActivityTaskQueueRequest,
    PollActivityTaskQueueResponse,
    PollWorkflowTaskQueueRequest,
    PollWorkflowTaskQueueResponse,
    RespondActivityTaskCompletedRequest,
    RespondWorkflowTaskCompletedRequest,
    SignalWorkflowExecutionRequest,
    StartWorkflowExecutionRequest,
)
from temporalio.api.workflowservice.v1.service_pb2_grpc import WorkflowServiceStub

from bench.drivers import common
from bench.drivers.decide import RESULT, completes, decide
from bench.workloads import NAMESPACE, SIGNAL_NAME, WORKFLOW_TYPES, Workload

#: Outstanding long polls per task type; answering is handed off, so a few suffice.
POLLERS = 4
#: The reference server refuses a long poll without a deadline; the SDKs give it 70 s.
POLL_TIMEOUT_S = 70.0
RETRY_DELAY_S = 0.2
# Worth another try; any other failure of a poll means the driver itself is wrong.
_TRANSIENT = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.ABORTED})


class RawWorker:
    """Polls one task queue's workflow and activity tasks and answers every one of them."""

    def __init__(self, stub: WorkflowServiceStub, task_queue: str, identity: str) -> None:
        self._stub = stub
        self._task_queue = task_queue
        self._identity = identity
        self._waiters: dict[str, asyncio.Future[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._fatal: Exception | None = None

    def expect(self, workflow_id: str) -> asyncio.Future[None]:
        """A future resolved when this worker completes the run of ``workflow_id``."""
        if self._fatal is not None:
            raise self._fatal
        future = asyncio.get_running_loop().create_future()
        self._waiters[workflow_id] = future
        return future

    def forget(self, workflow_id: str) -> None:
        self._waiters.pop(workflow_id, None)

    def start(self) -> None:
        for _ in range(POLLERS):
            self._spawn(self._poll_workflow_tasks())
            self._spawn(self._poll_activity_tasks())

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- workflow tasks ----------------------------------------------------------------

    async def _poll_workflow_tasks(self) -> None:
        request = PollWorkflowTaskQueueRequest(
            namespace=NAMESPACE, task_queue=TaskQueue(name=self._task_queue), identity=self._identity
        )
        while True:
            try:
                task = await self._stub.PollWorkflowTaskQueue(request, timeout=POLL_TIMEOUT_S)
            except grpc.aio.AioRpcError as error:
                await self._poll_failed("PollWorkflowTaskQueue", error)
                continue
            if task.task_token:  # empty: the long poll expired
                self._spawn(self._answer_workflow_task(task))

    async def _answer_workflow_task(self, task: PollWorkflowTaskQueueResponse) -> None:
        workflow_id = task.workflow_execution.workflow_id
        commands = decide(
            WORKFLOW_TYPES[task.workflow_type.name],
            await self._full_history(task),
            workflow_id=workflow_id,
            task_queue=self._task_queue,
        )
        try:
            await self._stub.RespondWorkflowTaskCompleted(
                RespondWorkflowTaskCompletedRequest(
                    task_token=task.task_token, commands=commands, identity=self._identity, namespace=NAMESPACE
                )
            )
        except grpc.aio.AioRpcError as error:
            # The server retries the task after its timeout; the run is not lost.
            await self._rpc_failed("RespondWorkflowTaskCompleted", error)
            return
        if completes(commands):
            waiter = self._waiters.pop(workflow_id, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    async def _full_history(self, task: PollWorkflowTaskQueueResponse) -> list[HistoryEvent]:
        """The task's history, with any further pages (only long histories have them)."""
        events = list(task.history.events)
        token = task.next_page_token
        while token:
            page = await self._stub.GetWorkflowExecutionHistory(
                GetWorkflowExecutionHistoryRequest(
                    namespace=NAMESPACE, execution=task.workflow_execution, next_page_token=token
                )
            )
            events += page.history.events
            token = page.next_page_token
        return events

    # -- activity tasks ----------------------------------------------------------------

    async def _poll_activity_tasks(self) -> None:
        request = PollActivityTaskQueueRequest(
            namespace=NAMESPACE, task_queue=TaskQueue(name=self._task_queue), identity=self._identity
        )
        while True:
            try:
                task = await self._stub.PollActivityTaskQueue(request, timeout=POLL_TIMEOUT_S)
            except grpc.aio.AioRpcError as error:
                await self._poll_failed("PollActivityTaskQueue", error)
                continue
            if task.task_token:
                self._spawn(self._answer_activity_task(task))

    async def _answer_activity_task(self, task: PollActivityTaskQueueResponse) -> None:
        try:
            await self._stub.RespondActivityTaskCompleted(
                RespondActivityTaskCompletedRequest(
                    task_token=task.task_token, result=RESULT, identity=self._identity, namespace=NAMESPACE
                )
            )
        except grpc.aio.AioRpcError as error:
            await self._rpc_failed("RespondActivityTaskCompleted", error)

    async def _poll_failed(self, method: str, error: grpc.aio.AioRpcError) -> None:
        """Poll again after a transient failure; otherwise fail every run waiting on this worker."""
        code = error.code()
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            return  # a long poll that found nothing
        if code == grpc.StatusCode.CANCELLED:
            raise asyncio.CancelledError  # the channel is closing
        await self._rpc_failed(method, error)
        if code not in _TRANSIENT:
            self._fatal = RuntimeError(f"{method} failed: {code.name}: {error.details()}")
            for waiter in self._waiters.values():
                if not waiter.done():
                    waiter.set_exception(self._fatal)
            raise self._fatal

    @staticmethod
    async def _rpc_failed(method: str, error: grpc.aio.AioRpcError) -> None:
        print(f"{method}: {error.code().name}: {error.details()}", file=sys.stderr)
        await asyncio.sleep(RETRY_DELAY_S)


class RawSession:
    """Starts runs of one workload and waits for its own worker to complete them."""

    def __init__(self, stub: WorkflowServiceStub, worker: RawWorker, workload: Workload, task_queue: str) -> None:
        self._stub = stub
        self._worker = worker
        self._workload = workload
        self._task_queue = TaskQueue(name=task_queue)
        self._identity = f"bench-raw-starter-{os.getpid()}"

    async def execute(self, workflow_id: str) -> None:
        done = self._worker.expect(workflow_id)
        try:
            await self._stub.StartWorkflowExecution(
                StartWorkflowExecutionRequest(
                    namespace=NAMESPACE,
                    workflow_id=workflow_id,
                    workflow_type=WorkflowType(name=self._workload.workflow_type),
                    task_queue=self._task_queue,
                    identity=self._identity,
                    request_id=str(uuid.uuid4()),
                )
            )
            if self._workload.needs_signal:
                await self._stub.SignalWorkflowExecution(
                    SignalWorkflowExecutionRequest(
                        namespace=NAMESPACE,
                        workflow_execution=WorkflowExecution(workflow_id=workflow_id),
                        signal_name=SIGNAL_NAME,
                        identity=self._identity,
                        request_id=str(uuid.uuid4()),
                    )
                )
            await done
        finally:
            self._worker.forget(workflow_id)


@asynccontextmanager
async def open_session(config: common.DriverConfig) -> AsyncIterator[RawSession]:
    """A channel, a running worker on ``config.task_queue`` and a starter for the workload."""
    async with grpc.aio.insecure_channel(config.address) as channel:
        stub = WorkflowServiceStub(channel)
        worker = RawWorker(stub, config.task_queue, identity=f"bench-raw-worker-{os.getpid()}")
        worker.start()
        try:
            yield RawSession(stub, worker, config.workload, config.task_queue)
        finally:
            await worker.stop()


if __name__ == "__main__":
    common.main(__doc__.splitlines()[0], open_session)
