"""The WorkflowService servicer: validates each request and routes it.

Each RPC is a few lines: resolve the namespace, check the request, call history or
matching, shape the response. Errors are mapped to gRPC statuses by :func:`rpc`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import grpc
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import (
    DescribeTaskQueueMode,
    HistoryEventFilterType,
    QueryRejectCondition,
    TaskQueueKind,
    TaskQueueType,
    WorkflowIdConflictPolicy,
    WorkflowIdReusePolicy,
)
from temporalio.api.enums.v1 import (
    UpdateWorkflowExecutionLifecycleStage as Stage,
)
from temporalio.api.history.v1 import WorkflowExecutionStartedEventAttributes
from temporalio.api.namespace.v1 import NamespaceInfo
from temporalio.api.taskqueue.v1 import PollerInfo, TaskQueue, TaskQueueStats, TaskQueueStatus
from temporalio.api.workflowservice.v1 import request_response_pb2 as api
from temporalio.api.workflowservice.v1 import service_pb2_grpc as grpc_api

from gnomon import __version__
from gnomon.server.errors import FailedPreconditionError, InvalidArgumentError, ServiceError
from gnomon.server.frontend import multi_operation
from gnomon.server.frontend.status import rpc
from gnomon.server.frontend.validation import known_enum, non_negative, require
from gnomon.server.frontend.validation import run_id as valid_run_id
from gnomon.server.history import activity_task, completion, cron, lifecycle, query, updates, workflow_task
from gnomon.server.history.describe import describe
from gnomon.server.history.engine import HistoryEngine, RunContext
from gnomon.server.history.history_api import get_history, get_history_reverse
from gnomon.server.history.service import HistoryService
from gnomon.server.history.tokens import TaskToken
from gnomon.server.matching import MatchingService, TaskRef, TaskType
from gnomon.server.namespaces import NamespaceRegistry
from gnomon.server.protoutil import copy_fields, seconds, timestamp
from gnomon.server.visibility import SearchAttributeRegistry
from gnomon.server.visibility.search_attributes import SYSTEM_ATTRIBUTES
from gnomon.server.visibility.service import VisibilityService, quote

logger = logging.getLogger(__name__)

# Temporal ends a long poll with an empty response after about a minute.
LONG_POLL_SECONDS = 60.0
# The reference refuses task polls whose deadline leaves less than this.
MIN_POLL_SECONDS = 2.0
CLUSTER_ID = "gnomon"


def long_poll_timeout(context: grpc.aio.ServicerContext) -> float:
    """How long a long poll may wait: a minute, or less if the caller's deadline is nearer."""
    remaining = context.time_remaining()
    if remaining is None:
        return LONG_POLL_SECONDS
    return max(min(LONG_POLL_SECONDS, remaining - 1.0), 0.0)


def task_poll_timeout(context: grpc.aio.ServicerContext) -> float:
    """Like :func:`long_poll_timeout`, for task polls, which the reference requires a deadline on."""
    remaining = context.time_remaining()
    if remaining is None:
        raise InvalidArgumentError("Context timeout is not set.")
    if remaining < MIN_POLL_SECONDS:
        raise FailedPreconditionError("Context timeout is too short.")
    return long_poll_timeout(context)


def started_attributes(request: Any) -> WorkflowExecutionStartedEventAttributes:
    """The started event's attributes from a Start or SignalWithStart request."""
    for name in ("workflow_execution_timeout", "workflow_run_timeout", "workflow_task_timeout"):
        non_negative(getattr(request, name), name)
    attrs = WorkflowExecutionStartedEventAttributes(
        task_queue=TaskQueue(name=request.task_queue.name, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL)
    )
    copy_fields(
        attrs, request, "workflow_type", "input", "workflow_execution_timeout", "workflow_run_timeout",
        "workflow_task_timeout", "identity", "cron_schedule", "memo", "search_attributes", "header", "priority",
        "retry_policy",
    )  # fmt: skip
    return attrs


