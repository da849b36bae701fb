"""Everything the workflow detail page shows about one run, gathered through the service layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionResponse

from gnomon.server.errors import ServiceError
from gnomon.ui import timeline
from gnomon.ui.backend import Backend
from gnomon.ui.events import EventGroup, EventView, event_view, group_events
from gnomon.ui.values import FailureView, Span, enum_name, to_datetime, view

MAX_CHAIN = 10  # runs shown either side of this one in a continue-as-new / retry / cron chain


@dataclass
class RunLink:
    """A run of the same workflow id in the chain of runs."""

    run_id: str
    relation: str  # "earlier", "previous", "this", "next", "later"


@dataclass
class ChildLink:
    workflow_id: str
    run_id: str
    type: str
    state: str
    tone: str
    namespace: str


@dataclass
class WorkflowDetail:
    """One run: its summary, events, groups, timeline and pending work."""

    namespace: str
    workflow_id: str
    run_id: str
    status: str
    type: str
    task_queue: str
    start: datetime | None
    close: datetime | None
    execution_time: datetime | None
    duration: Span | None
    history_length: int
    memo: dict[str, Any]
    search_attributes: dict[str, Any]
    parent: dict[str, str] | None
    events: list[EventView]
    groups: list[EventGroup]
    input: list[Any]
    result: list[Any] | None = None
    failure: FailureView | None = None
    closing: EventView | None = None
    children: list[ChildLink] = field(default_factory=list)
    chain: list[RunLink] = field(default_factory=list)
    pending_activities: list[dict[str, Any]] = field(default_factory=list)
    pending_children: list[dict[str, Any]] = field(default_factory=list)
    pending_workflow_task: dict[str, Any] | None = None
    timeline: timeline.Timeline | None = None
    raw_events: list[HistoryEvent] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.status == "Running"

    @property
    def pending_count(self) -> int:
        return len(self.pending_activities) + len(self.pending_children)


async def load(backend: Backend, namespace: str, workflow_id: str, run_id: str) -> WorkflowDetail:
    """Describe the run, read its whole history, and derive the views."""
    described = await backend.describe_workflow(namespace, workflow_id, run_id)
    raw_events = await backend.history(namespace, workflow_id, run_id)
    events = [event_view(e) for e in raw_events]
    info = described.workflow_execution_info
    status = enum_name(WorkflowExecutionStatus.DESCRIPTOR, info.status)
    start = to_datetime(info.start_time) if info.HasField("start_time") else None
    close = to_datetime(info.close_time) if info.HasField("close_time") else None
    now = datetime.now(UTC)
    started = events[0].attributes if events else {}
    detail = WorkflowDetail(
        namespace=namespace,
        workflow_id=workflow_id,
        run_id=run_id,
        status=status,
        type=info.type.name,
        task_queue=info.task_queue,
        start=start,
        close=close,
        execution_time=to_datetime(info.execution_time) if info.HasField("execution_time") else None,
        duration=Span(((close or now) - start).total_seconds()) if start else None,
        history_length=info.history_length,
        memo=view(info.memo),
        search_attributes=view(info.search_attributes),
        parent=await _parent(backend, described, namespace),
        events=events,
        groups=group_events(events),
        input=started.get("input", []),
        raw_events=raw_events,
    )
    _read_outcome(detail)
    detail.children = _children(detail)
    detail.chain = await _chain(backend, namespace, workflow_id, run_id, started, detail.closing)
    detail.pending_activities = [view(a) for a in described.pending_activities]
    detail.pending_children = [view(c) for c in described.pending_children]
    if described.HasField("pending_workflow_task"):
        detail.pending_workflow_task = view(described.pending_workflow_task)
    if start is not None:
        by_id = {a.get("activityId", ""): a for a in detail.pending_activities}
        detail.timeline = timeline.build(detail.groups, start, close, now, by_id)
    return detail


async def _parent(
    backend: Backend, described: DescribeWorkflowExecutionResponse, namespace: str
) -> dict[str, str] | None:
    """The parent run, with the name of its namespace (describe gives the namespace's id)."""
    info = described.workflow_execution_info
    if not info.HasField("parent_execution"):
        return None
    if info.parent_namespace_id:
        found = await _safe(backend.describe_namespace_by_id(info.parent_namespace_id))
        namespace = found.namespace_info.name if found is not None else namespace
    return {
        "workflow_id": info.parent_execution.workflow_id,
        "run_id": info.parent_execution.run_id,
        "namespace": namespace,
    }


def _read_outcome(detail: WorkflowDetail) -> None:
    """Result, failure and closing event from the last event, if the run is closed."""
    if not detail.events or detail.running:
        return
    last = detail.events[-1]
    if last.kind != "workflow":
        return
    detail.closing = last
    if last.type == "WorkflowExecutionCompleted":
        detail.result = last.attributes.get("result", [])
    detail.failure = last.failure


def _children(detail: WorkflowDetail) -> list[ChildLink]:
    out = []
    for group in detail.groups:
        if group.kind != "child":
            continue
        opening = group.first.attributes
        run_id = ""
        for event in group.events:
            execution = event.attributes.get("workflowExecution")
            if isinstance(execution, dict) and execution.get("runId"):
                run_id = execution["runId"]
        out.append(
            ChildLink(
                workflow_id=opening.get("workflowId", ""),
                run_id=run_id,
                type=opening.get("workflowType", {}).get("name", ""),
                state="Pending" if group.pending else group.state,
                tone=group.tone,
                namespace=opening.get("namespace") or detail.namespace,
            )
        )
    return out


async def _chain(
    backend: Backend,
    namespace: str,
    workflow_id: str,
    run_id: str,
    started: dict[str, Any],
    closing: EventView | None,
) -> list[RunLink]:
    """The runs before and after this one (continue-as-new, retries, cron), nearest first."""
    before: list[str] = []
    previous = started.get("continuedExecutionRunId", "")
    while previous and len(before) < MAX_CHAIN:
        before.append(previous)
        first = await _safe(backend.history(namespace, workflow_id, previous, limit=1))
        previous = first[0].workflow_execution_started_event_attributes.continued_execution_run_id if first else ""
    after: list[str] = []
    following = closing.attributes.get("newExecutionRunId", "") if closing else ""
    while following and len(after) < MAX_CHAIN:
        after.append(following)
        last = await _safe(backend.last_event(namespace, workflow_id, following))
        which = last.WhichOneof("attributes") if last is not None else None
        attrs = getattr(last, which) if which else None
        following = getattr(attrs, "new_execution_run_id", "") if attrs is not None else ""
    if not before and not after:
        return []
    chain = [RunLink(r, "earlier") for r in reversed(before)]
    if len(chain) > 1 and not previous:  # the walk reached the chain's first run
        chain[0].relation = "first"
    if chain:
        chain[-1].relation = "previous"
    chain.append(RunLink(run_id, "this"))
    chain += [RunLink(r, "next" if i == 0 else "later") for i, r in enumerate(after)]
    return chain


async def _safe(call: Any) -> Any:
    """A chain link's lookup; a run that is gone (retention) just ends the chain."""
    try:
        return await call
    except ServiceError:
        return None
