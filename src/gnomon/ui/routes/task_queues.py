"""Task queues: the ones a namespace's recent workflows use, and who polls each."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from temporalio.api.enums.v1 import TaskQueueType

from gnomon.server.errors import ServiceError
from gnomon.ui.routes.common import backend, namespace_of, redirect, render
from gnomon.ui.templating import namespace_url
from gnomon.ui.values import to_datetime

RECENT_WORKFLOWS = 500  # how many recent runs to look at for task queue names
QUEUE_TYPES = {"Workflow": TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, "Activity": TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY}


@dataclass
class Poller:
    identity: str
    kind: str
    last_access: datetime | None
    rate_per_second: float


@dataclass
class QueueView:
    name: str
    pollers: list[Poller] = field(default_factory=list)
    error: str = ""

    def count(self, kind: str) -> int:
        return sum(1 for p in self.pollers if p.kind == kind)


async def _describe(request: Request, namespace: str, name: str) -> QueueView:
    queue = QueueView(name)
    for kind, queue_type in QUEUE_TYPES.items():
        try:
            response = await backend(request).describe_task_queue(namespace, name, queue_type)
        except ServiceError as error:
            queue.error = error.message
            continue
        queue.pollers += [
            Poller(
                identity=p.identity,
                kind=kind,
                last_access=to_datetime(p.last_access_time) if p.HasField("last_access_time") else None,
                rate_per_second=p.rate_per_second,
            )
            for p in response.pollers
        ]
    return queue


async def list_page(request: Request) -> Response:
    """Queues named by the namespace's most recent runs, with their poller counts."""
    namespace = namespace_of(request)
    if request.query_params.get("name"):
        name = quote(request.query_params["name"].strip(), safe="")
        return redirect(namespace_url(namespace, f"task-queues/{name}"))
    names: list[str] = []
    error = ""
    try:
        page = await backend(request).list_workflows(namespace, "", RECENT_WORKFLOWS)
        names = sorted({e.task_queue for e in page.executions if e.task_queue})
    except ServiceError as failure:
        error = failure.message
    queues = [await _describe(request, namespace, name) for name in names]
    return await render(request, "task_queues.html", queues=queues, error=error)


async def detail_page(request: Request) -> Response:
    namespace = namespace_of(request)
    queue = await _describe(request, namespace, request.path_params["name"])
    return await render(request, "task_queue.html", queue=queue)
