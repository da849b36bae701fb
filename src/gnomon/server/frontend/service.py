"""The WorkflowService servicer: validates each request and routes it.

Each RPC is a few lines: resolve the namespace, check the request, call history,
matching or visibility, shape the response. They are grouped by subject in the
``*_rpcs`` modules; errors are mapped to gRPC statuses by :func:`status.rpc`.
"""

from __future__ import annotations

from typing import Any

import grpc
from temporalio.api.workflowservice.v1 import service_pb2_grpc as grpc_api

from gnomon.server.frontend.batch_rpcs import BatchRpcs
from gnomon.server.frontend.namespace_rpcs import NamespaceRpcs
from gnomon.server.frontend.task_rpcs import TaskRpcs
from gnomon.server.frontend.visibility_rpcs import VisibilityRpcs
from gnomon.server.frontend.workflow_rpcs import WorkflowRpcs
from gnomon.server.transport import CallContext


class WorkflowService(
    NamespaceRpcs, WorkflowRpcs, TaskRpcs, VisibilityRpcs, BatchRpcs, grpc_api.WorkflowServiceServicer
):
    """Temporal's ``temporal.api.workflowservice.v1.WorkflowService``."""


def _unimplemented(name: str) -> Any:
    async def method(self: WorkflowService, request: Any, context: CallContext) -> Any:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{name} is not implemented by Gnomon yet.")

    method.__name__ = name
    return method


# Every RPC of the service that Gnomon does not implement answers UNIMPLEMENTED with its
# name (the generated base class would raise NotImplementedError, seen as UNKNOWN).
for _name, _member in vars(grpc_api.WorkflowServiceServicer).items():
    if callable(_member) and not _name.startswith("_") and getattr(WorkflowService, _name) is _member:
        setattr(WorkflowService, _name, _unimplemented(_name))
