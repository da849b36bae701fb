"""The update protocol as a worker sees it, driven with raw Poll*/Respond* calls.

What the official SDKs never do on their own, but a server must handle as the reference
does: a worker that completes a task without answering an update it was sent, a task the
server fails while it carries an update, and a workflow-task heartbeat in between.
Run these against the reference too (``GNOMON_TEST_TARGET=reference``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from google.protobuf.any_pb2 import Any as AnyProto
from temporalio.api.command.v1 import Command, StartTimerCommandAttributes
from temporalio.api.common.v1 import Payloads, WorkflowExecution, WorkflowType
from temporalio.api.enums.v1 import CommandType, EventType, UpdateWorkflowExecutionLifecycleStage
from temporalio.api.protocol.v1 import Message
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.update.v1 import Acceptance, Input, Meta, Outcome, Request, Response, WaitPolicy
from temporalio.api.workflowservice.v1 import (
    PollWorkflowTaskQueueRequest,
    PollWorkflowTaskQueueResponse,
    RespondWorkflowTaskCompletedRequest,
    RespondWorkflowTaskCompletedResponse,
    StartWorkflowExecutionRequest,
    UpdateWorkflowExecutionRequest,
    UpdateWorkflowExecutionResponse,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from tests.e2e.helpers import NAMESPACE, event_types, history_events, unique_id
from tests.support.updates import wait_until_admitted

E = EventType
COMPLETED = UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED


async def _start(client: Client, task_queue: str) -> str:
    workflow_id = unique_id("raw-update")
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


async def _poll(client: Client, task_queue: str) -> PollWorkflowTaskQueueResponse:
    task = await asyncio.wait_for(
        client.workflow_service.poll_workflow_task_queue(
            PollWorkflowTaskQueueRequest(namespace=NAMESPACE, task_queue=TaskQueue(name=task_queue), identity="raw")
        ),
        timeout=30,
    )
    assert task.task_token, "the poll returned no task"
    return task


async def _complete(
    client: Client, token: bytes, *, commands: list[Command] | None = None, messages: list[Message] | None = None,
    heartbeat: bool = False,
) -> RespondWorkflowTaskCompletedResponse:  # fmt: skip
    return await client.workflow_service.respond_workflow_task_completed(
        RespondWorkflowTaskCompletedRequest(
            namespace=NAMESPACE,
            task_token=token,
            commands=commands or [],
            messages=messages or [],
            identity="raw",
            force_create_new_workflow_task=heartbeat,
            return_new_workflow_task=True,
        )
    )


def _send_update(client: Client, workflow_id: str, update_id: str) -> asyncio.Task[UpdateWorkflowExecutionResponse]:
    request = UpdateWorkflowExecutionRequest(
        namespace=NAMESPACE,
        workflow_execution=WorkflowExecution(workflow_id=workflow_id),
        wait_policy=WaitPolicy(lifecycle_stage=COMPLETED),
        request=Request(meta=Meta(update_id=update_id, identity="caller"), input=Input(name="raw_update")),
    )
    return asyncio.create_task(client.workflow_service.update_workflow_execution(request))


async def _idle_workflow(client: Client, task_queue: str) -> str:
    """A workflow whose first task completed with nothing to do: it waits for something to happen."""
    workflow_id = await _start(client, task_queue)
    first = await _poll(client, task_queue)
    await _complete(client, first.task_token)
    return workflow_id


def _answer(update_message: Message, result: Any) -> list[Message]:
    """The worker's acceptance and response for the update request ``update_message``."""
    request = Request()
    update_message.body.Unpack(request)
    acceptance, response = AnyProto(), AnyProto()
    acceptance.Pack(
        Acceptance(
            accepted_request_message_id=update_message.id,
            accepted_request_sequencing_event_id=update_message.event_id,
            accepted_request=request,
        )
    )
    response.Pack(Response(meta=request.meta, outcome=Outcome(success=Payloads(payloads=[result]))))
    update_id = update_message.protocol_instance_id
    return [
        Message(id=f"{update_id}/accept", protocol_instance_id=update_id, body=acceptance),
        Message(id=f"{update_id}/complete", protocol_instance_id=update_id, body=response),
    ]


async def test_update_the_worker_ignores_is_rejected_for_it(client: Client, task_queue: str) -> None:
    workflow_id = await _idle_workflow(client, task_queue)
    waiting = _send_update(client, workflow_id, "ignored")
    task = await _poll(client, task_queue)
    assert [m.protocol_instance_id for m in task.messages] == ["ignored"]
    # Completed without a word about the update: an SDK that does not know updates.
    await _complete(client, task.task_token)
    outcome = (await asyncio.wait_for(waiting, 15)).outcome
    assert outcome.failure.application_failure_info.type == "UnprocessedUpdate"
    assert outcome.failure.message.startswith("Workflow Update is rejected because it wasn't processed by worker.")
    # The task only delivered the update: like a rejection, it leaves nothing in history.
    assert E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED not in event_types((await history_events(client, workflow_id))[4:])


async def test_update_sent_with_a_task_the_server_fails_is_not_retried(client: Client, task_queue: str) -> None:
    workflow_id = await _idle_workflow(client, task_queue)
    waiting = _send_update(client, workflow_id, "in-failed-task")
    task = await _poll(client, task_queue)
    assert [m.protocol_instance_id for m in task.messages] == ["in-failed-task"]
    bad_timer = Command(
        command_type=CommandType.COMMAND_TYPE_START_TIMER, start_timer_command_attributes=StartTimerCommandAttributes()
    )
    try:
        await _complete(client, task.task_token, commands=[bad_timer])
        raise AssertionError("a timer without an id was accepted")
    except RPCError as error:
        assert error.status == RPCStatusCode.INVALID_ARGUMENT
    try:
        await asyncio.wait_for(waiting, 15)
        raise AssertionError("the update of a failed task was answered")
    except RPCError as error:
        assert error.status == RPCStatusCode.FAILED_PRECONDITION
        assert error.message == "Unable to perform workflow execution update due to unexpected workflow task failure."
    # The task that carried it failed, in history. (The reference also writes the next attempt's
    # WorkflowTaskScheduled at once when the failed task was speculative; Gnomon keeps every retry
    # attempt transient, and the worker's view of the history is the same.)
    assert E.EVENT_TYPE_WORKFLOW_TASK_FAILED in event_types(await history_events(client, workflow_id))


async def test_heartbeat_does_not_send_an_update_again(client: Client, task_queue: str) -> None:
    workflow_id = await _start(client, task_queue)
    first = await _poll(client, task_queue)
    waiting = _send_update(client, workflow_id, "once")
    await wait_until_admitted(client, workflow_id, "once")
    # Admitted while the first task runs: the task handed back on completion carries it.
    second = (await _complete(client, first.task_token, heartbeat=True)).workflow_task
    assert [m.protocol_instance_id for m in second.messages] == ["once"]
    # A heartbeat neither rejects the update (the worker may still be working on it) nor sends it again.
    third = (await _complete(client, second.task_token, heartbeat=True)).workflow_task
    assert third.task_token and list(third.messages) == []
    assert not waiting.done()
    result = client.data_converter.payload_converter.to_payloads(["answered"])[0]
    await _complete(client, third.task_token, messages=_answer(second.messages[0], result))
    outcome = (await asyncio.wait_for(waiting, 15)).outcome
    assert client.data_converter.payload_converter.from_payloads(outcome.success.payloads) == ["answered"]
