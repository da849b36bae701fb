"""The real state the seed corpus points at: namespaces, workflows, task tokens, page tokens, batch jobs.

A mutant of a request that names nothing real stops at the first lookup; one that names a running
workflow, a pending task's token or a real page token gets past it. :class:`World` creates those with
ordinary, valid RPCs before the fuzzing starts, and :meth:`World.refresh` renews the consumable ones
(task tokens are good for one answer) before each batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, field

import grpc
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import DecodeError
from temporalio.api.command.v1 import (
    Command,
    CompleteWorkflowExecutionCommandAttributes,
    ScheduleActivityTaskCommandAttributes,
)
from temporalio.api.common.v1 import ActivityType, Payload, Payloads, WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import (
    CommandType,
    IndexedValueType,
    UpdateWorkflowExecutionLifecycleStage,
    WorkflowExecutionStatus,
)
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, DeleteNamespaceRequest
from temporalio.api.operatorservice.v1.service_pb2_grpc import OperatorServiceStub
from temporalio.api.query.v1 import WorkflowQuery
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.update.v1 import Input, Meta, Request, WaitPolicy
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    DescribeWorkflowExecutionRequest,
    GetWorkflowExecutionHistoryRequest,
    GetWorkflowExecutionHistoryReverseRequest,
    ListBatchOperationsRequest,
    ListClosedWorkflowExecutionsRequest,
    ListNamespacesRequest,
    ListOpenWorkflowExecutionsRequest,
    ListWorkflowExecutionsRequest,
    PollActivityTaskQueueRequest,
    PollWorkflowTaskQueueRequest,
    PollWorkflowTaskQueueResponse,
    QueryWorkflowRequest,
    RegisterNamespaceRequest,
    RespondWorkflowTaskCompletedRequest,
    ScanWorkflowExecutionsRequest,
    StartBatchOperationRequest,
    StartWorkflowExecutionRequest,
    UpdateWorkflowExecutionRequest,
)
from temporalio.api.workflowservice.v1.service_pb2_grpc import WorkflowServiceStub

from tests.fuzz.proto_mutations import ValuePool

logger = logging.getLogger(__name__)

NAMESPACE = "default"
TARGET_TYPE = "FuzzTarget"
BATCH_TARGET_TYPE = "FuzzBatchTarget"
#: Deadline of the world's own calls (polls among them: the server answers them within it).
CALL_TIMEOUT = 10.0
#: Fresh workflow task tokens made for each batch.
TOKENS_PER_REFRESH = 4
ACTIVITIES_PER_REFRESH = 2


@dataclass
class ActivityTask:
    """A started activity: its token, and what the ...ById RPCs name it by."""

    token: bytes
    execution: WorkflowExecution
    activity_id: str


@dataclass
class World:
    """Real namespaces, workflows and tokens on one server, for the seed corpus to refer to."""

    channel: grpc.aio.Channel
    seed: int
    fuzz_namespace: str = ""
    health_namespace: str = ""
    task_queue: str = ""
    running: list[WorkflowExecution] = field(default_factory=list)
    closed: list[WorkflowExecution] = field(default_factory=list)
    workflow_tokens: list[bytes] = field(default_factory=list)
    activities: list[ActivityTask] = field(default_factory=list)
    query_tokens: list[bytes] = field(default_factory=list)
    updates: list[tuple[WorkflowExecution, str]] = field(default_factory=list)
    page_tokens: dict[str, bytes] = field(default_factory=dict)
    job_ids: list[str] = field(default_factory=list)
    doomed_namespaces: list[str] = field(default_factory=list)
    search_attributes: list[str] = field(default_factory=list)
    namespace_ids: set[str] = field(default_factory=set)
    _refreshes: int = 0
    _background: list[asyncio.Task[object]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.workflows = WorkflowServiceStub(self.channel)
        self.operator = OperatorServiceStub(self.channel)
        prefix = f"fuzz-{self.seed}"
        self.fuzz_namespace = f"{prefix}-ns"
        self.health_namespace = f"{prefix}-health"
        self.task_queue = f"{prefix}-tq"

    # -- plain calls --------------------------------------------------------------------------

    async def start(
        self, workflow_id: str, task_queue: str, namespace: str = NAMESPACE, kind: str = TARGET_TYPE
    ) -> WorkflowExecution:
        """Start a workflow (no worker runs it: the fuzzer plays the worker where it needs one)."""
        response = await self.workflows.StartWorkflowExecution(
            StartWorkflowExecutionRequest(
                namespace=namespace,
                workflow_id=workflow_id,
                workflow_type=WorkflowType(name=kind),
                task_queue=TaskQueue(name=task_queue),
                request_id=str(uuid.uuid4()),
                identity="fuzzer",
                workflow_task_timeout=Duration(seconds=60),
            ),
            timeout=CALL_TIMEOUT,
        )
        return WorkflowExecution(workflow_id=workflow_id, run_id=response.run_id)

    async def poll_workflow_task(self, task_queue: str, namespace: str = NAMESPACE) -> PollWorkflowTaskQueueResponse:
        return await self.workflows.PollWorkflowTaskQueue(
            PollWorkflowTaskQueueRequest(namespace=namespace, task_queue=TaskQueue(name=task_queue), identity="fuzzer"),
            timeout=CALL_TIMEOUT,
        )

    async def complete_workflow_task(self, token: bytes, commands: list[Command], namespace: str = NAMESPACE) -> None:
        await self.workflows.RespondWorkflowTaskCompleted(
            RespondWorkflowTaskCompletedRequest(
                namespace=namespace, task_token=token, commands=commands, identity="fuzzer"
            ),
            timeout=CALL_TIMEOUT,
        )

    async def _started_workflow_task(self, workflow_id: str, task_queue: str) -> tuple[WorkflowExecution, bytes]:
        execution = await self.start(workflow_id, task_queue)
        task = await self.poll_workflow_task(task_queue)
        if not task.task_token:
            raise RuntimeError(f"no workflow task for {workflow_id} on {task_queue}")
        return execution, task.task_token

    # -- building the world -------------------------------------------------------------------

    async def setup(self) -> None:
        """Create everything the seeds refer to; every call here must succeed."""
        for name in (self.fuzz_namespace, self.health_namespace):
            await self.workflows.RegisterNamespace(
                RegisterNamespaceRequest(namespace=name, workflow_execution_retention_period=Duration(seconds=86400)),
                timeout=CALL_TIMEOUT,
            )
        for name in (NAMESPACE, self.fuzz_namespace, self.health_namespace):
            described = await self.workflows.DescribeNamespace(
                DescribeNamespaceRequest(namespace=name), timeout=CALL_TIMEOUT
            )
            self.namespace_ids.add(described.namespace_info.id)
        prefix = f"fuzz-{self.seed}"
        # Closed workflows, with histories long enough for a page token.
        for i in range(2):
            execution, token = await self._started_workflow_task(f"{prefix}-closed-{i}", f"{prefix}-setup")
            complete = Command(
                command_type=CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
                complete_workflow_execution_command_attributes=CompleteWorkflowExecutionCommandAttributes(),
            )
            await self.complete_workflow_task(token, [complete])
            self.closed.append(execution)
        # Running workflows whose first task waits on the fuzzed task queue (for the fuzzed polls).
        for i in range(3):
            self.running.append(await self.start(f"{prefix}-running-{i}", self.task_queue))
        for i in range(2):
            await self.start(f"{prefix}-batch-target-{i}", f"{prefix}-setup-batch", kind=BATCH_TARGET_TYPE)
        await self._add_search_attribute("FuzzKeyword0")
        await self._start_batches()
        await self._start_update()
        await asyncio.sleep(0.6)  # visibility flushes every 250 ms: let list pages see the workflows
        await self._collect_page_tokens()
        await self.refresh()

    async def _add_search_attribute(self, name: str) -> None:
        await self.operator.AddSearchAttributes(
            AddSearchAttributesRequest(
                namespace=NAMESPACE, search_attributes={name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD}
            ),
            timeout=CALL_TIMEOUT,
        )
        self.search_attributes.append(name)

    async def _start_batches(self) -> None:
        for i in range(2):
            job_id = f"fuzz-{self.seed}-job-{i}"
            request = StartBatchOperationRequest(
                namespace=NAMESPACE,
                job_id=job_id,
                reason="fuzz",
                visibility_query=f"WorkflowType = '{BATCH_TARGET_TYPE}'",
            )
            request.signal_operation.signal = "fuzz"
            await self.workflows.StartBatchOperation(request, timeout=CALL_TIMEOUT)
            self.job_ids.append(job_id)

    async def _start_update(self) -> None:
        """An admitted update on a running workflow (nobody accepts it: its id is what PollUpdate needs)."""
        execution = self.running[0]
        update_id = f"fuzz-{self.seed}-update"
        request = UpdateWorkflowExecutionRequest(
            namespace=NAMESPACE,
            workflow_execution=execution,
            wait_policy=WaitPolicy(
                lifecycle_stage=UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED
            ),
            request=Request(meta=Meta(update_id=update_id, identity="fuzzer"), input=Input(name="fuzz-update")),
        )
        self._background.append(
            asyncio.create_task(self._ignore_errors(self.workflows.UpdateWorkflowExecution(request, timeout=3.0)))
        )
        self.updates.append((execution, update_id))
        await asyncio.sleep(0.2)  # let it be admitted

    async def _collect_page_tokens(self) -> None:
        """A real next_page_token of every paged RPC (an empty one where the server had a single page)."""
        history = await self.workflows.GetWorkflowExecutionHistory(
            GetWorkflowExecutionHistoryRequest(namespace=NAMESPACE, execution=self.closed[0], maximum_page_size=1),
            timeout=CALL_TIMEOUT,
        )
        reverse = await self.workflows.GetWorkflowExecutionHistoryReverse(
            GetWorkflowExecutionHistoryReverseRequest(
                namespace=NAMESPACE, execution=self.closed[0], maximum_page_size=1
            ),
            timeout=CALL_TIMEOUT,
        )
        namespaces = await self.workflows.ListNamespaces(ListNamespacesRequest(page_size=1), timeout=CALL_TIMEOUT)
        listed = await self.workflows.ListWorkflowExecutions(
            ListWorkflowExecutionsRequest(namespace=NAMESPACE, page_size=1), timeout=CALL_TIMEOUT
        )
        scanned = await self.workflows.ScanWorkflowExecutions(
            ScanWorkflowExecutionsRequest(namespace=NAMESPACE, page_size=1), timeout=CALL_TIMEOUT
        )
        opened = await self.workflows.ListOpenWorkflowExecutions(
            ListOpenWorkflowExecutionsRequest(namespace=NAMESPACE, maximum_page_size=1), timeout=CALL_TIMEOUT
        )
        closed = await self.workflows.ListClosedWorkflowExecutions(
            ListClosedWorkflowExecutionsRequest(namespace=NAMESPACE, maximum_page_size=1), timeout=CALL_TIMEOUT
        )
        batches = await self.workflows.ListBatchOperations(
            ListBatchOperationsRequest(namespace=NAMESPACE, page_size=1), timeout=CALL_TIMEOUT
        )
        self.page_tokens = {
            "GetWorkflowExecutionHistory": history.next_page_token,
            "GetWorkflowExecutionHistoryReverse": reverse.next_page_token,
            "ListNamespaces": namespaces.next_page_token,
            "ListWorkflowExecutions": listed.next_page_token,
            "ScanWorkflowExecutions": scanned.next_page_token,
            "ListOpenWorkflowExecutions": opened.next_page_token,
            "ListClosedWorkflowExecutions": closed.next_page_token,
            "ListBatchOperations": batches.next_page_token,
        }
        missing = [name for name, token in self.page_tokens.items() if not token]
        if missing:
            logger.warning("no next_page_token from %s", missing)

    async def refresh(self) -> None:
        """New one-use tokens: workflow tasks, activity tasks, a query task, a namespace to delete."""
        self._refreshes += 1
        for task in self._background:
            task.cancel()
        self._background = []
        prefix = f"fuzz-{self.seed}-r{self._refreshes}"
        queue = f"{prefix}-tq"
        tokens = []
        for i in range(TOKENS_PER_REFRESH + ACTIVITIES_PER_REFRESH):
            tokens.append(await self._started_workflow_task(f"{prefix}-wf-{i}", queue))
        self.workflow_tokens = [token for _, token in tokens[:TOKENS_PER_REFRESH]]
        self.running = self.running[:3] + [execution for execution, _ in tokens[:TOKENS_PER_REFRESH]]
        self.activities = []
        for execution, token in tokens[TOKENS_PER_REFRESH:]:
            self.activities.append(await self._started_activity(execution, token, queue))
        self.query_tokens = [await self._query_token(f"{prefix}-query", f"{prefix}-query-tq")]
        doomed = f"{prefix}-doomed"
        await self.workflows.RegisterNamespace(
            RegisterNamespaceRequest(namespace=doomed, workflow_execution_retention_period=Duration(seconds=86400)),
            timeout=CALL_TIMEOUT,
        )
        self.doomed_namespaces = [doomed]

    async def _started_activity(self, execution: WorkflowExecution, token: bytes, queue: str) -> ActivityTask:
        activity_id = "fuzz-activity"
        schedule = Command(
            command_type=CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
            schedule_activity_task_command_attributes=ScheduleActivityTaskCommandAttributes(
                activity_id=activity_id,
                activity_type=ActivityType(name="FuzzActivity"),
                task_queue=TaskQueue(name=queue),
                start_to_close_timeout=Duration(seconds=3600),
            ),
        )
        await self.complete_workflow_task(token, [schedule])
        task = await self.workflows.PollActivityTaskQueue(
            PollActivityTaskQueueRequest(namespace=NAMESPACE, task_queue=TaskQueue(name=queue), identity="fuzzer"),
            timeout=CALL_TIMEOUT,
        )
        if not task.task_token:
            raise RuntimeError(f"no activity task for {execution.workflow_id}")
        return ActivityTask(task.task_token, execution, activity_id)

    async def _query_token(self, workflow_id: str, queue: str) -> bytes:
        """The token of a real query task: a query on a workflow with no task pending goes to the poller."""
        execution, token = await self._started_workflow_task(workflow_id, queue)
        await self.complete_workflow_task(token, [])
        query = QueryWorkflowRequest(namespace=NAMESPACE, execution=execution, query=WorkflowQuery(query_type="fuzz"))
        self._background.append(
            asyncio.create_task(self._ignore_errors(self.workflows.QueryWorkflow(query, timeout=8.0)))
        )
        task = await self.poll_workflow_task(queue)
        if not task.task_token:
            raise RuntimeError("no query task")
        return task.task_token

    @staticmethod
    async def _ignore_errors(call: object) -> None:
        with contextlib.suppress(grpc.RpcError, asyncio.CancelledError):
            await call  # type: ignore[misc]

    async def close(self) -> None:
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    # -- what mutations mix in ----------------------------------------------------------------

    def would_delete_a_needed_namespace(self, rpc_name: str, data: bytes) -> bool:
        """Whether this DeleteNamespace request names a namespace the fuzzer itself works in.

        Deleting ``default`` on request is legitimate (the reference does it too); it would only end the run.
        """
        if rpc_name != "DeleteNamespace":
            return False
        try:
            request = DeleteNamespaceRequest.FromString(data)
        except DecodeError:
            return False
        needed = {NAMESPACE, self.fuzz_namespace, self.health_namespace}
        return (
            request.namespace in needed
            or request.namespace_id in self.namespace_ids
            or not (request.namespace or request.namespace_id)
        )

    def pool(self) -> ValuePool:
        """Real ids, names and tokens, for mutations to put where they do not belong."""
        executions = self.running + self.closed + [a.execution for a in self.activities]
        strings = [NAMESPACE, self.fuzz_namespace, self.task_queue, *self.job_ids, *self.search_attributes]
        strings += [e.workflow_id for e in executions] + [e.run_id for e in executions]
        strings += [update_id for _, update_id in self.updates]
        blobs = [*self.workflow_tokens, *self.query_tokens, *(a.token for a in self.activities)]
        blobs += [token for token in self.page_tokens.values() if token]
        return ValuePool(strings=strings, blobs=blobs)

    async def check_health(self, attempt: int) -> None:
        """A normal start, workflow task, completion and describe, in a namespace no mutant names."""
        namespace = self.health_namespace
        queue = f"fuzz-{self.seed}-health-tq-{attempt}"
        execution = await self.start(f"fuzz-{self.seed}-health-{attempt}", queue, namespace=namespace)
        task = await self.poll_workflow_task(queue, namespace=namespace)
        if not task.task_token:
            raise AssertionError(f"health check {attempt}: no workflow task")
        complete = Command(
            command_type=CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
            complete_workflow_execution_command_attributes=CompleteWorkflowExecutionCommandAttributes(
                result=Payloads(payloads=[Payload(metadata={"encoding": b"json/plain"}, data=b'"ok"')])
            ),
        )
        await self.complete_workflow_task(task.task_token, [complete], namespace=namespace)
        described = await self.workflows.DescribeWorkflowExecution(
            DescribeWorkflowExecutionRequest(namespace=namespace, execution=execution), timeout=CALL_TIMEOUT
        )
        status = described.workflow_execution_info.status
        if status != WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED:
            raise AssertionError(f"health check {attempt}: workflow is {WorkflowExecutionStatus.Name(status)}")
