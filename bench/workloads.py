"""The benchmark's workloads, shared by both drivers.

A workload is a workflow type plus the sequence of steps its workflow takes before it
completes: run an activity, sleep on a timer, wait for a signal, run a child workflow.
The ``sdk`` driver implements each as an ordinary SDK workflow class
(:mod:`bench.drivers.sdk_workflows`); the ``raw`` driver reads the step list and its
task's history to decide the next command (:mod:`bench.drivers.decide`). Both must leave
the same history shape, which :func:`expected_event_types` spells out where it does not
depend on timing.

This module is imported inside the SDK's workflow sandbox, so it uses the standard
library only.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

NAMESPACE = "default"
ACTIVITY_TYPE = "bench_activity"
ACTIVITY_RESULT = "done"
CHILD_WORKFLOW_TYPE = "BenchChild"
SIGNAL_NAME = "go"
TIMER_SECONDS = 1
ACTIVITY_START_TO_CLOSE_SECONDS = 30


class Step(enum.Enum):
    """One thing a benchmark workflow waits for, in order."""

    ACTIVITY = "activity"
    TIMER = "timer"
    SIGNAL = "signal"  # sent by the starter right after it starts the workflow
    CHILD = "child"  # a child workflow that completes in its first workflow task


@dataclass(frozen=True)
class Workload:
    """A benchmark workflow: its type name and its steps."""

    name: str
    workflow_type: str
    steps: tuple[Step, ...]

    @property
    def needs_signal(self) -> bool:
        """Whether the starter must signal the workflow after starting it."""
        return Step.SIGNAL in self.steps


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload("one_activity", "BenchOneActivity", (Step.ACTIVITY,)),
        Workload("ten_activities", "BenchTenActivities", (Step.ACTIVITY,) * 10),
        Workload("timer", "BenchTimer", (Step.TIMER,)),
        Workload("signal", "BenchSignal", (Step.SIGNAL,)),
        Workload("child", "BenchParent", (Step.CHILD,)),
    )
}

# The child of the ``child`` workload: no steps, it completes at once.
CHILD = Workload("child_of_child", CHILD_WORKFLOW_TYPE, ())

#: Every workflow type a driver's worker must handle, by type name.
WORKFLOW_TYPES: dict[str, Workload] = {w.workflow_type: w for w in (*WORKLOADS.values(), CHILD)}

_WORKFLOW_TASK = ["WORKFLOW_TASK_SCHEDULED", "WORKFLOW_TASK_STARTED", "WORKFLOW_TASK_COMPLETED"]
# What a step adds to history between two workflow tasks, where that does not depend on
# timing. A signal or a child's events may land before or after the next task starts.
_STEP_EVENTS: dict[Step, list[str]] = {
    Step.ACTIVITY: ["ACTIVITY_TASK_SCHEDULED", "ACTIVITY_TASK_STARTED", "ACTIVITY_TASK_COMPLETED"],
    Step.TIMER: ["TIMER_STARTED", "TIMER_FIRED"],
}


def expected_event_types(workload: Workload) -> list[str] | None:
    """The event type names (``EventType`` without its ``EVENT_TYPE_`` prefix) of a completed
    run, in order; None when the interleaving depends on timing (signal and child workloads)."""
    events = ["WORKFLOW_EXECUTION_STARTED", *_WORKFLOW_TASK]
    for step in workload.steps:
        if step not in _STEP_EVENTS:
            return None
        events += _STEP_EVENTS[step] + _WORKFLOW_TASK
    return [*events, "WORKFLOW_EXECUTION_COMPLETED"]
