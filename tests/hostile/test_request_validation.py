"""Well-typed but hostile request fields: each answered as the reference answers it, never INTERNAL.

These run against the reference as well (``GNOMON_TEST_TARGET=reference``): the expected
status comes from it.
"""

from __future__ import annotations

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.common.v1 import WorkflowExecution, WorkflowType
from temporalio.api.filter.v1 import StartTimeFilter
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    GetWorkflowExecutionHistoryRequest,
    GetWorkflowExecutionHistoryReverseRequest,
    ListClosedWorkflowExecutionsRequest,
    ListOpenWorkflowExecutionsRequest,
    ListWorkflowExecutionsRequest,
    StartWorkflowExecutionRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from tests.e2e.helpers import NAMESPACE, running_worker, unique_id
from tests.e2e.workflows import EchoWorkflow


def _start_request(task_queue: str, **fields: object) -> StartWorkflowExecutionRequest:
    return StartWorkflowExecutionRequest(
        namespace=NAMESPACE,
        workflow_id=unique_id("hostile"),
        workflow_type=WorkflowType(name="EchoWorkflow"),
        task_queue=TaskQueue(name=task_queue),
        request_id=unique_id("request"),
        **fields,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    "schedule",
    [
        "@every 100000000000h",
        "@every " + "9" * 400 + "s",
        "CRON_TZ=" + "Z" * 300 + " * * * * *",
        "CRON_TZ=../../../../etc/passwd * * * * *",
        "*/" + "9" * 5000 + " * * * *",
        "9" * 5000 + " * * * *",
    ],
    ids=["every-overflow", "every-digits", "zone-too-long", "zone-path", "step-digits", "value-digits"],
)
async def test_absurd_cron_schedule_is_invalid_argument(client: Client, task_queue: str, schedule: str) -> None:
    with pytest.raises(RPCError) as caught:
        await client.workflow_service.start_workflow_execution(_start_request(task_queue, cron_schedule=schedule))
    assert caught.value.status == RPCStatusCode.INVALID_ARGUMENT, caught.value.message
    assert "/gnomon" not in caught.value.message and "site-packages" not in caught.value.message


@pytest.mark.parametrize("page_size", [-3, -1000, -(2**31)])
async def test_negative_history_page_size_means_the_default(client: Client, task_queue: str, page_size: int) -> None:
    workflow_id = unique_id("pages")
    async with running_worker(client, task_queue):
        await client.execute_workflow(EchoWorkflow.run, "x", id=workflow_id, task_queue=task_queue)
    execution = WorkflowExecution(workflow_id=workflow_id)
    forward = await client.workflow_service.get_workflow_execution_history(
        GetWorkflowExecutionHistoryRequest(namespace=NAMESPACE, execution=execution, maximum_page_size=page_size)
    )
    backward = await client.workflow_service.get_workflow_execution_history_reverse(
        GetWorkflowExecutionHistoryReverseRequest(namespace=NAMESPACE, execution=execution, maximum_page_size=page_size)
    )
    assert [e.event_id for e in forward.history.events] == [1, 2, 3, 4, 5]
    assert [e.event_id for e in backward.history.events] == [5, 4, 3, 2, 1]


async def test_negative_list_page_size_means_the_default(client: Client) -> None:
    response = await client.workflow_service.list_workflow_executions(
        ListWorkflowExecutionsRequest(namespace=NAMESPACE, page_size=-5, query="WorkflowId = 'none-such'")
    )
    assert list(response.executions) == []


@pytest.mark.parametrize(
    ("time", "valid"),
    [
        (Timestamp(seconds=1, nanos=-1), True),
        (Timestamp(seconds=1, nanos=2_000_000_000), True),
        (Timestamp(seconds=2**62), False),
        (Timestamp(seconds=-(2**62)), False),
    ],
    ids=["negative-nanos", "nanos-overflow", "seconds-past-9999", "seconds-before-1"],
)
async def test_list_timestamps_are_read_as_the_reference_reads_them(
    client: Client, time: Timestamp, valid: bool
) -> None:
    """Nanos outside 0..1e9 are carried into seconds; a time outside years 1 to 9999 is refused."""
    window = StartTimeFilter(earliest_time=time, latest_time=Timestamp(seconds=10))
    for call in (
        client.workflow_service.list_open_workflow_executions(
            ListOpenWorkflowExecutionsRequest(namespace=NAMESPACE, start_time_filter=window)
        ),
        client.workflow_service.list_closed_workflow_executions(
            ListClosedWorkflowExecutionsRequest(namespace=NAMESPACE, start_time_filter=window)
        ),
    ):
        if valid:
            assert list((await call).executions) == []
            continue
        with pytest.raises(RPCError) as caught:
            await call
        assert caught.value.status == RPCStatusCode.INVALID_ARGUMENT, caught.value.message
