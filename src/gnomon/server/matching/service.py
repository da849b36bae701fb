"""The matching service: routes task references to task queues and pollers to tasks."""

from __future__ import annotations

import enum
import time
from typing import NamedTuple

from gnomon.server.matching.task_queue import PollerInfo, TaskQueue

# A sticky queue whose worker has not polled for this long is considered gone, so a
# workflow task is sent to the normal queue instead (Temporal's "sticky worker unavailable").
STICKY_POLLER_LIVENESS_SECONDS = 10.0


class TaskType(enum.IntEnum):
    """Matches temporalio.api.enums.v1.TaskQueueType values."""

    WORKFLOW = 1
    ACTIVITY = 2


class TaskRef(NamedTuple):
    """A pointer to a pending task in a run's mutable state; checked when a poller takes it.

    A named tuple: a reconcile makes one for every pending task, and a frozen dataclass
    sets each field through ``object.__setattr__``.
    """

    namespace_id: str
    workflow_id: str
    run_id: str
    scheduled_event_id: int
    attempt: int
    query_id: str = ""  # set for a query task

    @property
    def is_query(self) -> bool:
        return bool(self.query_id)


QueueKey = tuple[str, str, TaskType]


class MatchingService:
    """All task queues of the server, created on first use."""

    def __init__(self) -> None:
        self._queues: dict[QueueKey, TaskQueue[TaskRef]] = {}

    def queue(self, namespace_id: str, name: str, task_type: TaskType) -> TaskQueue[TaskRef]:
        key = (namespace_id, name, task_type)
        found = self._queues.get(key)
        if found is None:
            found = self._queues[key] = TaskQueue(name)
        return found

    def add(self, namespace_id: str, name: str, task_type: TaskType, task: TaskRef) -> None:
        self.queue(namespace_id, name, task_type).add(task)

    async def poll(
        self, namespace_id: str, name: str, task_type: TaskType, identity: str, timeout: float
    ) -> TaskRef | None:
        return await self.queue(namespace_id, name, task_type).poll(identity, timeout)

    def push_front(self, namespace_id: str, name: str, task_type: TaskType, task: TaskRef) -> None:
        self.queue(namespace_id, name, task_type).push_front(task)

    def sticky_worker_alive(self, namespace_id: str, name: str, *, seen_only: bool = False) -> bool:
        """Whether a workflow task sent to this sticky queue may find its worker.

        A queue that has pollers, or had one recently, is alive; one whose worker stopped
        polling a while ago is not. A queue this server does not know (never seen since the
        start, or unloaded by ShutdownWorker) gets the benefit of the doubt, as on the
        reference: the task waits there until the sticky schedule-to-start timeout moves it
        to the normal queue. ``seen_only`` refuses that doubt (a query has no timeout to fall
        back on).
        """
        found = self._queues.get((namespace_id, name, TaskType.WORKFLOW))
        if found is None or not found.last_poll_time:
            return not seen_only and found is None
        return found.has_waiting_pollers or time.time() - found.last_poll_time < STICKY_POLLER_LIVENESS_SECONDS

    def unload_sticky(self, namespace_id: str, name: str) -> list[TaskRef]:
        """Forget a sticky queue whose worker shut down; return the tasks it held."""
        found = self._queues.pop((namespace_id, name, TaskType.WORKFLOW), None)
        return found.drain() if found is not None else []

    def pollers(self, namespace_id: str, name: str, task_type: TaskType) -> list[PollerInfo]:
        found = self._queues.get((namespace_id, name, task_type))
        return found.recent_pollers() if found is not None else []

    def backlog_size(self, namespace_id: str, name: str, task_type: TaskType) -> int:
        found = self._queues.get((namespace_id, name, task_type))
        return len(found) if found is not None else 0
