"""Task tokens a client has tampered with: refused as INVALID_ARGUMENT before they touch any state.

Tokens are Gnomon's own format (JSON of the task's identity), so these tests run on Gnomon only;
each real task stays answerable with its real token afterwards.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from temporalio.api.common.v1 import Payloads, WorkflowType
from temporalio.api.enums.v1 import EventType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    PollActivityTaskQueueRequest,
    PollWorkflowTaskQueueRequest,
    RecordActivityTaskHeartbeatRequest,
    RespondActivityTaskCompletedRequest,
    RespondQueryTaskCompletedRequest,
    RespondWorkflowTaskCompletedRequest,
    StartWorkflowExecutionRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from gnomon.server.errors import InvalidArgumentError
from gnomon.server.history.tokens import TaskToken, TokenKind
from tests.e2e.helpers import NAMESPACE, history_events, running_worker, unique_id
from tests.e2e.test_task_protocol import COMPLETE
from tests.e2e.workflows import ActivityCall, ActivityWorkflow
from tests.support.targets import ON_GNOMON

pytestmark = pytest.mark.skipif(not ON_GNOMON, reason="task tokens are each server's own format")

WORKFLOW_TOKEN = TaskToken("ns", "wf", "run", scheduled_event_id=2, attempt=1, started_event_id=3, start_id="s1")
ACTIVITY_TOKEN = TaskToken("ns", "wf", "run", scheduled_event_id=5, attempt=1, activity_id="a")
QUERY_TOKEN = TaskToken("ns", "wf", "run", query_id="q")


def _tampered(token: TaskToken, **changes: Any) -> bytes:
    return orjson.dumps({**orjson.loads(token.encode()), **changes})


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"not json", TokenKind.WORKFLOW),
        (b"[1, 2]", TokenKind.WORKFLOW),
        (b"\xff\xfe", TokenKind.WORKFLOW),
        (_tampered(WORKFLOW_TOKEN, run_id=["a", "b"]), TokenKind.WORKFLOW),
        (_tampered(WORKFLOW_TOKEN, attempt=True), TokenKind.WORKFLOW),
        (_tampered(WORKFLOW_TOKEN, attempt=-1), TokenKind.WORKFLOW),
        (_tampered(WORKFLOW_TOKEN, scheduled_event_id=2**63), TokenKind.WORKFLOW),
        (_tampered(WORKFLOW_TOKEN, scheduled_event_id=2.5), TokenKind.WORKFLOW),
        (WORKFLOW_TOKEN.encode().replace(b'"attempt":1', b'"attempt":18446744073709551616'), TokenKind.WORKFLOW),
        (WORKFLOW_TOKEN.encode().replace(b'"attempt":1', b'"attempt":1e400'), TokenKind.WORKFLOW),
        (_tampered(WORKFLOW_TOKEN, activity_id=7), TokenKind.WORKFLOW),
        (_tampered(WORKFLOW_TOKEN, activity_id="a"), TokenKind.WORKFLOW),
        (_tampered(WORKFLOW_TOKEN, extra="field"), TokenKind.WORKFLOW),
        (_tampered(WORKFLOW_TOKEN, workflow_id="w" * 1001), TokenKind.WORKFLOW),
        (_tampered(WORKFLOW_TOKEN, start_id=""), TokenKind.WORKFLOW),
        (_tampered(ACTIVITY_TOKEN, start_id="s1"), TokenKind.ACTIVITY),
        (_tampered(ACTIVITY_TOKEN, started_event_id="s"), TokenKind.ACTIVITY),
        (_tampered(ACTIVITY_TOKEN, started_event_id=6), TokenKind.ACTIVITY),
        (WORKFLOW_TOKEN.encode(), TokenKind.ACTIVITY),
        (ACTIVITY_TOKEN.encode(), TokenKind.QUERY),
        (QUERY_TOKEN.encode(), TokenKind.WORKFLOW),
        (b'{"namespace_id": "ns"}', TokenKind.QUERY),
    ],
)
def test_malformed_or_foreign_token_is_refused(data: bytes, kind: TokenKind) -> None:
    with pytest.raises(InvalidArgumentError):
        TaskToken.decode(data, kind)


@pytest.mark.parametrize("token", [WORKFLOW_TOKEN, ACTIVITY_TOKEN, QUERY_TOKEN])
def test_each_kind_round_trips(token: TaskToken) -> None:
    assert TaskToken.decode(token.encode(), token.kind) == token


async def _expect_invalid(call: Any) -> None:
    with pytest.raises(RPCError) as caught:
        await call
    assert caught.value.status == RPCStatusCode.INVALID_ARGUMENT, caught.value


async def _start(client: Client, task_queue: str) -> str:
    workflow_id = unique_id("tampered")
    await client.workflow_service.start_workflow_execution(
        StartWorkflowExecutionRequest(
            namespace=NAMESPACE,
            workflow_id=workflow_id,
            workflow_type=WorkflowType(name="RawWorkflow"),
            task_queue=TaskQueue(name=task_queue),
            request_id=unique_id("request"),
        )
    )
    return workflow_id


async def test_tampered_workflow_task_token_leaves_the_task_open(client: Client, task_queue: str) -> None:
    workflow_id = await _start(client, task_queue)
    service = client.workflow_service
    task = await asyncio.wait_for(
        service.poll_workflow_task_queue(
            PollWorkflowTaskQueueRequest(namespace=NAMESPACE, task_queue=TaskQueue(name=task_queue))
        ),
        timeout=30,
    )
    real = TaskToken.decode(task.task_token, TokenKind.WORKFLOW)
    for bad in (_tampered(real, activity_id=7), _tampered(real, run_id=[real.run_id]), _tampered(real, attempt="1")):
        await _expect_invalid(
            service.respond_workflow_task_completed(
                RespondWorkflowTaskCompletedRequest(namespace=NAMESPACE, task_token=bad, commands=[COMPLETE])
            )
        )
    await _expect_invalid(
        service.respond_query_task_completed(
            RespondQueryTaskCompletedRequest(namespace=NAMESPACE, task_token=task.task_token)
        )
    )
    # The real token still completes the task, which nothing else touched.
    await service.respond_workflow_task_completed(
        RespondWorkflowTaskCompletedRequest(namespace=NAMESPACE, task_token=task.task_token, commands=[COMPLETE])
    )
    events = await history_events(client, workflow_id)
    assert [e.event_type for e in events][-2:] == [
        EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
    ]


async def test_tampered_activity_token_does_not_complete_the_activity(client: Client, task_queue: str) -> None:
    workflow_id = unique_id("tampered-activity")
    call = ActivityCall("echo", ["real"], activity_id="act-1")
    async with running_worker(client, task_queue, with_activities=False):
        handle = await client.start_workflow(ActivityWorkflow.run, call, id=workflow_id, task_queue=task_queue)
        service = client.workflow_service
        task = await asyncio.wait_for(
            service.poll_activity_task_queue(
                PollActivityTaskQueueRequest(namespace=NAMESPACE, task_queue=TaskQueue(name=task_queue))
            ),
            timeout=30,
        )
        real = TaskToken.decode(task.task_token, TokenKind.ACTIVITY)
        result = Payloads(payloads=client.data_converter.payload_converter.to_payloads(["forged"]))
        for bad in (
            _tampered(real, started_event_id="s"),
            _tampered(real, scheduled_event_id=str(real.scheduled_event_id)),
        ):
            await _expect_invalid(
                service.respond_activity_task_completed(
                    RespondActivityTaskCompletedRequest(namespace=NAMESPACE, task_token=bad, result=result)
                )
            )
            await _expect_invalid(
                service.record_activity_task_heartbeat(
                    RecordActivityTaskHeartbeatRequest(namespace=NAMESPACE, task_token=bad)
                )
            )
        # Still pending, and its real token completes it.
        assert [p.activity_id for p in (await handle.describe()).raw_description.pending_activities] == ["act-1"]
        genuine = Payloads(payloads=client.data_converter.payload_converter.to_payloads(["genuine"]))
        await service.respond_activity_task_completed(
            RespondActivityTaskCompletedRequest(namespace=NAMESPACE, task_token=task.task_token, result=genuine)
        )
        assert await handle.result() == "genuine"
