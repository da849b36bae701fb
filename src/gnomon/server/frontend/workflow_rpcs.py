"""RPCs that start, address and update workflow runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from temporalio.api.enums.v1 import (
    HistoryEventFilterType,
    QueryRejectCondition,
    WorkflowIdConflictPolicy,
    WorkflowIdReusePolicy,
)
from temporalio.api.enums.v1 import (
    UpdateWorkflowExecutionLifecycleStage as Stage,
)
from temporalio.api.history.v1 import WorkflowExecutionStartedEventAttributes
from temporalio.api.workflowservice.v1 import request_response_pb2 as api

from gnomon.server.errors import DeadlineExceededError, InvalidArgumentError, PermissionDeniedError, ServiceError
from gnomon.server.frontend import multi_operation
from gnomon.server.frontend.base import (
    LONG_POLL_SECONDS,
    FrontendBase,
    long_poll_timeout,
    started_attributes,
)
from gnomon.server.frontend.status import rpc
from gnomon.server.frontend.validation import known_enum, require, valid_duration
from gnomon.server.history import cron, lifecycle, query, updates
from gnomon.server.history.describe import describe
from gnomon.server.history.history_api import get_history, get_history_reverse
from gnomon.server.history.update_with_start import OperationFailed, update_with_start
from gnomon.server.ids import new_id
from gnomon.server.protoutil import seconds

USER_TERMINATE_REASON = "terminated by user via frontend"
USER_TERMINATE_IDENTITY = "frontend-service"
ADMITTED_NOT_ALLOWED = "UpdateWorkflowExecution issued asynchronously and waiting on update admitted is not supported."


# The reference's long-poll interval for updates: with no nearer deadline from the caller, an
# update call answers after this with the stage reached so far.
UPDATE_LONG_POLL_SECONDS = 20.0


@dataclass(frozen=True)
class UpdateWait:
    """How an update call waits: for ``stage``, at most ``timeout`` seconds."""

    stage: int
    timeout: float
    # Whether the caller's own deadline ends the wait: then, as on the reference, not reaching
    # the stage is DEADLINE_EXCEEDED (answering early with the stage would have the SDKs poll
    # again at once, over and over, until their deadline).
    callers_deadline: bool

    def check(self, reached: int) -> None:
        if self.callers_deadline and reached < self.stage:
            raise DeadlineExceededError("context deadline exceeded")


class WorkflowRpcs(FrontendBase):
    """RPCs that start, address and update workflow runs."""

    # -- starting and addressing workflows --------------------------------------------------

    def _start_options(self, request: Any) -> lifecycle.StartOptions:
        namespace_id = self._namespace_id(request.namespace)
        require(request.workflow_id, "WorkflowId")
        require(request.workflow_type.name, "WorkflowType")
        require(request.task_queue.name, "TaskQueue")
        known_enum(WorkflowIdReusePolicy, request.workflow_id_reuse_policy, "WorkflowIdReusePolicy")
        known_enum(WorkflowIdConflictPolicy, request.workflow_id_conflict_policy, "WorkflowIdConflictPolicy")
        start_delay = valid_duration(request.workflow_start_delay, "WorkflowStartDelaySeconds")
        self.search_attributes.validate(namespace_id, request.search_attributes, request.namespace)
        if request.cron_schedule:
            cron.parse(request.cron_schedule)
            if seconds(request.workflow_start_delay):
                raise InvalidArgumentError("CronSchedule and WorkflowStartDelay may not be used together.")
        return lifecycle.StartOptions(
            namespace_id=namespace_id,
            namespace=request.namespace,
            workflow_id=request.workflow_id,
            request_id=request.request_id or new_id(),
            reuse_policy=request.workflow_id_reuse_policy,
            conflict_policy=request.workflow_id_conflict_policy,
            start_delay=seconds(start_delay),
            user_metadata=request.user_metadata if request.HasField("user_metadata") else None,
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
            run_id=new_id(),
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
            self.engine, options, self._started_attributes(request, options), signal, run_id=new_id()
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
        # As on the reference, a user's terminate without a reason or identity says where it came from.
        reason = request.reason or USER_TERMINATE_REASON
        identity = request.identity or USER_TERMINATE_IDENTITY
        await lifecycle.terminate(self.engine, ctx, reason=reason, details=details, identity=identity)
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
        ctx = await self.engine.settled(await self._run(request.namespace, request.execution))
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

    def _update_wait(self, context: Any, wait_policy: Any, *, poll: bool = False) -> UpdateWait:
        """The stage to wait for, and for how long.

        As on the reference: an update waits for COMPLETED unless told otherwise, and may not
        ask to wait only for admission; a poll with no stage answers at once with the stage reached.
        """
        wanted = wait_policy.lifecycle_stage
        known_enum(Stage, wanted, "WaitPolicy.LifecycleStage")
        if not poll:
            wanted = wanted or Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED
            if wanted == Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED:
                raise PermissionDeniedError(ADMITTED_NOT_ALLOWED)
        remaining = context.time_remaining() if context is not None else None
        if remaining is not None and remaining < UPDATE_LONG_POLL_SECONDS:
            return UpdateWait(wanted, max(remaining, 0.0), callers_deadline=True)
        return UpdateWait(wanted, UPDATE_LONG_POLL_SECONDS, callers_deadline=False)

    @rpc
    async def UpdateWorkflowExecution(
        self, request: api.UpdateWorkflowExecutionRequest, context: Any
    ) -> api.UpdateWorkflowExecutionResponse:
        ctx = await self._run(request.namespace, request.workflow_execution)
        wait = self._update_wait(context, request.wait_policy)
        ctx, stage, outcome = await updates.update_workflow(self.engine, ctx, request.request, wait.stage, wait.timeout)
        wait.check(stage)
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
        wait = self._update_wait(context, request.wait_policy, poll=True)
        update_id = request.update_ref.update_id
        ctx, stage, outcome = await updates.poll_update(self.engine, ctx, update_id, wait.stage, wait.timeout)
        wait.check(stage)
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
            attrs = self._started_attributes(start_req, options)
        except ServiceError as error:
            raise multi_operation.failure(0, error) from error
        try:
            wait = self._update_wait(context, update_req.wait_policy)
        except ServiceError as error:
            raise multi_operation.failure(1, error) from error
        try:
            result = await update_with_start(
                self.engine,
                options,
                attrs,
                update_req.request,
                run_id=new_id(),
                wanted=wait.stage,
                timeout=wait.timeout,
            )
            wait.check(result.stage)
        except OperationFailed as failed:
            raise multi_operation.failure(failed.index, failed.error) from failed.error
        update_response = api.UpdateWorkflowExecutionResponse(
            update_ref=updates.update_ref(result.ctx, update_req.request.meta.update_id),
            stage=result.stage,  # type: ignore[arg-type]
        )
        if result.outcome is not None:
            update_response.outcome.CopyFrom(result.outcome)
        start_response = api.StartWorkflowExecutionResponse(
            run_id=result.run_id,
            started=result.started,
            status=result.status,  # type: ignore[arg-type]
        )
        Response = api.ExecuteMultiOperationResponse.Response
        return api.ExecuteMultiOperationResponse(
            responses=[
                Response(start_workflow=start_response),
                Response(update_workflow=update_response),
            ]
        )
