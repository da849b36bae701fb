"""RPCs of workers: polling and answering workflow, query and activity tasks; task queues."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

from temporalio.api.common.v1 import WorkerVersionStamp
from temporalio.api.enums.v1 import (
    DescribeTaskQueueMode,
    TaskQueueType,
)
from temporalio.api.taskqueue.v1 import PollerInfo, TaskQueue, TaskQueueStats, TaskQueueStatus
from temporalio.api.workflowservice.v1 import request_response_pb2 as api

from gnomon.server.errors import InvalidArgumentError
from gnomon.server.frontend.base import (
    FrontendBase,
    task_poll_timeout,
)
from gnomon.server.frontend.status import rpc
from gnomon.server.frontend.validation import require
from gnomon.server.frontend.validation import run_id as valid_run_id
from gnomon.server.history import activity_task, completion, query, versioning, workflow_task
from gnomon.server.history.tokens import TaskToken, TokenKind
from gnomon.server.matching import TaskRef, TaskType
from gnomon.server.protoutil import timestamp

T = TypeVar("T")


class TaskRpcs(FrontendBase):
    """RPCs of workers: polling and answering workflow, query and activity tasks; task queues."""

    # -- workflow tasks --------------------------------------------------------------------

    @rpc
    async def PollWorkflowTaskQueue(
        self, request: api.PollWorkflowTaskQueueRequest, context: Any
    ) -> api.PollWorkflowTaskQueueResponse:
        namespace_id = self._namespace_id(request.namespace)
        queue = request.task_queue
        require(queue.name, "TaskQueue")
        stamp = versioning.poll_stamp(request.worker_version_capabilities, request.deployment_options)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + task_poll_timeout(context)
        while (remaining := deadline - loop.time()) > 0:
            task = await self.matching.poll(namespace_id, queue.name, TaskType.WORKFLOW, request.identity, remaining)
            if task is None:
                break
            starting = self._start_workflow_task(task, request.identity, queue, stamp)
            response = await self._started_or_requeued(namespace_id, queue.name, TaskType.WORKFLOW, task, starting)
            if response is not None:
                return response
        return api.PollWorkflowTaskQueueResponse()

    async def _started_or_requeued(
        self, namespace_id: str, queue: str, task_type: TaskType, task: TaskRef, starting: Awaitable[T]
    ) -> T:
        """Await the task's start; if the poll is cancelled first, put the task back in front.

        A task taken from matching but never started would be lost: the run believes it
        was handed out, so nothing dispatches it again. If the cancellation came after the
        start, the task put back is stale and the next poller skips it.
        """
        try:
            return await starting
        except asyncio.CancelledError:
            self.matching.push_front(namespace_id, queue, task_type, task)
            raise

    async def _start_workflow_task(
        self, task: TaskRef, identity: str, queue: TaskQueue, stamp: WorkerVersionStamp | None
    ) -> api.PollWorkflowTaskQueueResponse | None:
        if task.is_query:
            return await query.start_query_task(self.engine, self.history.queries, task, queue)
        return await workflow_task.record_started(self.engine, task, identity, queue, stamp)

    @rpc
    async def RespondWorkflowTaskCompleted(
        self, request: api.RespondWorkflowTaskCompletedRequest, context: Any
    ) -> api.RespondWorkflowTaskCompletedResponse:
        token = self._token(request.task_token, request.namespace, TokenKind.WORKFLOW)
        return await completion.complete_workflow_task(self.engine, token, request)

    @rpc
    async def RespondWorkflowTaskFailed(
        self, request: api.RespondWorkflowTaskFailedRequest, context: Any
    ) -> api.RespondWorkflowTaskFailedResponse:
        token = self._token(request.task_token, request.namespace, TokenKind.WORKFLOW)
        await completion.fail_workflow_task(self.engine, token, request)
        return api.RespondWorkflowTaskFailedResponse()

    @rpc
    async def RespondQueryTaskCompleted(
        self, request: api.RespondQueryTaskCompletedRequest, context: Any
    ) -> api.RespondQueryTaskCompletedResponse:
        token = self._token(request.task_token, request.namespace, TokenKind.QUERY)
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
            starting = activity_task.record_started(self.engine, task, request.identity)
            response = await self._started_or_requeued(
                namespace_id, request.task_queue.name, TaskType.ACTIVITY, task, starting
            )
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
        token = self._token(request.task_token, request.namespace, TokenKind.ACTIVITY)
        await activity_task.complete(
            self.engine,
            token,
            self._optional(request, "result"),
            request.identity,
            worker_version=self._optional(request, "worker_version"),
        )
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
        token = self._token(request.task_token, request.namespace, TokenKind.ACTIVITY)
        await activity_task.fail(
            self.engine,
            token,
            request.failure,
            request.identity,
            self._optional(request, "last_heartbeat_details"),
            worker_version=self._optional(request, "worker_version"),
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
        token = self._token(request.task_token, request.namespace, TokenKind.ACTIVITY)
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
        token = self._token(request.task_token, request.namespace, TokenKind.ACTIVITY)
        cancel = await activity_task.heartbeat(self.engine, token, self._optional(request, "details"))
        return api.RecordActivityTaskHeartbeatResponse(cancel_requested=cancel)

    @rpc
    async def RecordActivityTaskHeartbeatById(
        self, request: api.RecordActivityTaskHeartbeatByIdRequest, context: Any
    ) -> api.RecordActivityTaskHeartbeatByIdResponse:
        token = await self._token_by_id(request)
        cancel = await activity_task.heartbeat(self.engine, token, self._optional(request, "details"), by_id=True)
        return api.RecordActivityTaskHeartbeatByIdResponse(cancel_requested=cancel)

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
