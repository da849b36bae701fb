"""One workflow run: summary, history, timeline, pending work, call stack, queries, actions.

URLs follow the reference UI: ``/namespaces/<ns>/workflows/<workflow id>/<run id>/<tab>``.
A workflow id may contain slashes, so the path is read from the right: the run id is the
segment that looks like a UUID.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from temporalio.api.history.v1 import History

from gnomon.server.errors import NotFoundError, ServiceError
from gnomon.ui import detail as details
from gnomon.ui.events import KINDS
from gnomon.ui.history_json import history_json_text
from gnomon.ui.payloads import decode_all, parse_args, to_json_text
from gnomon.ui.routes.common import backend, field, form, namespace_of, redirect, render
from gnomon.ui.templating import workflow_url

TABS = ("history", "pending", "stack", "query")
GET_ACTIONS = (*TABS, "download")
POST_ACTIONS = ("signal", "cancel", "terminate", "query")
RUN_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
STACK_TRACE_QUERY = "__stack_trace"
METADATA_QUERY = "__temporal_workflow_metadata"  # the SDKs describe a workflow's queries, signals, updates
STACK_TIMEOUT = 5.0
QUERY_TIMEOUT = 10.0
METADATA_TIMEOUT = 2.0
EVENTS_SHOWN = 1000  # rows rendered before "show all" (the JSON download always has everything)


@dataclass
class Target:
    """What a detail URL points at."""

    workflow_id: str
    run_id: str = ""
    action: str = "history"


def parse_target(rest: str, actions: tuple[str, ...]) -> Target:
    parts = rest.split("/")
    if len(parts) >= 3 and parts[-1] in actions and RUN_ID.match(parts[-2]):
        return Target("/".join(parts[:-2]), parts[-2], parts[-1])
    if len(parts) >= 2 and RUN_ID.match(parts[-1]):
        return Target("/".join(parts[:-1]), parts[-1])
    return Target(rest)


async def show(request: Request) -> Response:
    namespace = namespace_of(request)
    target = parse_target(request.path_params["rest"], GET_ACTIONS)
    if not target.run_id:  # the latest run of the workflow id
        described = await backend(request).describe_workflow(namespace, target.workflow_id)
        run_id = described.workflow_execution_info.execution.run_id
        return redirect(workflow_url(namespace, target.workflow_id, run_id, "history"))
    if target.action == "download":
        return await download(request, namespace, target)
    return await _page(request, namespace, target)


async def _page(request: Request, namespace: str, target: Target, **extra: Any) -> Response:
    loaded = await details.load(backend(request), namespace, target.workflow_id, target.run_id)
    context: dict[str, Any] = {"wf": loaded, "tab": target.action, "kinds_all": KINDS, **extra}
    if target.action == "history":
        context.update(_history_options(request, loaded))
    elif target.action == "stack" and loaded.running:
        context["stack"] = await _query(request, namespace, target, STACK_TRACE_QUERY, "", STACK_TIMEOUT)
    elif target.action == "query" and loaded.running:
        context["known_queries"] = await _known_queries(request, namespace, target)
    return await render(request, "workflow.html", **context)


async def _known_queries(request: Request, namespace: str, target: Target) -> list[str]:
    """The queries the workflow's definition declares, if its SDK answers the metadata query."""
    try:
        response = await backend(request).query(
            namespace, target.workflow_id, target.run_id, METADATA_QUERY, None, timeout=METADATA_TIMEOUT
        )
    except ServiceError:
        return []
    values = decode_all(response.query_result)
    definition = values[0].get("definition", {}) if values and isinstance(values[0], dict) else {}
    return [q["name"] for q in definition.get("queryDefinitions", []) if isinstance(q, dict) and q.get("name")]


def _history_options(request: Request, loaded: details.WorkflowDetail) -> dict[str, Any]:
    """The history tab's view (feed, compact, json), kind filter and order, from the URL."""
    view = request.query_params.get("view", "feed")
    chosen = [k for k in request.query_params.get("kinds", "").split(",") if k in KINDS]
    present = {e.kind for e in loaded.events}
    events = [e for e in loaded.events if not chosen or e.kind in chosen]
    groups = [g for g in loaded.groups if g.kind != "workflow-task" and (not chosen or g.kind in chosen)]
    descending = request.query_params.get("order") == "desc"
    if descending:
        events, groups = events[::-1], groups[::-1]
    show_all = request.query_params.get("all") == "1"
    limit = len(events) if show_all else EVENTS_SHOWN
    return {
        "view": view if view in ("feed", "compact", "json") else "feed",
        "kinds": chosen,
        "kinds_present": [k for k in KINDS if k in present],
        "shown_events": events[:limit],
        "shown_groups": groups[:limit],
        "hidden_count": max(len(events if view != "compact" else groups) - limit, 0),
        "descending": descending,
        "history_json": history_json_text(History(events=loaded.raw_events)) if view == "json" else "",
    }


async def download(request: Request, namespace: str, target: Target) -> Response:
    events = await backend(request).history(namespace, target.workflow_id, target.run_id)
    body = history_json_text(History(events=events))
    filename = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{target.workflow_id}_{target.run_id}_events.json")
    return Response(
        body,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def _query(
    request: Request, namespace: str, target: Target, name: str, args: str, timeout: float
) -> dict[str, Any]:
    """Run a query; the answer, or the error, ready to show."""
    try:
        response = await backend(request).query(
            namespace, target.workflow_id, target.run_id, name, parse_args(args), timeout=timeout
        )
    except (ServiceError, ValueError) as error:
        return {"name": name, "args": args, "error": getattr(error, "message", str(error))}
    if response.HasField("query_rejected"):
        return {"name": name, "args": args, "error": "The query was rejected: the workflow is closed."}
    values = decode_all(response.query_result)
    value = values[0] if len(values) == 1 else values
    text = value if isinstance(value, str) else to_json_text(value)
    return {"name": name, "args": args, "result": text}


async def act(request: Request) -> Response:
    """The POST actions: signal, cancel, terminate (redirect back) and query (render the answer)."""
    namespace = namespace_of(request)
    target = parse_target(request.path_params["rest"], POST_ACTIONS)
    if not target.run_id or target.action not in POST_ACTIONS:
        raise NotFoundError("There is no such action.")
    values = await form(request)
    if target.action == "query":
        answer = await _query(request, namespace, target, field(values, "name"), field(values, "args"), QUERY_TIMEOUT)
        return await _page(request, namespace, Target(target.workflow_id, target.run_id, "query"), answer=answer)
    here = workflow_url(namespace, target.workflow_id, target.run_id, field(values, "tab") or "history")
    client = backend(request)
    try:
        if target.action == "signal":
            name = field(values, "name")
            if not name:
                return redirect(here, "A signal needs a name.", "bad")
            await client.signal(namespace, target.workflow_id, target.run_id, name, parse_args(field(values, "args")))
            message = f"Sent signal {name}."
        elif target.action == "cancel":
            await client.cancel(namespace, target.workflow_id, target.run_id, field(values, "reason"))
            message = "Requested cancellation."
        else:
            reason = field(values, "reason") or "Terminated from the Gnomon UI"
            await client.terminate(namespace, target.workflow_id, target.run_id, reason)
            message = "Terminated the workflow."
    except (ServiceError, ValueError) as error:
        return redirect(here, getattr(error, "message", str(error)), "bad")
    return redirect(here, message)
