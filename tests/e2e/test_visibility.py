"""Visibility through the SDK: ListWorkflowExecutions and CountWorkflowExecutions with simple queries.

Visibility is eventually consistent on the reference, so every check polls with a bounded deadline.
"""

from __future__ import annotations

from collections.abc import Mapping

from temporalio.api.workflowservice.v1 import ListWorkflowExecutionsRequest
from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from tests.e2e.helpers import NAMESPACE, running_worker, unique_id, wait_for
from tests.e2e.workflows import KEYWORD_SA, EchoWorkflow, SignalWorkflow


async def _list(client: Client, query: str, expected: int) -> list[WorkflowExecution]:
    """Poll ListWorkflowExecutions until ``query`` matches exactly ``expected`` executions."""

    async def probe() -> tuple[list[WorkflowExecution]] | None:
        found = [wf async for wf in client.list_workflows(query)]
        return (found,) if len(found) == expected else None  # a tuple: truthy even when nothing matches

    (found,) = await wait_for(probe, what=f"{expected} executions for {query!r}")
    return found


async def test_list_by_workflow_id(client: Client, task_queue: str) -> None:
    wid = unique_id("vis-id")
    handle = await client.start_workflow(SignalWorkflow.run, id=wid, task_queue=task_queue, memo={"m": "v"})
    [found] = await _list(client, f"WorkflowId = '{wid}'", 1)
    assert found.id == wid
    assert found.run_id == handle.first_execution_run_id
    assert found.workflow_type == "SignalWorkflow"
    assert found.task_queue == task_queue
    assert found.status == WorkflowExecutionStatus.RUNNING
    assert found.close_time is None
    assert await found.memo() == {"m": "v"}


async def test_list_by_status_after_close(client: Client, task_queue: str) -> None:
    wid = unique_id("vis-closed")
    async with running_worker(client, task_queue):
        await client.execute_workflow(EchoWorkflow.run, "x", id=wid, task_queue=task_queue)
    [found] = await _list(client, f"WorkflowId = '{wid}' AND ExecutionStatus = 'Completed'", 1)
    assert found.status == WorkflowExecutionStatus.COMPLETED
    assert found.close_time is not None
    await _list(client, f"WorkflowId = '{wid}' AND ExecutionStatus = 'Running'", 0)


async def test_list_by_task_queue_and_type(client: Client, task_queue: str) -> None:
    ids = {unique_id("vis-tq") for _ in range(3)}
    for wid in ids:
        await client.start_workflow(SignalWorkflow.run, id=wid, task_queue=task_queue)
    found = await _list(client, f"TaskQueue = '{task_queue}'", 3)
    assert {wf.id for wf in found} == ids
    found = await _list(client, f"TaskQueue = '{task_queue}' AND WorkflowType = 'SignalWorkflow'", 3)
    assert {wf.id for wf in found} == ids
    await _list(client, f"TaskQueue = '{task_queue}' AND WorkflowType = 'EchoWorkflow'", 0)


async def test_list_by_custom_search_attribute(
    client: Client, task_queue: str, search_attributes: Mapping[str, object]
) -> None:
    wid, value = unique_id("vis-sa"), unique_id("kw")
    await client.start_workflow(
        SignalWorkflow.run,
        id=wid,
        task_queue=task_queue,
        search_attributes=TypedSearchAttributes([SearchAttributePair(KEYWORD_SA, value)]),
    )
    [found] = await _list(client, f"{KEYWORD_SA.name} = '{value}'", 1)
    assert found.id == wid
    assert found.typed_search_attributes.get(KEYWORD_SA) == value


async def test_list_pages(client: Client, task_queue: str) -> None:
    ids = {unique_id("vis-page") for _ in range(5)}
    for wid in ids:
        await client.start_workflow(SignalWorkflow.run, id=wid, task_queue=task_queue)
    await _list(client, f"TaskQueue = '{task_queue}'", 5)

    seen: list[str] = []
    token = b""
    pages = 0
    while True:
        resp = await client.workflow_service.list_workflow_executions(
            ListWorkflowExecutionsRequest(
                namespace=NAMESPACE, query=f"TaskQueue = '{task_queue}'", page_size=2, next_page_token=token
            )
        )
        pages += 1
        assert len(resp.executions) <= 2
        seen += [e.execution.workflow_id for e in resp.executions]
        token = resp.next_page_token
        if not token:
            break
        assert pages < 50
    assert pages >= 3
    assert sorted(seen) == sorted(ids)


async def test_count_and_group_by_status(client: Client, task_queue: str) -> None:
    handles = [
        await client.start_workflow(SignalWorkflow.run, id=unique_id("vis-count"), task_queue=task_queue)
        for _ in range(3)
    ]
    await handles[0].terminate(reason="counted")
    query = f"TaskQueue = '{task_queue}'"

    async def counted() -> bool:
        return (await client.count_workflows(query)).count == 3

    await wait_for(counted, what=f"count of {query!r} to reach 3")

    async def grouped() -> dict[str, int] | None:
        result = await client.count_workflows(f"{query} GROUP BY ExecutionStatus")
        groups = {str(g.group_values[0]): g.count for g in result.groups}
        return groups if groups == {"Running": 2, "Terminated": 1} else None

    await wait_for(grouped, what="counts grouped by ExecutionStatus")
