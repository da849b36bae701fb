"""Persistence: one interface, with SQLite behind it (PostgreSQL later)."""

from gnomon.server.persistence.interface import (
    ConditionFailedError,
    CurrentRun,
    DerivedColumns,
    HistoryBatch,
    NamespaceRecord,
    Persistence,
    RunRecord,
    RunRef,
    StorageFullError,
    WorkflowMutation,
)
from gnomon.server.persistence.sqlite import SqlitePersistence

__all__ = [
    "ConditionFailedError",
    "CurrentRun",
    "DerivedColumns",
    "HistoryBatch",
    "NamespaceRecord",
    "Persistence",
    "RunRecord",
    "RunRef",
    "SqlitePersistence",
    "StorageFullError",
    "WorkflowMutation",
]
