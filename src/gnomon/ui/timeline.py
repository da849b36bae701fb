"""The timeline: activities, timers and children as bars over the run's lifetime.

Positions are percentages of the axis, so the template draws bars with plain CSS.
Pending work runs to "now" (a timer to when it is due) and is drawn striped; an activity
that was retried says which attempt it is on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from gnomon.ui.events import EventGroup
from gnomon.ui.values import FailureView, Span, human_duration

#: Group kinds the timeline draws; bars for durable ones, dots for the rest.
DRAWN_KINDS = ("activity", "timer", "child", "signal", "update", "nexus")
MAX_BARS = 300  # beyond this the timeline shows the most recent work only


@dataclass
class Bar:
    """One row of the timeline."""

    title: str
    kind: str
    tone: str
    left: float
    width: float
    pending: bool = False
    instant: bool = False
    waiting: float = 0.0  # the part of the bar spent scheduled but not started, in % of the axis
    note: str = ""
    tooltip: str = ""
    first_event: int = 0


@dataclass
class Timeline:
    """Bars on a shared axis from the run's start to its close (or now)."""

    start: datetime
    end: datetime
    bars: list[Bar] = field(default_factory=list)
    ticks: list[tuple[float, str]] = field(default_factory=list)
    omitted: int = 0  # earlier work left out to keep the drawing readable

    @property
    def empty(self) -> bool:
        return len(self.bars) <= 1


def _percent(moment: datetime, start: datetime, span: float) -> float:
    return max(0.0, min(100.0, (moment - start).total_seconds() / span * 100))


def _retry_note(group: EventGroup, pending: dict[str, Any] | None) -> str:
    attempt = (pending or {}).get("attempt") or group.attempt
    if attempt <= 1:
        return ""
    maximum = (pending or {}).get("maximumAttempts")
    note = f"attempt {attempt}" + (f" of {maximum}" if maximum else "")
    failure = (pending or {}).get("lastFailure")
    if isinstance(failure, FailureView):
        note += f" · last failure: {failure.message}"
    return note


def _due(group: EventGroup) -> datetime | None:
    """When a pending timer fires."""
    timeout = group.first.attributes.get("startToFireTimeout")
    return group.start + timedelta(seconds=timeout.seconds) if isinstance(timeout, Span) else None


def build(
    groups: list[EventGroup],
    run_start: datetime,
    run_end: datetime | None,
    now: datetime,
    pending_activities: dict[str, dict[str, Any]] | None = None,
) -> Timeline:
    """The timeline of a run from its event groups (and, for retries, its pending activities)."""
    drawn = [g for g in groups if g.kind in DRAWN_KINDS]
    axis_end = run_end or now
    for group in drawn:
        due = _due(group) if group.kind == "timer" and group.pending else None
        if due and due > axis_end:
            axis_end = due
    span = max((axis_end - run_start).total_seconds(), 0.001)
    timeline = Timeline(start=run_start, end=axis_end, omitted=max(len(drawn) - MAX_BARS, 0))
    drawn = drawn[-MAX_BARS:]
    timeline.bars.append(
        Bar(
            title="Workflow",
            kind="workflow",
            tone="running" if run_end is None else "ok",
            left=0.0,
            width=_percent(run_end or now, run_start, span),
            pending=run_end is None,
            tooltip=f"Workflow run · {human_duration(((run_end or now) - run_start).total_seconds())}",
        )
    )
    for group in drawn:
        timeline.bars.append(_bar(group, run_start, span, now, (pending_activities or {})))
    timeline.ticks = [(i * 20.0, "+" + human_duration(span * i / 5)) for i in range(6)]
    timeline.ticks[0] = (0.0, "0s")
    return timeline


def _bar(group: EventGroup, start: datetime, span: float, now: datetime, pending: dict[str, dict[str, Any]]) -> Bar:
    left = _percent(group.start, start, span)
    instant = group.kind not in ("activity", "timer", "child", "update", "nexus")
    if instant:
        return Bar(group.title, group.kind, group.tone, left, 0.0, instant=True, first_event=group.id,
                   tooltip=f"{group.title} at +{human_duration((group.start - start).total_seconds())}")  # fmt: skip
    end = group.end or (_due(group) if group.kind == "timer" else None) or now
    width = max(_percent(end, start, span) - left, 0.4)
    started = next((e.time for e in group.events if e.type.endswith("Started")), None)
    waiting = _percent(started, start, span) - left if started and group.kind == "activity" else 0.0
    info = pending.get(group.first.attributes.get("activityId", "")) if group.kind == "activity" else None
    note = _retry_note(group, info) if group.kind == "activity" else ""
    length = human_duration((end - group.start).total_seconds())
    state = "pending" if group.pending else group.state.lower()
    return Bar(
        title=group.title,
        kind=group.kind,
        tone=group.tone,
        left=left,
        width=width,
        pending=group.pending,
        waiting=min(waiting, width),
        note=note,
        tooltip=f"{group.title} · {state} · {length}" + (f" · {note}" if note else ""),
        first_event=group.id,
    )
