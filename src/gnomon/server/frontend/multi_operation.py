"""ExecuteMultiOperation: update-with-start, as one operation.

The start follows its id conflict policy (USE_EXISTING updates the running workflow;
FAIL refuses); the update is then admitted to the resulting run. When one part fails,
the error carries a status per operation, the other one marked aborted, which is what
the SDKs unpack.
"""

from __future__ import annotations

from google.protobuf.any_pb2 import Any as AnyProto
from temporalio.api.errordetails.v1 import MultiOperationExecutionFailure
from temporalio.api.failure.v1 import MultiOperationExecutionAborted
from temporalio.api.workflowservice.v1 import request_response_pb2 as api

from gnomon.server.errors import InvalidArgumentError, ServiceError
from gnomon.server.frontend.status import code_of

ABORTED = "Operation was aborted."


def validate(
    request: api.ExecuteMultiOperationRequest,
) -> tuple[api.StartWorkflowExecutionRequest, api.UpdateWorkflowExecutionRequest]:
    """The start and update requests; INVALID_ARGUMENT unless it is a well-formed update-with-start."""
    operations = list(request.operations)
    if len(operations) != 2:
        raise InvalidArgumentError("Operations have to be exactly [Start, Update].")
    start, update = operations
    if not start.HasField("start_workflow") or not update.HasField("update_workflow"):
        raise InvalidArgumentError("Operations have to be exactly [Start, Update].")
    start_req, update_req = start.start_workflow, update.update_workflow
    for inner in (start_req, update_req):
        if inner.namespace and inner.namespace != request.namespace:
            raise InvalidArgumentError("Namespace of an operation does not match the request's namespace.")
    update_id = update_req.workflow_execution.workflow_id
    if update_id and update_id != start_req.workflow_id:
        raise InvalidArgumentError("WorkflowId of the Update does not match the Start's WorkflowId.")
    if update_req.workflow_execution.run_id:
        raise InvalidArgumentError("RunId is not allowed on the Update operation.")
    if start_req.cron_schedule:
        raise InvalidArgumentError("CronSchedule is not allowed in update-with-start.")
    if start_req.request_eager_execution:
        raise InvalidArgumentError("RequestEagerExecution is not allowed in update-with-start.")
    return start_req, update_req


def failure(failed_index: int, error: ServiceError) -> ServiceError:
    """The error for a multi-operation whose operation ``failed_index`` failed with ``error``.

    It has the failed operation's status code, as on the reference (the SDKs retry some
    codes, so a generic ABORTED would make them retry a start that can never succeed).
    """
    statuses = []
    for index in range(2):
        if index == failed_index:
            details = []
            if error.details is not None:
                packed = AnyProto()
                packed.Pack(error.details)
                details.append(packed)
            statuses.append(
                MultiOperationExecutionFailure.OperationStatus(
                    code=code_of(error).value[0], message=error.message, details=details
                )
            )
        else:
            aborted = AnyProto()
            aborted.Pack(MultiOperationExecutionAborted())
            statuses.append(MultiOperationExecutionFailure.OperationStatus(code=10, message=ABORTED, details=[aborted]))
    return type(error)(
        "Update-with-Start could not be executed.", details=MultiOperationExecutionFailure(statuses=statuses)
    )
