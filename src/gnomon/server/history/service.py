"""Assembles the history engine with what derives each run's wants, its deadline handlers and its recovery."""

from __future__ import annotations

from gnomon.server.dynamic_config import DynamicConfig
from gnomon.server.history import activity_task, crossrun, run_deadlines, updates, workflow_task
from gnomon.server.history.engine import DEFAULT_CACHE_BYTES, WAKE, HistoryEngine
from gnomon.server.history.query import QueryRegistry
from gnomon.server.history.recovery import Recovery, on_wake
from gnomon.server.matching import MatchingService
from gnomon.server.namespaces import NamespaceRegistry
from gnomon.server.persistence import Persistence


class HistoryService:
    """The history engine plus the in-memory registry of pending queries."""

    def __init__(
        self,
        persistence: Persistence,
        namespaces: NamespaceRegistry,
        matching: MatchingService,
        config: DynamicConfig | None = None,
        *,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> None:
        self.engine = HistoryEngine(persistence, namespaces, matching, config, cache_bytes=cache_bytes)
        self.queries = QueryRegistry()
        self.engine.derivers.extend([workflow_task.derive, activity_task.derive, run_deadlines.derive, crossrun.derive])
        self.engine.after_commit_hooks.append(updates.settle_on_close)
        self.engine.evict_hooks.append(updates.on_evict)
        self.recovery = Recovery(self.engine)
        self.engine.deadline_handlers.update(
            {
                "workflow_task_start_to_close": workflow_task.on_start_to_close_timeout,
                "workflow_task_schedule_to_start": workflow_task.on_schedule_to_start_timeout,
                "workflow_backoff": workflow_task.on_workflow_backoff,
                "timer": run_deadlines.on_timer,
                "workflow_timeout": run_deadlines.on_workflow_timeout,
                WAKE: on_wake,
                **activity_task.deadline_handlers(),
            }
        )

    async def start(self) -> None:
        await self.engine.start()
        self.recovery.start()

    async def stop(self) -> None:
        await self.engine.stop()
