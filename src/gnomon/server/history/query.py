"""QueryWorkflow: a query travels to a worker as a query task and its answer comes back.

Queries are not durable: a pending one lives only in memory, bounded by the caller's
deadline. A query waits for any workflow task in flight to finish, so it sees the state
that task produces, then goes to the worker's sticky queue if that worker is alive
(it has the run cached) or else to the normal queue with the full history.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from temporalio.api.enums.v1 import QueryRejectCondition, QueryResultType, TaskQueueKind, WorkflowExecutionStatus
from temporalio.api.errordetails.v1 import QueryFailedFailure
from temporalio.api.failure.v1 import Failure
from temporalio.api.query.v1 import QueryRejected, WorkflowQuery
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueResponse,
    QueryWorkflowResponse,
    RespondQueryTaskCompletedRequest,
)

from gnomon.server.errors import DeadlineExceededError, InvalidArgumentError, NotFoundError
from gnomon.server.history.engine import HistoryEngine, RunContext
from gnomon.server.history.tokens import TaskToken
from gnomon.server.history.workflow_task import build_poll_response
from gnomon.server.ids import new_id
from gnomon.server.matching import TaskRef, TaskType


@dataclass
class PendingQuery:
    query: WorkflowQuery
    answer: asyncio.Future[RespondQueryTaskCompletedRequest]


class QueryRegistry:
    """Queries sent to workers and not answered yet."""

    def __init__(self) -> None:
        self.pending: dict[str, PendingQuery] = {}


async def query_workflow(
    engine: HistoryEngine,
    registry: QueryRegistry,
    ctx: RunContext,
    query: WorkflowQuery,
    reject_condition: int,
    timeout: float,
) -> QueryWorkflowResponse:
    ms = ctx.ms
    rejected = _rejected(ms.status, reject_condition)
    if rejected:
        return QueryWorkflowResponse(query_rejected=QueryRejected(status=ms.status))  # type: ignore[arg-type]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    # Wait until no workflow task is running (and the first one has completed).
    while ctx.ms.is_open and (ctx.ms.workflow_task_in_flight or not ctx.ms.last_completed_started_event_id):
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise DeadlineExceededError("query timed out waiting for the workflow task to complete")
        try:
            async with asyncio.timeout(remaining):
                await engine.changed(ctx.key).wait()
        except TimeoutError:
            raise DeadlineExceededError("query timed out waiting for the workflow task to complete") from None
    query_id = new_id()
    pending = PendingQuery(query=query, answer=loop.create_future())
    registry.pending[query_id] = pending
    ms = ctx.ms
    sticky = (
        ms.is_open
        and bool(ms.sticky_task_queue)
        and engine.matching.sticky_worker_alive(ms.namespace_id, ms.sticky_task_queue, seen_only=True)
    )
    queue = ms.sticky_task_queue if sticky else ms.task_queue
    engine.matching.add(
        ms.namespace_id,
        queue,
        TaskType.WORKFLOW,
        TaskRef(ms.namespace_id, ms.workflow_id, ms.run_id, 0, 0, query_id=query_id),
    )
    try:
        async with asyncio.timeout(max(deadline - loop.time(), 0.001)):
            answer = await pending.answer
    except TimeoutError:
        raise DeadlineExceededError("query timed out: no worker answered it") from None
    finally:
        registry.pending.pop(query_id, None)
    if answer.completed_type == QueryResultType.QUERY_RESULT_TYPE_ANSWERED:
        return QueryWorkflowResponse(query_result=answer.query_result)
    failure = answer.failure if answer.HasField("failure") else Failure(message=answer.error_message)
    raise InvalidArgumentError(answer.error_message or failure.message, details=QueryFailedFailure(failure=failure))


def _rejected(status: int, condition: int) -> bool:
    if condition == QueryRejectCondition.QUERY_REJECT_CONDITION_NOT_OPEN:
        return status != WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
    if condition == QueryRejectCondition.QUERY_REJECT_CONDITION_NOT_COMPLETED_CLEANLY:
        return status not in (
            WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING,
            WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_COMPLETED,
        )
    return False


async def start_query_task(
    engine: HistoryEngine, registry: QueryRegistry, task: TaskRef, polled_queue: TaskQueue
) -> PollWorkflowTaskQueueResponse | None:
    """The poll response carrying a query, or None if nobody waits for it any more."""
    pending = registry.pending.get(task.query_id)
    ctx = await engine.context_or_none(task.namespace_id, task.run_id)
    if pending is None or pending.answer.done() or ctx is None:
        return None
    sticky = polled_queue.kind == TaskQueueKind.TASK_QUEUE_KIND_STICKY
    response = await build_poll_response(engine, ctx, sticky, query_id=task.query_id)
    response.query.CopyFrom(pending.query)
    return response


def answer_query(registry: QueryRegistry, token: TaskToken, request: RespondQueryTaskCompletedRequest) -> None:
    pending = registry.pending.get(token.query_id)
    if pending is None or pending.answer.done():
        raise NotFoundError("Query task not found: it was answered already or its caller gave up.")
    pending.answer.set_result(request)