class WorkflowService(grpc_api.WorkflowServiceServicer):
    """Temporal's ``temporal.api.workflowservice.v1.WorkflowService``."""

    def __init__(
        self,
        namespaces: NamespaceRegistry,
        history: HistoryService,
        matching: MatchingService,
        search_attributes: SearchAttributeRegistry,
        visibility: VisibilityService,
    ) -> None:
        self.namespaces = namespaces
        self.search_attributes = search_attributes
        self.visibility = visibility
        self.history = history
        self.engine: HistoryEngine = history.engine
        self.matching = matching

    # -- helpers ---------------------------------------------------------------------------

    def _namespace_id(self, name: str) -> str:
        return self.namespaces.id_of(require(name, "Namespace"))

    async def _run(self, namespace: str, execution: WorkflowExecution) -> RunContext:
        namespace_id = self._namespace_id(namespace)
        require(execution.workflow_id, "WorkflowId")
        return await self.engine.resolve(namespace_id, execution.workflow_id, valid_run_id(execution.run_id))

    def _token(self, data: bytes, namespace: str) -> TaskToken:
        token = TaskToken.decode(data)
        if namespace and self.namespaces.get(namespace).namespace_info.id != token.namespace_id:
            raise InvalidArgumentError("Task token does not belong to the request's namespace.")
        return token

    # -- system ----------------------------------------------------------------------------

    @rpc
    async def GetSystemInfo(self, request: api.GetSystemInfoRequest, context: Any) -> api.GetSystemInfoResponse:
        response = api.GetSystemInfoResponse(server_version=__version__)
        caps = response.capabilities
        caps.signal_and_query_header = True
        caps.internal_error_differentiation = True
        caps.activity_failure_include_heartbeat = True
        caps.encoded_failure_attributes = True
        caps.upsert_memo = True
        caps.eager_workflow_start = True
        caps.sdk_metadata = True
        return response

    @rpc
    async def GetClusterInfo(self, request: api.GetClusterInfoRequest, context: Any) -> api.GetClusterInfoResponse:
        return api.GetClusterInfoResponse(
            server_version=__version__,
            cluster_id=CLUSTER_ID,
            cluster_name="active",
            history_shard_count=1,
            persistence_store="sqlite",
            visibility_store="sqlite",
        )

    # -- namespaces ------------------------------------------------------------------------

    @rpc
    async def RegisterNamespace(
        self, request: api.RegisterNamespaceRequest, context: Any
    ) -> api.RegisterNamespaceResponse:
        if not seconds(request.workflow_execution_retention_period):
            raise InvalidArgumentError("A valid retention period is not set on request.")
        non_negative(request.workflow_execution_retention_period, "WorkflowExecutionRetentionPeriod")
        retention = (
            request.workflow_execution_retention_period.ToTimedelta()
            if request.HasField("workflow_execution_retention_period")
            else None
        )
        namespace = await self.namespaces.register(
            require(request.namespace, "Namespace"),
            description=request.description,
            owner_email=request.owner_email,
            retention=retention if retention else None,
            data=dict(request.data),
        )
        await self.search_attributes.ensure_predefined(namespace.namespace_info.id)
        return api.RegisterNamespaceResponse()

    @rpc
    async def DescribeNamespace(
        self, request: api.DescribeNamespaceRequest, context: Any
    ) -> api.DescribeNamespaceResponse:
        if request.id:
            return self.namespaces.get_by_id(request.id)
        return self.namespaces.get(require(request.namespace, "Namespace"))

    @rpc
    async def ListNamespaces(self, request: api.ListNamespacesRequest, context: Any) -> api.ListNamespacesResponse:
        everything = self.namespaces.all()
        try:
            start = int(request.next_page_token or b"0")
        except ValueError:
            raise InvalidArgumentError("Invalid NextPageToken.") from None
        size = request.page_size or len(everything) or 1
        page = everything[start : start + size]
        token = str(start + size).encode() if start + size < len(everything) else b""
        return api.ListNamespacesResponse(namespaces=page, next_page_token=token)

    @rpc
    async def UpdateNamespace(self, request: api.UpdateNamespaceRequest, context: Any) -> api.UpdateNamespaceResponse:
        current = api.DescribeNamespaceResponse()
        current.CopyFrom(self.namespaces.get(require(request.namespace, "Namespace")))
        info: NamespaceInfo = current.namespace_info
        if request.HasField("update_info"):
            update = request.update_info
            if update.description:
                info.description = update.description
            if update.owner_email:
                info.owner_email = update.owner_email
            for key, value in update.data.items():
                info.data[key] = value
        if request.HasField("config") and request.config.HasField("workflow_execution_retention_ttl"):
            non_negative(request.config.workflow_execution_retention_ttl, "WorkflowExecutionRetentionTtl")
            current.config.workflow_execution_retention_ttl.CopyFrom(request.config.workflow_execution_retention_ttl)
        await self.namespaces.save(current)
        return api.UpdateNamespaceResponse(
            namespace_info=current.namespace_info,
            config=current.config,
            replication_config=current.replication_config,
            is_global_namespace=current.is_global_namespace,
        )

    # -- starting and addressing workflows --------------------------------------------------

    def _start_options(self, request: Any) -> lifecycle.StartOptions:
        namespace_id = self._namespace_id(request.namespace)
        require(request.workflow_id, "WorkflowId")
        require(request.workflow_type.name, "WorkflowType")
        require(request.task_queue.name, "TaskQueue")
        known_enum(WorkflowIdReusePolicy, request.workflow_id_reuse_policy, "WorkflowIdReusePolicy")
        known_enum(WorkflowIdConflictPolicy, request.workflow_id_conflict_policy, "WorkflowIdConflictPolicy")
        non_negative(request.workflow_start_delay, "WorkflowStartDelay")
        self.search_attributes.validate(namespace_id, request.search_attributes, request.namespace)
        if request.cron_schedule:
            cron.parse(request.cron_schedule)
            if seconds(request.workflow_start_delay):
                raise InvalidArgumentError("CronSchedule and WorkflowStartDelay may not be used together.")
        return lifecycle.StartOptions(
            namespace_id=namespace_id,
            namespace=request.namespace,
            workflow_id=request.workflow_id,
            request_id=request.request_id or str(uuid.uuid4()),
            reuse_policy=request.workflow_id_reuse_policy,
            conflict_policy=request.workflow_id_conflict_policy,
            start_delay=seconds(request.workflow_start_delay),
        )

    def _started_attributes(
        self, request: Any, options: lifecycle.StartOptions
    ) -> WorkflowExecutionStartedEventAttributes:
        attrs = started_attributes(request)
        self.search_attributes.annotate(options.namespace_id, attrs.search_attributes)
        return attrs

    @rpc
    async def StartWorkflowExecution(
        self, request: api.StartWorkflowExecutionRequest, context: Any
    ) -> api.StartWorkflowExecutionResponse:
        options = self._start_options(request)
        outcome = await lifecycle.start_workflow(
            self.engine,
            options,
            self._started_attributes(request, options),
            run_id=str(uuid.uuid4()),
            eager_identity=(request.identity or "eager") if request.request_eager_execution else "",
        )
        response = api.StartWorkflowExecutionResponse(run_id=outcome.run_id, started=outcome.started)
        if outcome.eager_task is not None:
            response.eager_workflow_task.CopyFrom(outcome.eager_task)
        return response

    @rpc
    async def SignalWithStartWorkflowExecution(
        self, request: api.SignalWithStartWorkflowExecutionRequest, context: Any
    ) -> api.SignalWithStartWorkflowExecutionResponse:
        options = self._start_options(request)
        require(request.signal_name, "SignalName")
        signal = lifecycle.SignalInput(
            name=request.signal_name,
            input=request.signal_input if request.HasField("signal_input") else None,
            identity=request.identity,
            request_id="",
            header=request.header if request.HasField("header") else None,
        )
        outcome = await lifecycle.signal_with_start(
            self.engine, options, self._started_attributes(request, options), signal, run_id=str(uuid.uuid4())
        )
        return api.SignalWithStartWorkflowExecutionResponse(run_id=outcome.run_id, started=outcome.started)

    @rpc
    async def SignalWorkflowExecution(
        self, request: api.SignalWorkflowExecutionRequest, context: Any
    ) -> api.SignalWorkflowExecutionResponse:
        ctx = await self._run(request.namespace, request.workflow_execution)
        require(request.signal_name, "SignalName")
        signal = lifecycle.SignalInput(
            name=request.signal_name,
            input=request.input if request.HasField("input") else None,
            identity=request.identity,
            request_id=request.request_id,
            header=request.header if request.HasField("header") else None,
        )
        await lifecycle.signal_workflow(self.engine, ctx, signal)
        return api.SignalWorkflowExecutionResponse()

    @rpc
    async def RequestCancelWorkflowExecution(
        self, request: api.RequestCancelWorkflowExecutionRequest, context: Any
    ) -> api.RequestCancelWorkflowExecutionResponse:
        ctx = await self._run(request.namespace, request.workflow_execution)
        await lifecycle.request_cancel(
            self.engine, ctx, reason=request.reason, identity=request.identity, request_id=request.request_id
        )
        return api.RequestCancelWorkflowExecutionResponse()

    @rpc
    async def TerminateWorkflowExecution(
        self, request: api.TerminateWorkflowExecutionRequest, context: Any
    ) -> api.TerminateWorkflowExecutionResponse:
        ctx = await self._run(request.namespace, request.workflow_execution)
        details = request.details if request.HasField("details") else None
        await lifecycle.terminate(self.engine, ctx, reason=request.reason, details=details, identity=request.identity)
        return api.TerminateWorkflowExecutionResponse()

    @rpc
    async def DeleteWorkflowExecution(
        self, request: api.DeleteWorkflowExecutionRequest, context: Any
    ) -> api.DeleteWorkflowExecutionResponse:
        ctx = await self._run(request.namespace, request.workflow_execution)
        await lifecycle.delete_workflow(self.engine, ctx)
        return api.DeleteWorkflowExecutionResponse()

    @rpc
    async def DescribeWorkflowExecution(
        self, request: api.DescribeWorkflowExecutionRequest, context: Any
    ) -> api.DescribeWorkflowExecutionResponse:
        ctx = await self._run(request.namespace, request.execution)
        return describe(ctx.ms)

    @rpc
    async def GetWorkflowExecutionHistory(
        self, request: api.GetWorkflowExecutionHistoryRequest, context: Any
    ) -> api.GetWorkflowExecutionHistoryResponse:
        ctx = await self._run(request.namespace, request.execution)
        known_enum(HistoryEventFilterType, request.history_event_filter_type, "HistoryEventFilterType")
        history, token = await get_history(
            self.engine,
            ctx,
            page_size=request.maximum_page_size,
            token=request.next_page_token,
            wait_new_event=request.wait_new_event,
            filter_type=request.history_event_filter_type,
            long_poll_timeout=long_poll_timeout(context) if request.wait_new_event else 0.0,
        )
        return api.GetWorkflowExecutionHistoryResponse(history=history, next_page_token=token)

    @rpc
    async def GetWorkflowExecutionHistoryReverse(
        self, request: api.GetWorkflowExecutionHistoryReverseRequest, context: Any
    ) -> api.GetWorkflowExecutionHistoryReverseResponse:
        ctx = await self._run(request.namespace, request.execution)
        history, token = await get_history_reverse(
            self.engine, ctx, page_size=request.maximum_page_size, token=request.next_page_token
        )
        return api.GetWorkflowExecutionHistoryReverseResponse(history=history, next_page_token=token)

    @rpc
    async def QueryWorkflow(self, request: api.QueryWorkflowRequest, context: Any) -> api.QueryWorkflowResponse:
        ctx = await self._run(request.namespace, request.execution)
        require(request.query.query_type, "QueryType")
        known_enum(QueryRejectCondition, request.query_reject_condition, "QueryRejectCondition")
        remaining = context.time_remaining()
        timeout = LONG_POLL_SECONDS if remaining is None else max(remaining - 0.5, 0.1)
        return await query.query_workflow(
            self.engine, self.history.queries, ctx, request.query, request.query_reject_condition, timeout
        )

    # -- updates ---------------------------------------------------------------------------

    def _update_wait(self, context: Any, wait_policy: Any) -> tuple[int, float]:
        wanted = wait_policy.lifecycle_stage or Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED
        known_enum(Stage, wanted, "WaitPolicy.LifecycleStage")
        remaining = context.time_remaining() if context is not None else None
        # Answer a little before the caller's deadline with the stage reached so far.
        timeout = LONG_POLL_SECONDS if remaining is None else max(min(remaining - 1.0, LONG_POLL_SECONDS), 0.0)
        return wanted, timeout

    @rpc
    async def UpdateWorkflowExecution(
        self, request: api.UpdateWorkflowExecutionRequest, context: Any
    ) -> api.UpdateWorkflowExecutionResponse:
        ctx = await self._run(request.namespace, request.workflow_execution)
        wanted, timeout = self._update_wait(context, request.wait_policy)
        ctx, stage, outcome = await updates.update_workflow(self.engine, ctx, request.request, wanted, timeout)
        response = api.UpdateWorkflowExecutionResponse(
            update_ref=updates.update_ref(ctx, request.request.meta.update_id),
            stage=stage,  # type: ignore[arg-type]
        )
        if outcome is not None:
            response.outcome.CopyFrom(outcome)
        return response

    @rpc
    async def PollWorkflowExecutionUpdate(
        self, request: api.PollWorkflowExecutionUpdateRequest, context: Any
    ) -> api.PollWorkflowExecutionUpdateResponse:
        ctx = await self._run(request.namespace, request.update_ref.workflow_execution)
        require(request.update_ref.update_id, "UpdateId")
        wanted, timeout = self._update_wait(context, request.wait_policy)
        found = updates.find(ctx, request.update_ref.update_id)
        stage, outcome = await updates.wait(self.engine, ctx, found, wanted, timeout)
        response = api.PollWorkflowExecutionUpdateResponse(
            update_ref=updates.update_ref(ctx, request.update_ref.update_id),
            stage=stage,  # type: ignore[arg-type]
        )
        if outcome is not None:
            response.outcome.CopyFrom(outcome)
        return response

    @rpc
    async def ExecuteMultiOperation(
        self, request: api.ExecuteMultiOperationRequest, context: Any
    ) -> api.ExecuteMultiOperationResponse:
        self._namespace_id(request.namespace)
        start_req, update_req = multi_operation.validate(request)
        try:
            options = self._start_options(start_req)
            if not start_req.workflow_id_conflict_policy:
                raise InvalidArgumentError("WorkflowIdConflictPolicy must be set on the Start operation.")
            outcome = await lifecycle.start_workflow(
                self.engine,
                options,
                self._started_attributes(start_req, options),
                run_id=str(uuid.uuid4()),
                update=update_req.request,
            )
        except ServiceError as error:
            raise multi_operation.failure(0, error) from error
        try:
            ctx = await self.engine.resolve(options.namespace_id, start_req.workflow_id, outcome.run_id)
            wanted, timeout = self._update_wait(context, update_req.wait_policy)
            ctx, stage, result = await updates.update_workflow(self.engine, ctx, update_req.request, wanted, timeout)
        except ServiceError as error:
            raise multi_operation.failure(1, error) from error
        update_response = api.UpdateWorkflowExecutionResponse(
            update_ref=updates.update_ref(ctx, update_req.request.meta.update_id),
            stage=stage,  # type: ignore[arg-type]
        )
        if result is not None:
            update_response.outcome.CopyFrom(result)
        Response = api.ExecuteMultiOperationResponse.Response
        return api.ExecuteMultiOperationResponse(
            responses=[
                Response(
                    start_workflow=api.StartWorkflowExecutionResponse(run_id=outcome.run_id, started=outcome.started)
                ),
                Response(update_workflow=update_response),
            ]
        )

    # -- workflow tasks --------------------------------------------------------------------

    @rpc
    async def PollWorkflowTaskQueue(
        self, request: api.PollWorkflowTaskQueueRequest, context: Any
    ) -> api.PollWorkflowTaskQueueResponse:
        namespace_id = self._namespace_id(request.namespace)
        queue = request.task_queue
        require(queue.name, "TaskQueue")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + task_poll_timeout(context)
        while (remaining := deadline - loop.time()) > 0:
            task = await self.matching.poll(namespace_id, queue.name, TaskType.WORKFLOW, request.identity, remaining)
            if task is None:
                break
            response = await asyncio.shield(self._start_workflow_task(task, request.identity, queue))
            if response is not None:
                return response
        return api.PollWorkflowTaskQueueResponse()

    async def _start_workflow_task(
        self, task: TaskRef, identity: str, queue: TaskQueue
    ) -> api.PollWorkflowTaskQueueResponse | None:
        if task.is_query:
            return await query.start_query_task(self.engine, self.history.queries, task, queue)
        return await workflow_task.record_started(self.engine, task, identity, queue)

    @rpc
    async def RespondWorkflowTaskCompleted(
        self, request: api.RespondWorkflowTaskCompletedRequest, context: Any
    ) -> api.RespondWorkflowTaskCompletedResponse:
        token = self._token(request.task_token, request.namespace)
        return await completion.complete_workflow_task(self.engine, token, request)

    @rpc
    async def RespondWorkflowTaskFailed(
        self, request: api.RespondWorkflowTaskFailedRequest, context: Any
    ) -> api.RespondWorkflowTaskFailedResponse:
        token = self._token(request.task_token, request.namespace)
        await completion.fail_workflow_task(self.engine, token, request)
        return api.RespondWorkflowTaskFailedResponse()

    @rpc
    async def RespondQueryTaskCompleted(
        self, request: api.RespondQueryTaskCompletedRequest, context: Any
    ) -> api.RespondQueryTaskCompletedResponse:
        token = self._token(request.task_token, request.namespace)
        if not token.query_id:
            raise InvalidArgumentError("Task token is not a query task token.")
        query.answer_query(self.history.queries, token, request)
        return api.RespondQueryTaskCompletedResponse()

    @rpc
    async def ResetStickyTaskQueue(
        self, request: api.ResetStickyTaskQueueRequest, context: Any
    ) -> api.ResetStickyTaskQueueResponse:
        ctx = await self._run(request.namespace, request.execution)
        await workflow_task.clear_sticky(self.engine, ctx)
        return api.ResetStickyTaskQueueResponse()

    @rpc
    async def ShutdownWorker(self, request: api.ShutdownWorkerRequest, context: Any) -> api.ShutdownWorkerResponse:
        namespace_id = self._namespace_id(request.namespace)
        if request.sticky_task_queue:
            for task in self.matching.unload_sticky(namespace_id, request.sticky_task_queue):
                ctx = await self.engine.context_or_none(task.namespace_id, task.run_id)
                if ctx is not None:
                    await workflow_task.clear_sticky(self.engine, ctx)
        return api.ShutdownWorkerResponse()

    # -- activity tasks --------------------------------------------------------------------

    @rpc
    async def PollActivityTaskQueue(
        self, request: api.PollActivityTaskQueueRequest, context: Any
    ) -> api.PollActivityTaskQueueResponse:
        namespace_id = self._namespace_id(request.namespace)
        require(request.task_queue.name, "TaskQueue")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + task_poll_timeout(context)
        while (remaining := deadline - loop.time()) > 0:
            task = await self.matching.poll(
                namespace_id, request.task_queue.name, TaskType.ACTIVITY, request.identity, remaining
            )
            if task is None:
                break
            response = await asyncio.shield(activity_task.record_started(self.engine, task, request.identity))
            if response is not None:
                return response
        return api.PollActivityTaskQueueResponse()

    async def _token_by_id(self, request: Any) -> TaskToken:
        namespace_id = self._namespace_id(request.namespace)
        require(request.workflow_id, "WorkflowId")
        require(request.activity_id, "ActivityId")
        return await activity_task.find_by_id(
            self.engine, namespace_id, request.workflow_id, valid_run_id(request.run_id), request.activity_id
        )

    @staticmethod
    def _optional(request: Any, name: str) -> Any:
        return getattr(request, name) if request.HasField(name) else None

    @rpc
    async def RespondActivityTaskCompleted(
        self, request: api.RespondActivityTaskCompletedRequest, context: Any
    ) -> api.RespondActivityTaskCompletedResponse:
        token = self._token(request.task_token, request.namespace)
        await activity_task.complete(self.engine, token, self._optional(request, "result"), request.identity)
        return api.RespondActivityTaskCompletedResponse()

    @rpc
    async def RespondActivityTaskCompletedById(
        self, request: api.RespondActivityTaskCompletedByIdRequest, context: Any
    ) -> api.RespondActivityTaskCompletedByIdResponse:
        token = await self._token_by_id(request)
        await activity_task.complete(
            self.engine, token, self._optional(request, "result"), request.identity, by_id=True
        )
        return api.RespondActivityTaskCompletedByIdResponse()

    @rpc
    async def RespondActivityTaskFailed(
        self, request: api.RespondActivityTaskFailedRequest, context: Any
    ) -> api.RespondActivityTaskFailedResponse:
        token = self._token(request.task_token, request.namespace)
        await activity_task.fail(
            self.engine, token, request.failure, request.identity, self._optional(request, "last_heartbeat_details")
        )
        return api.RespondActivityTaskFailedResponse()

    @rpc
    async def RespondActivityTaskFailedById(
        self, request: api.RespondActivityTaskFailedByIdRequest, context: Any
    ) -> api.RespondActivityTaskFailedByIdResponse:
        token = await self._token_by_id(request)
        await activity_task.fail(
            self.engine,
            token,
            request.failure,
            request.identity,
            self._optional(request, "last_heartbeat_details"),
            by_id=True,
        )
        return api.RespondActivityTaskFailedByIdResponse()

    @rpc
    async def RespondActivityTaskCanceled(
        self, request: api.RespondActivityTaskCanceledRequest, context: Any
    ) -> api.RespondActivityTaskCanceledResponse:
        token = self._token(request.task_token, request.namespace)
        await activity_task.canceled(self.engine, token, self._optional(request, "details"), request.identity)
        return api.RespondActivityTaskCanceledResponse()

    @rpc
    async def RespondActivityTaskCanceledById(
        self, request: api.RespondActivityTaskCanceledByIdRequest, context: Any
    ) -> api.RespondActivityTaskCanceledByIdResponse:
        token = await self._token_by_id(request)
        await activity_task.canceled(
            self.engine, token, self._optional(request, "details"), request.identity, by_id=True
        )
        return api.RespondActivityTaskCanceledByIdResponse()

    @rpc
    async def RecordActivityTaskHeartbeat(
        self, request: api.RecordActivityTaskHeartbeatRequest, context: Any
    ) -> api.RecordActivityTaskHeartbeatResponse:
        token = self._token(request.task_token, request.namespace)
        cancel = await activity_task.heartbeat(self.engine, token, self._optional(request, "details"))
        return api.RecordActivityTaskHeartbeatResponse(cancel_requested=cancel)

    @rpc
    async def RecordActivityTaskHeartbeatById(
        self, request: api.RecordActivityTaskHeartbeatByIdRequest, context: Any
    ) -> api.RecordActivityTaskHeartbeatByIdResponse:
        token = await self._token_by_id(request)
        cancel = await activity_task.heartbeat(self.engine, token, self._optional(request, "details"), by_id=True)
        return api.RecordActivityTaskHeartbeatByIdResponse(cancel_requested=cancel)

    # -- visibility --------------------------------------------------------------------------

    @rpc
    async def ListWorkflowExecutions(
        self, request: api.ListWorkflowExecutionsRequest, context: Any
    ) -> api.ListWorkflowExecutionsResponse:
        namespace_id = self._namespace_id(request.namespace)
        page = await self.visibility.list(namespace_id, request.query, request.page_size, request.next_page_token)
        return api.ListWorkflowExecutionsResponse(executions=page.executions, next_page_token=page.next_page_token)

    @rpc
    async def ScanWorkflowExecutions(
        self, request: api.ScanWorkflowExecutionsRequest, context: Any
    ) -> api.ScanWorkflowExecutionsResponse:
        namespace_id = self._namespace_id(request.namespace)
        page = await self.visibility.list(namespace_id, request.query, request.page_size, request.next_page_token)
        return api.ScanWorkflowExecutionsResponse(executions=page.executions, next_page_token=page.next_page_token)

    @rpc
    async def CountWorkflowExecutions(
        self, request: api.CountWorkflowExecutionsRequest, context: Any
    ) -> api.CountWorkflowExecutionsResponse:
        return await self.visibility.count(self._namespace_id(request.namespace), request.query)

    @staticmethod
    def _legacy_query(request: Any, status_clause: str) -> str:
        """The list filter equivalent to an old-style List{Open,Closed} request's filters."""
        clauses = [status_clause]
        if request.HasField("start_time_filter"):
            earliest = request.start_time_filter.earliest_time.ToJsonString()
            latest = request.start_time_filter.latest_time.ToJsonString()
            clauses.append(f"StartTime BETWEEN {quote(earliest)} AND {quote(latest)}")
        if request.HasField("execution_filter"):
            clauses.append(f"WorkflowId = {quote(request.execution_filter.workflow_id)}")
            if request.execution_filter.run_id:
                clauses.append(f"RunId = {quote(request.execution_filter.run_id)}")
        if request.HasField("type_filter"):
            clauses.append(f"WorkflowType = {quote(request.type_filter.name)}")
        return " AND ".join(clauses)

    @rpc
    async def ListOpenWorkflowExecutions(
        self, request: api.ListOpenWorkflowExecutionsRequest, context: Any
    ) -> api.ListOpenWorkflowExecutionsResponse:
        namespace_id = self._namespace_id(request.namespace)
        query = self._legacy_query(request, "ExecutionStatus = 'Running'")
        page = await self.visibility.list(namespace_id, query, request.maximum_page_size, request.next_page_token)
        return api.ListOpenWorkflowExecutionsResponse(executions=page.executions, next_page_token=page.next_page_token)

    @rpc
    async def ListClosedWorkflowExecutions(
        self, request: api.ListClosedWorkflowExecutionsRequest, context: Any
    ) -> api.ListClosedWorkflowExecutionsResponse:
        namespace_id = self._namespace_id(request.namespace)
        status = "ExecutionStatus != 'Running'"
        if request.HasField("status_filter") and request.status_filter.status:
            status = f"ExecutionStatus = {request.status_filter.status}"
        query = self._legacy_query(request, status)
        page = await self.visibility.list(namespace_id, query, request.maximum_page_size, request.next_page_token)
        return api.ListClosedWorkflowExecutionsResponse(
            executions=page.executions, next_page_token=page.next_page_token
        )

    @rpc
    async def GetSearchAttributes(
        self, request: api.GetSearchAttributesRequest, context: Any
    ) -> api.GetSearchAttributesResponse:
        keys = dict(SYSTEM_ATTRIBUTES)
        keys.update(self.search_attributes.custom(self.namespaces.id_of("default")))
        return api.GetSearchAttributesResponse(keys=keys)  # type: ignore[arg-type]

    # -- task queues -----------------------------------------------------------------------

    @rpc
    async def DescribeTaskQueue(
        self, request: api.DescribeTaskQueueRequest, context: Any
    ) -> api.DescribeTaskQueueResponse:
        namespace_id = self._namespace_id(request.namespace)
        name = require(request.task_queue.name, "TaskQueue")
        enhanced = request.api_mode == DescribeTaskQueueMode.DESCRIBE_TASK_QUEUE_MODE_ENHANCED
        requested = list(request.task_queue_types) or [
            request.task_queue_type or TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW
        ]
        if enhanced and not request.task_queue_types:
            requested = [TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY]
        for queue_type in requested:
            if queue_type not in (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY):
                raise InvalidArgumentError(f"Invalid TaskQueueType: unsupported value {queue_type}.")
        response = api.DescribeTaskQueueResponse()
        if enhanced:
            # One unversioned entry per task queue type, which is what the SDKs read.
            version = response.versions_info[""]
            for queue_type in requested:
                info = version.types_info[queue_type]
                info.pollers.extend(self._pollers(namespace_id, name, TaskType(queue_type)))
                if request.report_stats:
                    info.stats.CopyFrom(self._stats(namespace_id, name, TaskType(queue_type)))
            return response
        task_type = TaskType(requested[0])
        response.pollers.extend(self._pollers(namespace_id, name, task_type))
        if request.report_stats:
            response.stats.CopyFrom(self._stats(namespace_id, name, task_type))
        if request.include_task_queue_status:
            backlog = self.matching.backlog_size(namespace_id, name, task_type)
            response.task_queue_status.CopyFrom(TaskQueueStatus(backlog_count_hint=backlog, rate_per_second=100_000))
        return response

    def _pollers(self, namespace_id: str, name: str, task_type: TaskType) -> list[PollerInfo]:
        return [
            PollerInfo(
                identity=p.identity, last_access_time=timestamp(p.last_access_time), rate_per_second=p.rate_per_second
            )
            for p in self.matching.pollers(namespace_id, name, task_type)
        ]

    def _stats(self, namespace_id: str, name: str, task_type: TaskType) -> TaskQueueStats:
        return TaskQueueStats(approximate_backlog_count=self.matching.backlog_size(namespace_id, name, task_type))


def _unimplemented(name: str) -> Any:
    async def method(self: WorkflowService, request: Any, context: grpc.aio.ServicerContext) -> Any:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{name} is not implemented by Gnomon yet.")

    method.__name__ = name
    return method


# Every RPC of the service that Gnomon does not implement answers UNIMPLEMENTED with its
# name (the generated base class would raise NotImplementedError, seen as UNKNOWN).
for _name, _member in vars(grpc_api.WorkflowServiceServicer).items():
    if callable(_member) and not _name.startswith("_") and _name not in vars(WorkflowService):
        setattr(WorkflowService, _name, _unimplemented(_name))
