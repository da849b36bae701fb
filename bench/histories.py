"""Reading back what a driver left: a run's event types, for shape checks."""

from __future__ import annotations

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.api.workflowservice.v1.service_pb2_grpc import WorkflowServiceStub

from bench.workloads import NAMESPACE


def event_type_name(event_type: EventType.ValueType) -> str:
    """``EVENT_TYPE_ACTIVITY_TASK_STARTED`` -> ``ACTIVITY_TASK_STARTED``."""
    return EventType.Name(event_type).removeprefix("EVENT_TYPE_")


async def event_types(stub: WorkflowServiceStub, workflow_id: str, run_id: str = "") -> list[str]:
    """The event type names of a run's whole history (the current run if no ``run_id``)."""
    names: list[str] = []
    token = b""
    while True:
        page = await stub.GetWorkflowExecutionHistory(
            GetWorkflowExecutionHistoryRequest(
                namespace=NAMESPACE,
                execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
                next_page_token=token,
            )
        )
        names += [event_type_name(event.event_type) for event in page.history.events]
        token = page.next_page_token
        if not token:
            return names
