"""In-process calls into the same service layer the gRPC API serves.

The UI never reads storage directly: every page is built from WorkflowService and
OperatorService responses, so it sees exactly what an SDK or the CLI would see, with the
same validation and namespace isolation. The servicers' methods are wrapped by
:func:`gnomon.server.frontend.status.rpc`, which turns errors into gRPC aborts; here we call
the undecorated handler (``__wrapped__``) so that a :class:`ServiceError` arrives as a
Python exception the UI can show.
"""

from __future__ import annotations

import time
from typing import Any, TypeVar

from google.protobuf.message import Message
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import request_response_pb2 as op
from temporalio.api.workflowservice.v1 import request_response_pb2 as api

from gnomon.server.errors import DeadlineExceededError, ServiceError

Resp = TypeVar("Resp", bound=Message)

#: Identity recorded on signals, cancels and terminations the UI sends.
UI_IDENTITY = "gnomon-ui"


class UnsupportedError(ServiceError):
    """The server does not implement the RPC a page needs."""


class CallContext:
    """The slice of the server's ``CallContext`` the handlers use, for an in-process call."""

    def __init__(self, timeout: float) -> None:
        self._deadline = time.monotonic() + timeout

    def time_remaining(self) -> float:
        return max(self._deadline - time.monotonic(), 0.0)

    def invocation_metadata(self) -> tuple[()]:
        return ()

    def peer(self) -> str:
        return "gnomon-ui"

    async def abort(self, code: Any, details: str = "", trailing_metadata: Any = ()) -> None:
        raise ServiceError(details)


