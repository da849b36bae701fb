"""The WorkflowService implementation: validates each request and routes it.

Each RPC is a few lines: resolve the namespace, check the request, call history,
matching or visibility, shape the response. They are grouped by subject in the
``*_rpcs`` modules; errors are mapped to gRPC statuses by :func:`status.rpc`. It is
served by :func:`gnomon.server.transport.services.service_handler`, which answers
UNIMPLEMENTED for every RPC of the service this class does not define.
"""

from __future__ import annotations

from temporalio.api.workflowservice.v1 import service_pb2

from gnomon.server.frontend.batch_rpcs import BatchRpcs
from gnomon.server.frontend.namespace_rpcs import NamespaceRpcs
from gnomon.server.frontend.task_rpcs import TaskRpcs
from gnomon.server.frontend.visibility_rpcs import VisibilityRpcs
from gnomon.server.frontend.workflow_rpcs import WorkflowRpcs

#: ``temporal.api.workflowservice.v1.WorkflowService``: its RPCs, paths and message types.
WORKFLOW_SERVICE = service_pb2.DESCRIPTOR.services_by_name["WorkflowService"]


class WorkflowService(NamespaceRpcs, WorkflowRpcs, TaskRpcs, VisibilityRpcs, BatchRpcs):
    """Temporal's ``temporal.api.workflowservice.v1.WorkflowService``."""
