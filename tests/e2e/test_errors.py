"""Bad requests get the right gRPC status (and leave the server's state alone).

Every call here goes through the raw ``workflow_service`` stubs, so the SDK cannot mask the status.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.command.v1 import Command, CompleteWorkflowExecutionCommandAttributes
from temporalio.api.common.v1 import Payloads, WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import CommandType, EventType, WorkflowExecutionStatus
from temporalio.api.errordetails.v1 import WorkflowExecutionAlreadyStartedFailure
from temporalio.api.query.v1 import WorkflowQuery
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
    GetWorkflowExecutionHistoryRequest,
    PollActivityTaskQueueRequest,
    PollWorkflowTaskQueueRequest,
    QueryWorkflowRequest,
    RecordActivityTaskHeartbeatRequest,
    RequestCancelWorkflowExecutionRequest,
    RespondActivityTaskCompletedRequest,
    RespondActivityTaskFailedRequest,
    RespondWorkflowTaskCompletedRequest,
    RespondWorkflowTaskFailedRequest,
    SignalWithStartWorkflowExecutionRequest,
    SignalWorkflowExecutionRequest,
    StartWorkflowExecutionRequest,
    TerminateWorkflowExecutionRequest,
)
from temporalio.client import Client
from temporalio.service import RPCStatusCode, WorkflowService

from tests.e2e.helpers import (
    NAMESPACE,
    describe,
    events_of,
    expect_rpc_error,
    history_events,
    normalized,
    running_worker,
    unique_id,
)
from tests.e2e.workflows import ActivityCall, ActivityWorkflow

E = EventType
Status = WorkflowExecutionStatus


def _start_request(**overrides: Any) -> StartWorkflowExecutionRequest:
    """A valid start request (for a workflow nobody runs) with ``overrides`` applied."""
    fields: dict[str, Any] = {
        "namespace": NAMESPACE,
        "workflow_id": unique_id("err"),
        "workflow_type": WorkflowType(name="SignalWorkflow"),
        "task_queue": TaskQueue(name=unique_id("err-tq")),
        "request_id": str(uuid.uuid4()),
    }
    fields.update(overrides)
    return StartWorkflowExecutionRequest(**{k: v for k, v in fields.items() if v is not None})


async def _started(client: Client, **overrides: Any) -> StartWorkflowExecutionRequest:
    """Start a workflow nobody runs; return the request used."""
    req = _start_request(**overrides)
    await client.workflow_service.start_workflow_execution(req)
    return req


def _execution(workflow_id: str, run_id: str = "") -> WorkflowExecution:
    return WorkflowExecution(workflow_id=workflow_id, run_id=run_id)


# --- missing and malformed fields -------------------------------------------------------


@pytest.mark.parametrize(
    ("missing", "mention"),
    [
        ("workflow_id", "workflowid"),
        ("workflow_type", "workflowtype"),
        ("task_queue", "taskqueue"),
        ("namespace", "namespace"),
    ],
)
async def test_start_without_required_field_is_invalid(client: Client, missing: str, mention: str) -> None:
    req = _start_request(**{missing: None})
    err = await expect_rpc_error(client.workflow_service.start_workflow_execution(req), RPCStatusCode.INVALID_ARGUMENT)
    assert mention in normalized(err.message), err.message
    if missing != "workflow_id" and missing != "namespace":
        # Nothing was created.
        await expect_rpc_error(describe(client, req.workflow_id), RPCStatusCode.NOT_FOUND)


async def test_start_with_negative_timeout_is_invalid(client: Client) -> None:
    req = _start_request(workflow_execution_timeout=Duration(seconds=-5))
    err = await expect_rpc_error(client.workflow_service.start_workflow_execution(req), RPCStatusCode.INVALID_ARGUMENT)
    assert "timeout" in normalized(err.message), err.message
    await expect_rpc_error(describe(client, req.workflow_id), RPCStatusCode.NOT_FOUND)


@pytest.mark.parametrize("schedule", ["not a cron", "CRON_TZ=Mars/Base 0 * * * *"])
async def test_start_with_bad_cron_is_invalid(client: Client, schedule: str) -> None:
    req = _start_request(cron_schedule=schedule)
    err = await expect_rpc_error(client.workflow_service.start_workflow_execution(req), RPCStatusCode.INVALID_ARGUMENT)
    assert "cron" in normalized(err.message), err.message
    await expect_rpc_error(describe(client, req.workflow_id), RPCStatusCode.NOT_FOUND)


async def test_start_with_overlong_workflow_id_is_invalid(client: Client) -> None:
    req = _start_request(workflow_id="w" * 2000)
    err = await expect_rpc_error(client.workflow_service.start_workflow_execution(req), RPCStatusCode.INVALID_ARGUMENT)
    assert "workflowid" in normalized(err.message), err.message


async def test_signal_with_start_without_signal_name_is_invalid(client: Client) -> None:
    wid = unique_id("sws-invalid")
    err = await expect_rpc_error(
        client.workflow_service.signal_with_start_workflow_execution(
            SignalWithStartWorkflowExecutionRequest(
                namespace=NAMESPACE,
                workflow_id=wid,
                workflow_type=WorkflowType(name="SignalWorkflow"),
                task_queue=TaskQueue(name=unique_id("tq")),
                request_id=str(uuid.uuid4()),
            )
        ),
        RPCStatusCode.INVALID_ARGUMENT,
    )
    assert "signal" in normalized(err.message), err.message
    await expect_rpc_error(describe(client, wid), RPCStatusCode.NOT_FOUND)


async def test_signal_without_name_is_invalid(client: Client) -> None:
    req = await _started(client)
    err = await expect_rpc_error(
        client.workflow_service.signal_workflow_execution(
            SignalWorkflowExecutionRequest(namespace=NAMESPACE, workflow_execution=_execution(req.workflow_id))
        ),
        RPCStatusCode.INVALID_ARGUMENT,
    )
    assert "signalname" in normalized(err.message), err.message
    assert not events_of(await history_events(client, req.workflow_id), E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)


async def test_describe_without_workflow_id_is_invalid(client: Client) -> None:
    err = await expect_rpc_error(describe(client, ""), RPCStatusCode.INVALID_ARGUMENT)
    assert "workflowid" in normalized(err.message), err.message


async def test_malformed_run_id_is_invalid(client: Client) -> None:
    req = await _started(client)
    err = await expect_rpc_error(describe(client, req.workflow_id, "not-a-uuid"), RPCStatusCode.INVALID_ARGUMENT)
    assert "runid" in normalized(err.message), err.message


async def test_poll_without_task_queue_is_invalid(client: Client) -> None:
    err = await expect_rpc_error(
        client.workflow_service.poll_workflow_task_queue(PollWorkflowTaskQueueRequest(namespace=NAMESPACE)),
        RPCStatusCode.INVALID_ARGUMENT,
    )
    assert "taskqueue" in normalized(err.message), err.message


# --- task tokens ------------------------------------------------------------------------

TokenCall = Callable[[WorkflowService, bytes], Awaitable[Any]]
TOKEN_CALLS: dict[str, TokenCall] = {
    "RespondWorkflowTaskCompleted": lambda s, t: s.respond_workflow_task_completed(
        RespondWorkflowTaskCompletedRequest(namespace=NAMESPACE, task_token=t)
    ),
    "RespondWorkflowTaskFailed": lambda s, t: s.respond_workflow_task_failed(
        RespondWorkflowTaskFailedRequest(namespace=NAMESPACE, task_token=t)
    ),
    "RespondActivityTaskCompleted": lambda s, t: s.respond_activity_task_completed(
        RespondActivityTaskCompletedRequest(namespace=NAMESPACE, task_token=t)
    ),
    "RespondActivityTaskFailed": lambda s, t: s.respond_activity_task_failed(
        RespondActivityTaskFailedRequest(namespace=NAMESPACE, task_token=t)
    ),
    "RecordActivityTaskHeartbeat": lambda s, t: s.record_activity_task_heartbeat(
        RecordActivityTaskHeartbeatRequest(namespace=NAMESPACE, task_token=t)
    ),
}


@pytest.mark.parametrize("rpc", sorted(TOKEN_CALLS))
async def test_malformed_task_token_is_invalid(client: Client, rpc: str) -> None:
    err = await expect_rpc_error(
        TOKEN_CALLS[rpc](client.workflow_service, b"\xffnot-a-task-token"), RPCStatusCode.INVALID_ARGUMENT
    )
    assert "token" in normalized(err.message), err.message


@pytest.mark.parametrize("rpc", ["RespondWorkflowTaskCompleted", "RespondActivityTaskCompleted"])
async def test_empty_task_token_is_invalid(client: Client, rpc: str) -> None:
    err = await expect_rpc_error(TOKEN_CALLS[rpc](client.workflow_service, b""), RPCStatusCode.INVALID_ARGUMENT)
    assert "token" in normalized(err.message), err.message


async def test_workflow_task_completed_twice_is_not_found(client: Client) -> None:
    req = await _started(client)
    task = await asyncio.wait_for(
        client.workflow_service.poll_workflow_task_queue(
            PollWorkflowTaskQueueRequest(namespace=NAMESPACE, task_queue=req.task_queue, identity="raw-poller")
        ),
        timeout=30,
    )
    assert task.task_token
    assert task.workflow_execution.workflow_id == req.workflow_id
    complete = Command(
        command_type=CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
        complete_workflow_execution_command_attributes=CompleteWorkflowExecutionCommandAttributes(),
    )
    respond = RespondWorkflowTaskCompletedRequest(
        namespace=NAMESPACE, task_token=task.task_token, commands=[complete], identity="raw-poller"
    )
    await client.workflow_service.respond_workflow_task_completed(respond)
    before = await history_events(client, req.workflow_id)
    err = await expect_rpc_error(
        client.workflow_service.respond_workflow_task_completed(respond), RPCStatusCode.NOT_FOUND
    )
    assert err.message
    assert await history_events(client, req.workflow_id) == before
    assert before[-1].event_type == E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED


async def test_activity_completed_twice_is_not_found(client: Client, task_queue: str) -> None:
    wid = unique_id("act-twice")
    activity_queue = unique_id("raw-activities")
    async with running_worker(client, task_queue):
        handle = await client.start_workflow(
            ActivityWorkflow.run, ActivityCall("echo", ["x"], task_queue=activity_queue), id=wid, task_queue=task_queue
        )
        task = await asyncio.wait_for(
            client.workflow_service.poll_activity_task_queue(
                PollActivityTaskQueueRequest(
                    namespace=NAMESPACE, task_queue=TaskQueue(name=activity_queue), identity="raw-activity-poller"
                )
            ),
            timeout=30,
        )
        assert task.task_token
        assert task.activity_type.name == "echo"
        first = client.data_converter.payload_converter.to_payloads(["first"])
        second = client.data_converter.payload_converter.to_payloads(["second"])
        await client.workflow_service.respond_activity_task_completed(
            RespondActivityTaskCompletedRequest(
                namespace=NAMESPACE, task_token=task.task_token, result=Payloads(payloads=first)
            )
        )
        err = await expect_rpc_error(
            client.workflow_service.respond_activity_task_completed(
                RespondActivityTaskCompletedRequest(
                    namespace=NAMESPACE, task_token=task.task_token, result=Payloads(payloads=second)
                )
            ),
            RPCStatusCode.NOT_FOUND,
        )
        assert err.message
        assert await handle.result() == "first"
    events = await history_events(client, wid)
    assert len(events_of(events, E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)) == 1


# --- unknown namespaces and workflows ---------------------------------------------------


async def test_unknown_namespace_is_not_found(client: Client) -> None:
    ns = unique_id("no-such-ns")
    for call in (
        client.workflow_service.start_workflow_execution(_start_request(namespace=ns)),
        client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(namespace=ns, execution=_execution("w"))
        ),
        client.workflow_service.poll_workflow_task_queue(
            PollWorkflowTaskQueueRequest(namespace=ns, task_queue=TaskQueue(name="tq"))
        ),
    ):
        err = await expect_rpc_error(call, RPCStatusCode.NOT_FOUND)
        assert ns in err.message, err.message


UnknownWorkflowCall = Callable[[WorkflowService, WorkflowExecution], Awaitable[Any]]
UNKNOWN_WORKFLOW_CALLS: dict[str, UnknownWorkflowCall] = {
    "DescribeWorkflowExecution": lambda s, ex: s.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(namespace=NAMESPACE, execution=ex)
    ),
    "GetWorkflowExecutionHistory": lambda s, ex: s.get_workflow_execution_history(
        GetWorkflowExecutionHistoryRequest(namespace=NAMESPACE, execution=ex)
    ),
    "SignalWorkflowExecution": lambda s, ex: s.signal_workflow_execution(
        SignalWorkflowExecutionRequest(namespace=NAMESPACE, workflow_execution=ex, signal_name="add")
    ),
    "TerminateWorkflowExecution": lambda s, ex: s.terminate_workflow_execution(
        TerminateWorkflowExecutionRequest(namespace=NAMESPACE, workflow_execution=ex)
    ),
    "RequestCancelWorkflowExecution": lambda s, ex: s.request_cancel_workflow_execution(
        RequestCancelWorkflowExecutionRequest(namespace=NAMESPACE, workflow_execution=ex)
    ),
    "QueryWorkflow": lambda s, ex: s.query_workflow(
        QueryWorkflowRequest(namespace=NAMESPACE, execution=ex, query=WorkflowQuery(query_type="state"))
    ),
}


@pytest.mark.parametrize("rpc", sorted(UNKNOWN_WORKFLOW_CALLS))
async def test_unknown_workflow_is_not_found(client: Client, rpc: str) -> None:
    err = await expect_rpc_error(
        UNKNOWN_WORKFLOW_CALLS[rpc](client.workflow_service, _execution(unique_id("no-such-wf"))),
        RPCStatusCode.NOT_FOUND,
    )
    assert err.message


async def test_unknown_run_of_known_workflow_is_not_found(client: Client) -> None:
    req = await _started(client)
    await expect_rpc_error(describe(client, req.workflow_id, str(uuid.uuid4())), RPCStatusCode.NOT_FOUND)


@pytest.mark.parametrize("rpc", ["SignalWorkflowExecution", "TerminateWorkflowExecution"])
async def test_closed_workflow_rejects_signal_and_terminate(client: Client, rpc: str) -> None:
    req = await _started(client)
    await client.workflow_service.terminate_workflow_execution(
        TerminateWorkflowExecutionRequest(
            namespace=NAMESPACE, workflow_execution=_execution(req.workflow_id), reason="first"
        )
    )
    before = await history_events(client, req.workflow_id)
    err = await expect_rpc_error(
        UNKNOWN_WORKFLOW_CALLS[rpc](client.workflow_service, _execution(req.workflow_id)), RPCStatusCode.NOT_FOUND
    )
    assert err.message
    assert await history_events(client, req.workflow_id) == before
    assert (
        await describe(client, req.workflow_id)
    ).workflow_execution_info.status == Status.WORKFLOW_EXECUTION_STATUS_TERMINATED


# --- duplicates -------------------------------------------------------------------------


async def test_duplicate_start_is_already_exists_with_details(client: Client) -> None:
    first_req = await _started(client)
    first_run = (await describe(client, first_req.workflow_id)).workflow_execution_info.execution.run_id
    before = await history_events(client, first_req.workflow_id)

    dup = _start_request(workflow_id=first_req.workflow_id, task_queue=first_req.task_queue)
    err = await expect_rpc_error(client.workflow_service.start_workflow_execution(dup), RPCStatusCode.ALREADY_EXISTS)
    assert first_req.workflow_id in err.message
    assert len(err.grpc_status.details) == 1
    details = WorkflowExecutionAlreadyStartedFailure()
    assert err.grpc_status.details[0].Unpack(details), err.grpc_status.details[0].type_url
    assert details.run_id == first_run
    assert details.start_request_id == first_req.request_id

    # State unchanged: same current run, same history.
    assert (await describe(client, first_req.workflow_id)).workflow_execution_info.execution.run_id == first_run
    assert await history_events(client, first_req.workflow_id) == before