class Backend:
    """Typed, in-process access to the frontend's RPC handlers."""

    def __init__(self, workflow_service: Any, operator_service: Any, *, default_timeout: float = 30.0) -> None:
        self._workflow = workflow_service
        self._operator = operator_service
        self._timeout = default_timeout

    async def _call(self, service: Any, name: str, request: Message, timeout: float | None) -> Any:
        handler = getattr(getattr(type(service), name, None), "__wrapped__", None)
        if handler is None:
            raise UnsupportedError(f"This server does not support {name} yet.")
        try:
            return await handler(service, request, CallContext(timeout or self._timeout))
        except TimeoutError:
            raise DeadlineExceededError(f"{name} did not finish in time.") from None

    async def workflow(self, name: str, request: Message, *, timeout: float | None = None) -> Any:
        """Call WorkflowService.<name>."""
        return await self._call(self._workflow, name, request, timeout)

    async def operator(self, name: str, request: Message, *, timeout: float | None = None) -> Any:
        """Call OperatorService.<name>."""
        return await self._call(self._operator, name, request, timeout)

    # -- the calls the pages make, typed -------------------------------------------------

    async def namespaces(self) -> list[api.DescribeNamespaceResponse]:
        found: list[api.DescribeNamespaceResponse] = []
        token = b""
        while True:
            page = await self.workflow(
                "ListNamespaces", api.ListNamespacesRequest(page_size=200, next_page_token=token)
            )
            found.extend(page.namespaces)
            token = page.next_page_token
            if not token:
                return found

    async def describe_namespace(self, namespace: str) -> api.DescribeNamespaceResponse:
        return await self.workflow("DescribeNamespace", api.DescribeNamespaceRequest(namespace=namespace))

    async def describe_namespace_by_id(self, namespace_id: str) -> api.DescribeNamespaceResponse:
        return await self.workflow("DescribeNamespace", api.DescribeNamespaceRequest(id=namespace_id))

    async def list_workflows(
        self, namespace: str, query: str, page_size: int, token: bytes = b""
    ) -> api.ListWorkflowExecutionsResponse:
        request = api.ListWorkflowExecutionsRequest(
            namespace=namespace, query=query, page_size=page_size, next_page_token=token
        )
        return await self.workflow("ListWorkflowExecutions", request)

    async def count_workflows(self, namespace: str, query: str) -> api.CountWorkflowExecutionsResponse:
        return await self.workflow(
            "CountWorkflowExecutions", api.CountWorkflowExecutionsRequest(namespace=namespace, query=query)
        )

    async def describe_workflow(
        self, namespace: str, workflow_id: str, run_id: str = ""
    ) -> api.DescribeWorkflowExecutionResponse:
        request = api.DescribeWorkflowExecutionRequest(namespace=namespace)
        request.execution.workflow_id, request.execution.run_id = workflow_id, run_id
        return await self.workflow("DescribeWorkflowExecution", request)

    async def history(self, namespace: str, workflow_id: str, run_id: str, *, limit: int = 0) -> list[Any]:
        """The run's events, all pages (or only the first ``limit`` events)."""
        events: list[Any] = []
        token = b""
        while True:
            request = api.GetWorkflowExecutionHistoryRequest(
                namespace=namespace, next_page_token=token, maximum_page_size=limit or 1000
            )
            request.execution.workflow_id, request.execution.run_id = workflow_id, run_id
            page = await self.workflow("GetWorkflowExecutionHistory", request)
            events.extend(page.history.events)
            token = page.next_page_token
            if not token or (limit and len(events) >= limit):
                return events[:limit] if limit else events

    async def last_event(self, namespace: str, workflow_id: str, run_id: str) -> Any | None:
        request = api.GetWorkflowExecutionHistoryReverseRequest(namespace=namespace, maximum_page_size=1)
        request.execution.workflow_id, request.execution.run_id = workflow_id, run_id
        page = await self.workflow("GetWorkflowExecutionHistoryReverse", request)
        return page.history.events[0] if page.history.events else None

    async def signal(self, namespace: str, workflow_id: str, run_id: str, name: str, payloads: Any) -> None:
        request = api.SignalWorkflowExecutionRequest(namespace=namespace, signal_name=name, identity=UI_IDENTITY)
        request.workflow_execution.workflow_id, request.workflow_execution.run_id = workflow_id, run_id
        if payloads is not None:
            request.input.CopyFrom(payloads)
        await self.workflow("SignalWorkflowExecution", request)

    async def cancel(self, namespace: str, workflow_id: str, run_id: str, reason: str = "") -> None:
        request = api.RequestCancelWorkflowExecutionRequest(namespace=namespace, identity=UI_IDENTITY, reason=reason)
        request.workflow_execution.workflow_id, request.workflow_execution.run_id = workflow_id, run_id
        await self.workflow("RequestCancelWorkflowExecution", request)

    async def terminate(self, namespace: str, workflow_id: str, run_id: str, reason: str) -> None:
        request = api.TerminateWorkflowExecutionRequest(namespace=namespace, identity=UI_IDENTITY, reason=reason)
        request.workflow_execution.workflow_id, request.workflow_execution.run_id = workflow_id, run_id
        await self.workflow("TerminateWorkflowExecution", request)

    async def query(
        self, namespace: str, workflow_id: str, run_id: str, name: str, payloads: Any, *, timeout: float = 10.0
    ) -> api.QueryWorkflowResponse:
        request = api.QueryWorkflowRequest(namespace=namespace)
        request.execution.workflow_id, request.execution.run_id = workflow_id, run_id
        request.query.query_type = name
        if payloads is not None:
            request.query.query_args.CopyFrom(payloads)
        return await self.workflow("QueryWorkflow", request, timeout=timeout)

    async def describe_task_queue(self, namespace: str, name: str, queue_type: int) -> api.DescribeTaskQueueResponse:
        request = api.DescribeTaskQueueRequest(namespace=namespace, task_queue_type=queue_type)  # type: ignore[arg-type]
        request.task_queue.name = name
        return await self.workflow("DescribeTaskQueue", request)

    async def search_attributes(self, namespace: str) -> op.ListSearchAttributesResponse:
        return await self.operator("ListSearchAttributes", op.ListSearchAttributesRequest(namespace=namespace))

    async def add_search_attribute(self, namespace: str, name: str, value_type: int) -> None:
        request = op.AddSearchAttributesRequest(
            namespace=namespace, search_attributes={name: IndexedValueType.ValueType(value_type)}
        )
        await self.operator("AddSearchAttributes", request)
