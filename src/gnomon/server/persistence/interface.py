"""The persistence interface that history, matching and the frontend program against.

A state change of a workflow run is a plain :class:`WorkflowMutation`: the run's new
serialized mutable state, the events it appended (one batch, serialized once), and the
change of the workflow id's *current run* pointer. Mutations handed to one
:meth:`Persistence.commit` call are applied atomically; each is guarded by the run's
``db_version`` so that a stale in-memory copy can never overwrite a newer row.
Backends are free to share one physical transaction among many callers (group commit).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gnomon.server.errors import ResourceExhaustedError


class ConditionFailedError(Exception):
    """A guarded write found the row in another state than the caller expected."""


class StorageFullError(ResourceExhaustedError):
    """The database's disk is full: nothing was written; the same write works once space returns."""


@dataclass(frozen=True)
class NamespaceRecord:
    """A namespace: its id, unique name and serialized description."""

    id: str
    name: str
    data: bytes  # serialized temporalio.api.workflowservice.v1.DescribeNamespaceResponse


@dataclass(frozen=True)
class HistoryBatch:
    """Consecutive events of one run, stored together as one serialized ``History``."""

    first_event_id: int
    last_event_id: int
    data: bytes


@dataclass(frozen=True)
class CurrentRun:
    """What the workflow id currently points at."""

    run_id: str
    status: int
    start_request_id: str
    close_time: float | None


@dataclass(frozen=True)
class RunRecord:
    """One stored run: its mutable state and the columns kept beside it."""

    namespace_id: str
    workflow_id: str
    run_id: str
    db_version: int
    status: int
    state: bytes
    # What the run wants from the world, as of this state (see ``DerivedColumns``).
    derived: DerivedColumns = field(default_factory=lambda: DerivedColumns(None, False))


@dataclass(frozen=True)
class DerivedColumns:
    """What a run's state says it needs, stored beside it and indexed.

    They are how runs that are not in memory are found again: the ones with a deadline
    coming up (``next_deadline``: the soonest, epoch seconds), and the ones with *work*:
    a task to hand to a worker, or work on another run (starting a child, telling a
    parent). Start-up reads these indexes instead of every run.
    """

    next_deadline: float | None
    has_work: bool


@dataclass(frozen=True)
class RunRef:
    """Where to find a run (what the derived indexes return)."""

    namespace_id: str
    run_id: str


@dataclass
class CurrentChange:
    """Move the workflow id's current-run pointer to this run.

    ``expected_run_id`` is the run the pointer must point at now (None: no row at all).
    """

    expected_run_id: str | None
    start_request_id: str


@dataclass
class VisibilityRecord:
    """A run's row in the visibility tables: its columns, and (attribute, value) index rows."""

    columns: dict[str, Any]
    search_rows: list[tuple[str, Any]]


@dataclass
class WorkflowMutation:
    """One run's state change, applied atomically with any others in the same commit."""

    namespace_id: str
    workflow_id: str
    run_id: str
    expected_db_version: int  # 0 creates the run
    db_version: int
    status: int
    state: bytes
    workflow_type: str
    task_queue: str
    start_time: float
    close_time: float | None
    history: HistoryBatch | None = None
    # Set to move the workflow id's current pointer to this run; otherwise, if the
    # pointer is at this run and ``status_changed``, its status is kept in step.
    current: CurrentChange | None = None
    status_changed: bool = True
    # Set when what list queries see of the run changed (start, close, upserts).
    visibility: VisibilityRecord | None = None
    derived: DerivedColumns = field(default_factory=lambda: DerivedColumns(None, False))


class Persistence(abc.ABC):
    """Storage of namespaces, runs and their histories."""

    @abc.abstractmethod
    async def start(self) -> None:
        """Open the database and create or migrate its schema."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Finish pending commits and close the database."""

    @abc.abstractmethod
    async def commit(self, mutations: Sequence[WorkflowMutation]) -> None:
        """Apply the mutations atomically (raise ConditionFailedError and apply none on conflict)."""

    @abc.abstractmethod
    async def get_run(self, namespace_id: str, run_id: str) -> RunRecord | None:
        """The stored run, or None."""

    @abc.abstractmethod
    async def get_current(self, namespace_id: str, workflow_id: str) -> CurrentRun | None:
        """The current run of a workflow id, or None."""

    @abc.abstractmethod
    async def read_history(self, namespace_id: str, run_id: str, first_event_id: int = 1) -> list[bytes]:
        """Serialized history batches holding events from ``first_event_id`` on, in order."""

    @abc.abstractmethod
    async def runs_due(
        self, until: float, after: tuple[float, str, str] | None, limit: int
    ) -> list[tuple[float, RunRef]]:
        """Runs whose next deadline is at or before ``until``, soonest first, after the key ``after``.

        ``after`` is the (next_deadline, namespace_id, run_id) of the last row of the previous
        page (None: from the start); at most ``limit`` rows.
        """

    @abc.abstractmethod
    async def runs_with_work(self, after: RunRef | None, limit: int) -> list[RunRef]:
        """Runs (open or closed) whose state says they have work, in key order, after ``after``."""

    @abc.abstractmethod
    async def set_derived(self, namespace_id: str, run_id: str, db_version: int, derived: DerivedColumns) -> None:
        """Correct a run's derived columns, if it is still at ``db_version`` (a later commit wrote its own)."""

    @abc.abstractmethod
    async def delete_run(self, namespace_id: str, workflow_id: str, run_id: str) -> None:
        """Remove a run and its history (and the current pointer if it points at it)."""

    @abc.abstractmethod
    async def save_namespace(self, record: NamespaceRecord, *, create: bool) -> None:
        """Insert (create=True; ConditionFailedError if the name exists) or replace a namespace."""

    @abc.abstractmethod
    async def delete_namespace(self, namespace_id: str) -> None:
        """Remove a namespace and everything in it (runs, histories, visibility, attributes)."""

    @abc.abstractmethod
    async def list_namespaces(self) -> list[NamespaceRecord]:
        """Every namespace."""

    @abc.abstractmethod
    async def list_search_attributes(self) -> dict[str, dict[str, int]]:
        """Custom search attributes of every namespace: namespace id -> name -> IndexedValueType."""

    @abc.abstractmethod
    async def save_search_attributes(self, namespace_id: str, add: dict[str, int], remove: list[str]) -> None:
        """Define (or redefine) and drop custom search attributes of one namespace."""

    @abc.abstractmethod
    async def query_visibility(self, statement: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Rows of a read-only statement over the visibility tables (built by the visibility compiler)."""

    @abc.abstractmethod
    async def count_by_status(self, namespace_id: str) -> dict[int, int]:
        """Runs of a namespace per status (runs of a namespace division excluded)."""
