"""Every RPC the fuzzer sends: read from the protobuf service descriptors, marked implemented or not.

The list is derived, not written down: a method added to ``temporalio.api`` or implemented in
Gnomon is fuzzed without touching the fuzzer.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from temporalio.api.operatorservice.v1 import service_pb2 as operator_service
from temporalio.api.workflowservice.v1 import service_pb2 as workflow_service

from gnomon.server.frontend.operator import OperatorService
from gnomon.server.frontend.service import WorkflowService
from gnomon.server.transport.services import implements

#: RPCs that may legitimately wait for a worker, a new event or an update stage: they get a short
#: deadline, and DEADLINE_EXCEEDED or an empty answer from them is fine.
WAITING_RPCS = frozenset(
    {
        "PollWorkflowTaskQueue",
        "PollActivityTaskQueue",
        "PollNexusTaskQueue",
        "GetWorkflowExecutionHistory",
        "QueryWorkflow",
        "UpdateWorkflowExecution",
        "PollWorkflowExecutionUpdate",
        "ExecuteMultiOperation",
        "PollActivityExecution",
        "PollNexusOperationExecution",
        "PollWorkflowExecutionTimeSkipping",
    }
)


@dataclass(frozen=True)
class Rpc:
    """One unary method of a service."""

    service: str
    name: str
    request_type: type[Message]
    implemented: bool

    @property
    def path(self) -> str:
        return f"/{self.service}/{self.name}"

    @property
    def waits(self) -> bool:
        return self.name in WAITING_RPCS


@cache
def all_rpcs() -> tuple[Rpc, ...]:
    """Every unary RPC of WorkflowService and OperatorService, in descriptor order."""
    rpcs: list[Rpc] = []
    for module, service_name, implementation in (
        (workflow_service, "WorkflowService", WorkflowService),
        (operator_service, "OperatorService", OperatorService),
    ):
        service = module.DESCRIPTOR.services_by_name[service_name]
        for method in service.methods:
            if method.client_streaming or method.server_streaming:
                continue  # neither service has any today; the fuzzer speaks unary only
            rpcs.append(
                Rpc(
                    service.full_name,
                    method.name,
                    GetMessageClass(method.input_type),
                    implements(implementation, method.name),
                )
            )
    return tuple(rpcs)


def rpc_named(name: str) -> Rpc:
    """The RPC called ``name`` (method names are unique across the two services)."""
    for rpc in all_rpcs():
        if rpc.name == name:
            return rpc
    raise KeyError(name)
