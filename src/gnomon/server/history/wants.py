"""What a run needs from the world, derived from its state alone.

Each entity's module (workflow tasks, activities, timers, cross-run work) says, for a
state, which tasks should wait in a task queue, which deadlines should be armed, and which
work on other runs should be under way. The engine derives this before every commit (two
columns of it are stored beside the state: see ``persistence.DerivedColumns``) and applies
it after: it hands new tasks to matching, arms new deadlines and cancels stale ones, starts
missing cross-run work. Loading a run into memory derives and applies the same way, which
is how a run is picked up again after a restart, or after it left the cache.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gnomon.server.matching import TaskRef, TaskType
from gnomon.server.persistence import DerivedColumns
from gnomon.server.timers import Deadline

if TYPE_CHECKING:
    from gnomon.server.history.engine import HistoryEngine, RunContext

CrossRunWork = Callable[["HistoryEngine", "RunContext"], Awaitable[None]]


@dataclass
class Wants:
    """The tasks, deadlines and cross-run work one state of a run calls for."""

    tasks: list[tuple[str, TaskType, TaskRef]] = field(default_factory=list)
    deadlines: list[Deadline] = field(default_factory=list)
    work: list[tuple[str, CrossRunWork]] = field(default_factory=list)

    def task(self, queue: str, task_type: TaskType, task: TaskRef) -> None:
        """A task that should wait in ``queue`` for a worker."""
        self.tasks.append((queue, task_type, task))

    def deadline(self, deadline: Deadline) -> None:
        """A deadline that should be armed."""
        self.deadlines.append(deadline)

    def cross_run(self, tag: str, work: CrossRunWork) -> None:
        """Work on another run that should be under way (one at a time per ``tag``)."""
        self.work.append((tag, work))

    @property
    def columns(self) -> DerivedColumns:
        """What is stored (and indexed) beside the state."""
        next_deadline = min((d.when for d in self.deadlines), default=None)
        return DerivedColumns(next_deadline, bool(self.tasks or self.work))
