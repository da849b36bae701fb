"""The workflows list of a namespace, and bulk actions on what it shows."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response

from gnomon.server.errors import ServiceError
from gnomon.ui import bulk, listing
from gnomon.ui.payloads import parse_args
from gnomon.ui.routes.common import backend, field, form, namespace_of, redirect, render
from gnomon.ui.templating import namespace_url, with_params

VERBS = {"cancel": "Requested cancellation of", "terminate": "Terminated", "signal": "Signalled"}


async def list_page(request: Request) -> Response:
    namespace = namespace_of(request)
    await backend(request).describe_namespace(namespace)  # 404 for a namespace that does not exist
    params = listing.ListParams.from_query_params(request.query_params)
    result = await listing.load(backend(request), namespace, params, datetime.now(UTC))
    attributes = await _attribute_names(request, namespace)
    return await render(
        request,
        "workflows.html",
        params=params,
        result=result,
        statuses=listing.STATUSES,
        page_sizes=listing.PAGE_SIZES,
        attribute_names=attributes,
        running=result.counts.get("Running", 0),
        bulk_count=result.counts.get("Running", 0) if params.status in ("", "Running") else 0,
        list_path=namespace_url(namespace),
    )


async def _attribute_names(request: Request, namespace: str) -> list[str]:
    """Search attributes a user can add as columns: custom ones first, then the system ones."""
    try:
        response = await backend(request).search_attributes(namespace)
    except ServiceError:
        return []
    return sorted(response.custom_attributes) + sorted(response.system_attributes)


async def bulk_action(request: Request) -> Response:
    """Cancel, terminate or signal the selected runs, or every running run a query matches."""
    namespace = namespace_of(request)
    values = await form(request)
    action = field(values, "action")
    back = with_params(namespace_url(namespace), **_list_state(values))
    if action not in bulk.ACTIONS:
        return redirect(back, "Choose an action.", "bad")
    try:
        signal_input = parse_args(field(values, "signal_input")) if action == "signal" else None
    except ValueError as error:
        return redirect(back, str(error), "bad")
    if action == "signal" and not field(values, "signal_name"):
        return redirect(back, "A signal needs a name.", "bad")
    order = bulk.BulkRequest(
        action=action,
        reason=field(values, "reason") or "Bulk action from the Gnomon UI",
        signal_name=field(values, "signal_name"),
        signal_input=signal_input,
    )
    if field(values, "scope") == "query":
        runs = await bulk.matching_runs(backend(request), namespace, field(values, "query"))
    else:
        runs = _selected(values.get("run", []))
    if not runs:
        return redirect(back, "No running workflows were selected.", "warn")
    outcome = await bulk.apply(backend(request), namespace, runs, order)
    return redirect(back, outcome.describe(VERBS[action]), "bad" if outcome.failed else "ok")


def _selected(values: list[str]) -> list[tuple[str, str]]:
    """Checked rows; each checkbox's value is the JSON pair ``[workflow id, run id]``."""
    runs = []
    for value in values:
        try:
            workflow_id, run_id = json.loads(value)
        except (ValueError, TypeError):
            continue
        runs.append((str(workflow_id), str(run_id)))
    return runs


def _list_state(values: dict[str, list[str]]) -> dict[str, str]:
    """The list view the bulk form was sent from, to go back to it."""
    return {name: field(values, f"back_{name}") for name in ("query", "status", "cols", "size")}
