"""The UI's URL map."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from gnomon.ui.routes import namespaces, search_attributes, task_queues, workflow, workflows


async def home(request: Request) -> Response:
    return RedirectResponse(f"/namespaces/{request.app.state.default_namespace}/workflows", status_code=302)


async def namespace_home(request: Request) -> Response:
    return RedirectResponse(f"/namespaces/{request.path_params['namespace']}/workflows", status_code=302)


def routes(static_dir: str) -> list[Route | Mount]:
    ns = "/namespaces/{namespace}"
    return [
        Route("/", home),
        Route("/namespaces", namespaces.list_page),
        Route("/namespaces", namespaces.create, methods=["POST"]),
        Route(ns, namespace_home),
        Route(f"{ns}/settings", namespaces.edit_page),
        Route(f"{ns}/settings", namespaces.update, methods=["POST"]),
        Route(f"{ns}/workflows", workflows.list_page),
        Route(f"{ns}/workflows/bulk", workflows.bulk_action, methods=["POST"]),
        Route(f"{ns}/workflows/{{rest:path}}", workflow.show),
        Route(f"{ns}/workflows/{{rest:path}}", workflow.act, methods=["POST"]),
        Route(f"{ns}/task-queues", task_queues.list_page),
        Route(f"{ns}/task-queues/{{name:path}}", task_queues.detail_page),
        Route(f"{ns}/search-attributes", search_attributes.list_page),
        Route(f"{ns}/search-attributes", search_attributes.add, methods=["POST"]),
        Mount("/static", StaticFiles(directory=static_dir), name="static"),
    ]
