"""Persistence: one interface, with SQLite behind it (PostgreSQL later)."""

from gnomon.server.persistence.interface import (
    ConditionFailedError,
    CurrentRun,
    HistoryBatch,
    NamespaceRecord,
    Persistence,
    RunRecord,
    StorageFullError,
    WorkflowMutation,
)
from gnomon.server.persistence.sqlite import SqlitePersistence

__all__ = [
    "ConditionFailedError",
    "CurrentRun",
    "HistoryBatch",
    "NamespaceRecord",
    "Persistence",
    "RunRecord",
    "SqlitePersistence",
    "StorageFullError",
    "WorkflowMutation",
]
