"""Well-typed but hostile request fields: each answered as the reference answers it, never INTERNAL.

These run against the reference as well (``GNOMON_TEST_TARGET=reference``): the expected
status comes from it.
"""

from __future__ import annotations

import math

import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.common.v1 import Payload, RetryPolicy, SearchAttributes, WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.filter.v1 import StartTimeFilter
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeWorkflowExecutionRequest,
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
from tests.support.search_attributes import ensure_search_attributes
from tests.support.servers import ServerProcess


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


BIG = 2**63 - 1
HUNDRED_YEARS = 100 * 365 * 24 * 3600


def _keyword(name: str, data: bytes) -> SearchAttributes:
    return SearchAttributes(indexed_fields={name: Payload(metadata={"encoding": b"json/plain"}, data=data)})


HOSTILE_SEARCH_ATTRIBUTES = {
    "HostileInt": IndexedValueType.INDEXED_VALUE_TYPE_INT,
    "HostileKeyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "HostileDatetime": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
}


@pytest.fixture(scope="module")
async def hostile_search_attributes(server: ServerProcess) -> None:
    client = await Client.connect(server.address, namespace=NAMESPACE)
    await ensure_search_attributes(client, NAMESPACE, HOSTILE_SEARCH_ATTRIBUTES)


@pytest.mark.usefixtures("hostile_search_attributes")
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"workflow_execution_timeout": Duration(seconds=-5)}, "An invalid WorkflowExecutionTimeoutSeconds"),
        ({"workflow_run_timeout": Duration(seconds=5, nanos=-1)}, "seconds and nanos with different signs"),
        ({"workflow_start_delay": Duration(seconds=-1)}, "An invalid WorkflowStartDelaySeconds"),
        ({"retry_policy": RetryPolicy(backoff_coefficient=0.5)}, "BackoffCoefficient cannot be less than 1"),
        ({"retry_policy": RetryPolicy(maximum_attempts=-5)}, "MaximumAttempts cannot be negative"),
        ({"retry_policy": RetryPolicy(initial_interval=Duration(seconds=-1))}, "invalid InitialInterval"),
        (
            {"retry_policy": RetryPolicy(initial_interval=Duration(seconds=10), maximum_interval=Duration(seconds=1))},
            "MaximumInterval cannot be less than InitialInterval",
        ),
        ({"search_attributes": _keyword("HostileInt", b'"abc"')}, "invalid value for search attribute"),
        ({"search_attributes": _keyword("HostileInt", b"{nope")}, "invalid value for search attribute"),
        ({"search_attributes": _keyword("HostileKeyword", b"123")}, "invalid value for search attribute"),
        ({"search_attributes": _keyword("HostileKeyword", b'["a", "b"]')}, "invalid value for search attribute"),
        ({"search_attributes": _keyword("HostileDatetime", b'"yesterday"')}, "invalid value for search attribute"),
        ({"search_attributes": _keyword("HostileKeyword", b'"' + b"k" * 3000 + b'"')}, "exceeds size limit 2048"),
        ({"search_attributes": _keyword("WorkflowId", b'"mine"')}, "can't be set in SearchAttributes"),
    ],
    ids=[
        "timeout-negative", "timeout-mixed-signs", "delay-negative", "backoff-below-1", "attempts-negative",
        "interval-negative", "maximum-below-initial", "int-as-string", "not-json", "keyword-as-number",
        "keyword-as-list", "datetime-not-a-time", "value-too-large", "system-attribute",
    ],
)  # fmt: skip
async def test_invalid_start_is_invalid_argument(
    client: Client, task_queue: str, fields: dict[str, object], message: str
) -> None:
    with pytest.raises(RPCError) as caught:
        await client.workflow_service.start_workflow_execution(_start_request(task_queue, **fields), retry=False)
    assert caught.value.status == RPCStatusCode.INVALID_ARGUMENT, caught.value.message
    assert message in caught.value.message


@pytest.mark.parametrize(
    ("fields", "shown"),
    [
        ({"workflow_execution_timeout": Duration(seconds=BIG)}, ("workflow_execution_timeout", HUNDRED_YEARS)),
        ({"workflow_run_timeout": Duration(seconds=BIG)}, ("workflow_run_timeout", HUNDRED_YEARS)),
        ({"workflow_task_timeout": Duration(seconds=BIG)}, ("default_workflow_task_timeout", 120)),
        ({"workflow_start_delay": Duration(seconds=BIG)}, None),
        ({"retry_policy": RetryPolicy(backoff_coefficient=math.nan)}, None),
        ({"retry_policy": RetryPolicy(backoff_coefficient=math.inf)}, None),
    ],
    ids=["execution-timeout", "run-timeout", "task-timeout", "start-delay", "backoff-nan", "backoff-inf"],
)
async def test_absurd_but_accepted_values_are_capped(
    client: Client, task_queue: str, fields: dict[str, object], shown: tuple[str, int] | None
) -> None:
    """The reference caps absurd durations (100 years; a task timeout to 120 s) and takes NaN/inf backoffs."""
    request = _start_request(task_queue, **fields)
    await client.workflow_service.start_workflow_execution(request, retry=False)
    described = await client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(
            namespace=NAMESPACE, execution=WorkflowExecution(workflow_id=request.workflow_id)
        )
    )
    if shown is not None:
        name, seconds = shown
        assert getattr(described.execution_config, name).seconds == seconds
