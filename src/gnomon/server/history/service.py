"""Assembles the history engine with its reconcilers and deadline handlers."""

from __future__ import annotations

from gnomon.server.dynamic_config import DynamicConfig
from gnomon.server.history import activity_task, crossrun, run_deadlines, updates, workflow_task
from gnomon.server.history.engine import HistoryEngine
from gnomon.server.history.query import QueryRegistry
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
    ) -> None:
        self.engine = HistoryEngine(persistence, namespaces, matching, config)
        self.queries = QueryRegistry()
        self.engine.reconcilers.extend(
            [
                workflow_task.reconcile,
                activity_task.reconcile,
                run_deadlines.reconcile,
                crossrun.reconcile,
                updates.reconcile,
            ]
        )
        self.engine.recoverers.append(crossrun.recover)
        self.engine.evict_hooks.append(updates.on_evict)
        self.engine.deadline_handlers.update(
            {
                "workflow_task_start_to_close": workflow_task.on_start_to_close_timeout,
                "workflow_task_schedule_to_start": workflow_task.on_schedule_to_start_timeout,
                "workflow_backoff": workflow_task.on_workflow_backoff,
                "timer": run_deadlines.on_timer,
                "workflow_timeout": run_deadlines.on_workflow_timeout,
                **activity_task.deadline_handlers(),
            }
        )

    async def start(self) -> None:
        await self.engine.start()

    async def stop(self) -> None:
        await self.engine.stop()
