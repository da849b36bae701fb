"""Workflow updates: results, validator rejections, handler failures, staged waits and update-with-start."""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
    WorkflowUpdateStage,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from tests.e2e.helpers import decode_all, events_of, history_events, one_event, running_worker, unique_id
from tests.e2e.workflows import UpdateWorkflow

E = EventType


async def test_update_returns_result_and_is_recorded(client: Client, task_queue: str) -> None:
    wid = unique_id("upd")
    async with running_worker(client, task_queue):
        handle = await client.start_workflow(UpdateWorkflow.run, id=wid, task_queue=task_queue)
        assert await handle.execute_update(UpdateWorkflow.append, "a", id="update-1") == ["a"]
        assert await handle.execute_update(UpdateWorkflow.append, "b") == ["a", "b"]
        await handle.signal(UpdateWorkflow.finish)
        assert await handle.result() == ["a", "b"]
    events = await history_events(client, wid)
    accepted = events_of(events, E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)
    completed = events_of(events, E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)
    assert len(accepted) == len(completed) == 2
    first = accepted[0].workflow_execution_update_accepted_event_attributes
    assert first.protocol_instance_id == "update-1"
    assert first.accepted_request.meta.update_id == "update-1"
    assert first.accepted_request.input.name == "append"
    assert decode_all(client, first.accepted_request.input.args) == ["a"]
    done = completed[0].workflow_execution_update_completed_event_attributes
    assert done.meta.update_id == "update-1"
    assert decode_all(client, done.outcome.success) == [["a"]]


async def test_update_rejected_by_validator_leaves_no_trace(client: Client, task_queue: str) -> None:
    wid = unique_id("upd-reject")
    async with running_worker(client, task_queue):
        handle = await client.start_workflow(UpdateWorkflow.run, id=wid, task_queue=task_queue)
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await handle.execute_update(UpdateWorkflow.append, "")
        assert isinstance(info.value.cause, ApplicationError)
        assert "empty values are rejected" in info.value.cause.message
        # The workflow still takes valid updates.
        assert await handle.execute_update(UpdateWorkflow.append, "ok") == ["ok"]
    events = await history_events(client, wid)
    assert len(events_of(events, E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)) == 1


async def test_update_handler_failure(client: Client, task_queue: str) -> None:
    wid = unique_id("upd-fail")
    async with running_worker(client, task_queue):
        handle = await client.start_workflow(UpdateWorkflow.run, id=wid, task_queue=task_queue)
        with pytest.raises(WorkflowUpdateFailedError) as info:
            await handle.execute_update(UpdateWorkflow.failing_update, "no good")
    cause = info.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.message == "no good"
    assert cause.type == "UpdateFailure"
    events = await history_events(client, wid)
    one_event(events, E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)
    completed = one_event(events, E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)
    assert completed.workflow_execution_update_completed_event_attributes.outcome.failure.message == "no good"


async def test_start_update_waits_for_accepted_stage(client: Client, task_queue: str) -> None:
    async with running_worker(client, task_queue):
        handle = await client.start_workflow(UpdateWorkflow.run, id=unique_id("upd-stage"), task_queue=task_queue)
        update = await handle.start_update(
            UpdateWorkflow.append, "staged", id="staged-update", wait_for_stage=WorkflowUpdateStage.ACCEPTED
        )
        assert update.id == "staged-update"
        assert await update.result() == ["staged"]
        # A handle fetched by id reaches the same outcome.
        assert await handle.get_update_handle("staged-update").result() == ["staged"]


async def test_update_with_start(client: Client, task_queue: str) -> None:
    wid = unique_id("upd-with-start")

    def operation() -> WithStartWorkflowOperation:
        return WithStartWorkflowOperation(
            UpdateWorkflow.run, id=wid, task_queue=task_queue, id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING
        )

    async with running_worker(client, task_queue):
        first_op = operation()
        result = await client.execute_update_with_start_workflow(
            UpdateWorkflow.append, "first", start_workflow_operation=first_op
        )
        assert result == ["first"]
        first_handle = await first_op.workflow_handle()

        second_op = operation()
        result = await client.execute_update_with_start_workflow(
            UpdateWorkflow.append, "second", start_workflow_operation=second_op
        )
        assert result == ["first", "second"]
        second_handle = await second_op.workflow_handle()
        assert second_handle.first_execution_run_id == first_handle.first_execution_run_id
    events = await history_events(client, wid)
    assert len(events_of(events, E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)) == 1
    assert len(events_of(events, E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)) == 2


async def test_update_unknown_workflow_is_not_found(client: Client) -> None:
    handle = client.get_workflow_handle(unique_id("no-such-wf"))
    with pytest.raises(RPCError) as info:
        await handle.execute_update(UpdateWorkflow.append, "x")
    assert info.value.status == RPCStatusCode.NOT_FOUND
