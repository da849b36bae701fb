"""Shared pieces of the frontend: routing targets, request helpers, long-poll timing."""

from __future__ import annotations

import logging
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import (
    TaskQueueKind,
)
from temporalio.api.history.v1 import WorkflowExecutionStartedEventAttributes
from temporalio.api.taskqueue.v1 import TaskQueue

from gnomon.server.batch import BatchOperations
from gnomon.server.errors import FailedPreconditionError, InvalidArgumentError
from gnomon.server.frontend.validation import require, valid_duration
from gnomon.server.frontend.validation import run_id as valid_run_id
from gnomon.server.history import retry
from gnomon.server.history.engine import HistoryEngine, RunContext
from gnomon.server.history.service import HistoryService
from gnomon.server.history.tokens import TaskToken, TokenKind
from gnomon.server.matching import MatchingService
from gnomon.server.namespaces import NamespaceRegistry
from gnomon.server.protoutil import copy_fields
from gnomon.server.transport import CallContext
from gnomon.server.visibility import SearchAttributeRegistry
from gnomon.server.visibility.service import VisibilityService

logger = logging.getLogger(__name__)

# Temporal ends a long poll with an empty response after about a minute.
LONG_POLL_SECONDS = 60.0
# The reference refuses task polls whose deadline leaves less than this.
MIN_POLL_SECONDS = 2.0
CLUSTER_ID = "gnomon"


def long_poll_timeout(context: CallContext) -> float:
    """How long a long poll may wait: a minute, or less if the caller's deadline is nearer."""
    remaining = context.time_remaining()
    if remaining is None:
        return LONG_POLL_SECONDS
    return max(min(LONG_POLL_SECONDS, remaining - 1.0), 0.0)


def task_poll_timeout(context: CallContext) -> float:
    """Like :func:`long_poll_timeout`, for task polls, which the reference requires a deadline on."""
    remaining = context.time_remaining()
    if remaining is None:
        raise InvalidArgumentError("Context timeout is not set.")
    if remaining < MIN_POLL_SECONDS:
        raise FailedPreconditionError("Context timeout is too short.")
    return long_poll_timeout(context)


def started_attributes(request: Any) -> WorkflowExecutionStartedEventAttributes:
    """The started event's attributes from a Start or SignalWithStart request."""
    attrs = WorkflowExecutionStartedEventAttributes(
        task_queue=TaskQueue(name=request.task_queue.name, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL)
    )
    copy_fields(
        attrs, request, "workflow_type", "input", "identity", "cron_schedule", "memo", "search_attributes", "header",
        "priority", "retry_policy",
    )  # fmt: skip
    for name, what in _TIMEOUTS:
        if request.HasField(name):
            getattr(attrs, name).CopyFrom(valid_duration(getattr(request, name), what))
    if request.HasField("retry_policy"):
        problem = retry.problem(request.retry_policy)
        if problem is not None:
            raise InvalidArgumentError(problem)
    return attrs


# The start's timeouts, and how the reference names them in its errors.
_TIMEOUTS = (
    ("workflow_execution_timeout", "WorkflowExecutionTimeoutSeconds"),
    ("workflow_run_timeout", "WorkflowRunTimeoutSeconds"),
    ("workflow_task_timeout", "WorkflowTaskTimeoutSeconds"),
)


class FrontendBase:
    """What every group of RPCs shares: the services it routes to, and request helpers."""

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
        self.batches = BatchOperations(history.engine, visibility)
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

    def _token(self, data: bytes, namespace: str, kind: TokenKind) -> TaskToken:
        token = TaskToken.decode(data, kind)
        if namespace and self.namespaces.get(namespace).namespace_info.id != token.namespace_id:
            raise InvalidArgumentError("Task token does not belong to the request's namespace.")
        return token
