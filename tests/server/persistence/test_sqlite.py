"""Conformance suite of the persistence layer, run against every backend in :data:`BACKENDS`.

The tests only use the :class:`~gnomon.server.persistence.Persistence` interface (plus the
``commits`` counter for group commit), so another backend (PostgreSQL) joins by adding a
:class:`Backend` to the list.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from gnomon.server.persistence import (
    ConditionFailedError,
    CurrentRun,
    DerivedColumns,
    HistoryBatch,
    NamespaceRecord,
    Persistence,
    RunRecord,
    RunRef,
    SqlitePersistence,
    WorkflowMutation,
)
from gnomon.server.persistence.interface import CurrentChange

NS = "ns-1"
RUNNING = 1  # WORKFLOW_EXECUTION_STATUS_RUNNING
COMPLETED = 2  # WORKFLOW_EXECUTION_STATUS_COMPLETED
GROUP_COMMIT_WRITERS = 200

Opener = Callable[[], Persistence]


@dataclass(frozen=True)
class Backend:
    """A persistence backend under test: how to open it, and whether a reopen sees old data."""

    name: str
    make_opener: Callable[[Path], Opener]
    durable: bool


BACKENDS = [
    Backend("sqlite-memory", lambda _tmp: lambda: SqlitePersistence(":memory:"), durable=False),
    Backend("sqlite-file", lambda tmp: lambda: SqlitePersistence(tmp / "gnomon.db"), durable=True),
]


@pytest.fixture(params=BACKENDS, ids=[b.name for b in BACKENDS])
def backend(request: pytest.FixtureRequest) -> Backend:
    """The backend this instance of a test runs against."""
    spec: Backend = request.param
    return spec


@pytest.fixture
def opener(backend: Backend, tmp_path: Path) -> Opener:
    """Makes a new (not yet started) persistence object on this test's database."""
    return backend.make_opener(tmp_path)


@pytest.fixture
async def store(opener: Opener) -> AsyncIterator[Persistence]:
    """A started persistence, closed after the test."""
    persistence = opener()
    await persistence.start()
    yield persistence
    await persistence.close()


# -- helpers ------------------------------------------------------------------------------


def batch(first: int, last: int) -> HistoryBatch:
    """A history batch whose data names its event range (persistence treats it as opaque)."""
    return HistoryBatch(first_event_id=first, last_event_id=last, data=f"events {first}-{last}".encode())


NOTHING_DERIVED = DerivedColumns(None, False)


def mutation(
    run_id: str,
    *,
    version: int,
    workflow_id: str = "wf",
    namespace_id: str = NS,
    status: int = RUNNING,
    close_time: float | None = None,
    events: tuple[int, int] | None = None,
    current: CurrentChange | None = None,
    derived: DerivedColumns = NOTHING_DERIVED,
) -> WorkflowMutation:
    """A mutation taking ``run_id`` from ``version - 1`` to ``version`` (``version=1`` creates it)."""
    return WorkflowMutation(
        namespace_id=namespace_id,
        workflow_id=workflow_id,
        run_id=run_id,
        expected_db_version=version - 1,
        db_version=version,
        status=status,
        state=f"{run_id} v{version}".encode(),
        workflow_type="Wf",
        task_queue="tq",
        start_time=1000.0,
        close_time=close_time,
        history=batch(*events) if events else None,
        current=current,
        derived=derived,
    )


def creation(
    run_id: str, *, workflow_id: str = "wf", namespace_id: str = NS, previous_run: str | None = None
) -> WorkflowMutation:
    """A new run with its first batch (events 1-3) that becomes the workflow id's current run."""
    return mutation(
        run_id,
        version=1,
        workflow_id=workflow_id,
        namespace_id=namespace_id,
        events=(1, 3),
        current=CurrentChange(expected_run_id=previous_run, start_request_id=f"req-{run_id}"),
    )


async def create_run(
    store: Persistence, run_id: str, *, workflow_id: str = "wf", namespace_id: str = NS, previous_run: str | None = None
) -> None:
    await store.commit(
        [creation(run_id, workflow_id=workflow_id, namespace_id=namespace_id, previous_run=previous_run)]
    )


async def history_of(store: Persistence, run_id: str, first_event_id: int = 1) -> list[bytes]:
    return await store.read_history(NS, run_id, first_event_id)


def expected_record(run_id: str, version: int, *, workflow_id: str = "wf", status: int = RUNNING) -> RunRecord:
    return RunRecord(NS, workflow_id, run_id, version, status, f"{run_id} v{version}".encode())


def namespace(name: str, data: bytes = b"v1") -> NamespaceRecord:
    return NamespaceRecord(id=f"id-{name}", name=name, data=data)


def commits_of(store: Persistence) -> int:
    """Transactions the backend committed so far (every backend keeps this counter)."""
    commits = getattr(store, "commits", None)
    assert isinstance(commits, int), f"{type(store).__name__} has no integer 'commits' counter"
    return commits


# -- runs, history and the current pointer ------------------------------------------------


async def test_new_run_commits_state_history_and_current_pointer(store: Persistence) -> None:
    await create_run(store, "run-1")

    assert await store.get_run(NS, "run-1") == expected_record("run-1", 1)
    assert await history_of(store, "run-1") == [b"events 1-3"]
    assert await store.get_current(NS, "wf") == CurrentRun("run-1", RUNNING, "req-run-1", None)


async def test_unknown_run_and_workflow_read_as_none(store: Persistence) -> None:
    assert await store.get_run(NS, "missing") is None
    assert await store.get_current(NS, "missing") is None
    assert await history_of(store, "missing") == []


async def test_guarded_update_advances_version_and_appends_history(store: Persistence) -> None:
    await create_run(store, "run-1")
    await store.commit([mutation("run-1", version=2, events=(4, 5))])
    await store.commit([mutation("run-1", version=3, status=COMPLETED, close_time=2000.0, events=(6, 6))])

    assert await store.get_run(NS, "run-1") == expected_record("run-1", 3, status=COMPLETED)
    assert await history_of(store, "run-1") == [b"events 1-3", b"events 4-5", b"events 6-6"]
    # The current run's status and close time follow the run's.
    assert await store.get_current(NS, "wf") == CurrentRun("run-1", COMPLETED, "req-run-1", 2000.0)


async def test_update_without_events_changes_state_only(store: Persistence) -> None:
    await create_run(store, "run-1")
    await store.commit([mutation("run-1", version=2)])

    assert await store.get_run(NS, "run-1") == expected_record("run-1", 2)
    assert await history_of(store, "run-1") == [b"events 1-3"]


async def test_stale_version_is_rejected_and_nothing_applied(store: Persistence) -> None:
    await create_run(store, "run-1")
    await store.commit([mutation("run-1", version=2, events=(4, 4))])

    stale = mutation("run-1", version=2, status=COMPLETED, close_time=5.0, events=(5, 5))
    with pytest.raises(ConditionFailedError):
        await store.commit([stale])

    assert await store.get_run(NS, "run-1") == expected_record("run-1", 2)
    assert await history_of(store, "run-1") == [b"events 1-3", b"events 4-4"]
    assert await store.get_current(NS, "wf") == CurrentRun("run-1", RUNNING, "req-run-1", None)


async def test_update_of_missing_run_is_a_condition_failure(store: Persistence) -> None:
    with pytest.raises(ConditionFailedError):
        await store.commit([mutation("ghost", version=2, events=(4, 4))])
    assert await store.get_run(NS, "ghost") is None
    assert await history_of(store, "ghost") == []


async def test_conflict_discards_every_mutation_of_the_same_commit(store: Persistence) -> None:
    await create_run(store, "run-a", workflow_id="wf-a")
    await create_run(store, "run-b", workflow_id="wf-b")
    good = mutation("run-a", version=2, workflow_id="wf-a", status=COMPLETED, close_time=9.0, events=(4, 4))
    new_run = creation("run-c", workflow_id="wf-c")
    stale = mutation("run-b", version=5, workflow_id="wf-b", events=(4, 4))

    with pytest.raises(ConditionFailedError):
        await store.commit([good, new_run, stale])

    assert await store.get_run(NS, "run-a") == expected_record("run-a", 1, workflow_id="wf-a")
    assert await history_of(store, "run-a") == [b"events 1-3"]
    assert await store.get_current(NS, "wf-a") == CurrentRun("run-a", RUNNING, "req-run-a", None)
    assert await store.get_run(NS, "run-c") is None
    assert await store.get_current(NS, "wf-c") is None
    assert await history_of(store, "run-b") == [b"events 1-3"]


async def test_creating_an_existing_run_is_a_condition_failure(store: Persistence) -> None:
    await create_run(store, "run-1")
    duplicate = mutation("run-1", version=1, events=(1, 3))  # no pointer change: only the run row clashes
    with pytest.raises(ConditionFailedError):
        await store.commit([duplicate])


async def test_current_pointer_moves_when_expected_run_matches(store: Persistence) -> None:
    await create_run(store, "run-1")
    await store.commit([mutation("run-1", version=2, status=COMPLETED, close_time=50.0)])
    await create_run(store, "run-2", previous_run="run-1")

    assert await store.get_current(NS, "wf") == CurrentRun("run-2", RUNNING, "req-run-2", None)
    # The previous run is still stored, with its history.
    assert await store.get_run(NS, "run-1") == expected_record("run-1", 2, status=COMPLETED)
    assert await history_of(store, "run-1") == [b"events 1-3"]


async def test_continue_as_new_closes_one_run_and_creates_the_next_atomically(store: Persistence) -> None:
    await create_run(store, "run-1")
    closing = mutation("run-1", version=2, status=COMPLETED, close_time=50.0, events=(4, 5))
    await store.commit([closing, creation("run-2", previous_run="run-1")])

    assert await store.get_run(NS, "run-1") == expected_record("run-1", 2, status=COMPLETED)
    assert await store.get_run(NS, "run-2") == expected_record("run-2", 1)
    assert await store.get_current(NS, "wf") == CurrentRun("run-2", RUNNING, "req-run-2", None)


@pytest.mark.parametrize(
    ("existing", "expected"),
    [(None, "someone-else"), ("run-1", None), ("run-1", "someone-else")],
    ids=["no-row-but-expected-one", "row-but-expected-none", "other-run-expected"],
)
async def test_current_pointer_mismatch_is_a_condition_failure(
    store: Persistence, existing: str | None, expected: str | None
) -> None:
    if existing:
        await create_run(store, existing)
    before = await store.get_current(NS, "wf")

    with pytest.raises(ConditionFailedError):
        await create_run(store, "run-2", previous_run=expected)

    assert await store.get_current(NS, "wf") == before
    assert await store.get_run(NS, "run-2") is None
    assert await history_of(store, "run-2") == []


async def test_non_current_run_leaves_the_pointer_alone(store: Persistence) -> None:
    await create_run(store, "run-1")
    await store.commit([mutation("run-1", version=2, status=COMPLETED, close_time=1.0)])
    await create_run(store, "run-2", previous_run="run-1")
    # A late update of the old run must not touch the pointer that now names run-2.
    await store.commit([mutation("run-1", version=3, status=COMPLETED, close_time=7.0)])

    assert await store.get_current(NS, "wf") == CurrentRun("run-2", RUNNING, "req-run-2", None)


async def test_read_history_from_an_event_id(store: Persistence) -> None:
    await create_run(store, "run-1")  # events 1-3
    await store.commit([mutation("run-1", version=2, events=(4, 5))])
    await store.commit([mutation("run-1", version=3, events=(6, 9))])
    all_batches = [b"events 1-3", b"events 4-5", b"events 6-9"]

    for first_event_id, expected in [
        (1, all_batches),
        (3, all_batches),
        (4, all_batches[1:]),
        (5, all_batches[1:]),
        (6, all_batches[2:]),
        (9, all_batches[2:]),
        (10, []),
    ]:
        assert await history_of(store, "run-1", first_event_id) == expected, f"from event {first_event_id}"


async def test_runs_and_histories_are_scoped_by_namespace(store: Persistence) -> None:
    await create_run(store, "run-1", namespace_id="ns-a")
    assert await store.get_run("ns-b", "run-1") is None
    assert await store.read_history("ns-b", "run-1") == []
    assert await store.get_current("ns-b", "wf") is None
    await create_run(store, "run-2", namespace_id="ns-b")  # same workflow id, other namespace: no clash
    assert (await store.get_current("ns-a", "wf")) == CurrentRun("run-1", RUNNING, "req-run-1", None)
    assert (await store.get_current("ns-b", "wf")) == CurrentRun("run-2", RUNNING, "req-run-2", None)


async def test_derived_columns_find_runs_due_and_runs_with_work(store: Persistence) -> None:
    """The indexes start-up and the deadline loader read instead of every run."""
    for run, ns in (("a", "ns-a"), ("b", "ns-b"), ("c", "ns-a"), ("d", "ns-a")):
        await create_run(store, run, workflow_id=f"wf-{run}", namespace_id=ns)
    due = {"a": 30.0, "b": 10.0, "c": 20.0}
    for run, when in due.items():
        ns = "ns-b" if run == "b" else "ns-a"
        work = DerivedColumns(when, has_work=run != "c")
        await store.commit([mutation(run, version=2, workflow_id=f"wf-{run}", namespace_id=ns, derived=work)])

    all_due = await store.runs_due(25.0, None, 10)
    assert [(when, ref.run_id) for when, ref in all_due] == [(10.0, "b"), (20.0, "c")]
    first_page = await store.runs_due(100.0, None, 2)
    last = first_page[-1]
    second_page = await store.runs_due(100.0, (last[0], last[1].namespace_id, last[1].run_id), 2)
    assert [r.run_id for _, r in first_page + second_page] == ["b", "c", "a"]
    assert await store.runs_with_work(None, 10) == [RunRef("ns-a", "a"), RunRef("ns-b", "b")]
    assert await store.runs_with_work(RunRef("ns-a", "a"), 10) == [RunRef("ns-b", "b")]
    assert (await store.get_run("ns-a", "c")).derived == DerivedColumns(20.0, False)  # type: ignore[union-attr]

    # A correction lands only on the version it was derived from.
    await store.set_derived("ns-a", "c", 1, DerivedColumns(None, True))
    assert (await store.get_run("ns-a", "c")).derived == DerivedColumns(20.0, False)  # type: ignore[union-attr]
    await store.set_derived("ns-a", "c", 2, DerivedColumns(None, True))
    assert (await store.get_run("ns-a", "c")).derived == DerivedColumns(None, True)  # type: ignore[union-attr]
    assert [r.run_id for _, r in await store.runs_due(100.0, None, 10)] == ["b", "a"]


async def test_delete_run_removes_run_history_and_its_current_pointer(store: Persistence) -> None:
    await create_run(store, "run-1")
    await store.commit([mutation("run-1", version=2, events=(4, 4))])

    await store.delete_run(NS, "wf", "run-1")

    assert await store.get_run(NS, "run-1") is None
    assert await history_of(store, "run-1") == []
    assert await store.get_current(NS, "wf") is None
    await create_run(store, "run-2")  # the workflow id is free again


async def test_delete_of_a_non_current_run_keeps_the_pointer(store: Persistence) -> None:
    await create_run(store, "run-1")
    await store.commit([mutation("run-1", version=2, status=COMPLETED, close_time=1.0)])
    await create_run(store, "run-2", previous_run="run-1")

    await store.delete_run(NS, "wf", "run-1")

    assert await store.get_run(NS, "run-1") is None
    assert await store.get_current(NS, "wf") == CurrentRun("run-2", RUNNING, "req-run-2", None)
    assert await history_of(store, "run-2") == [b"events 1-3"]


# -- namespaces ---------------------------------------------------------------------------


async def test_namespaces_are_saved_and_listed_by_name(store: Persistence) -> None:
    await store.save_namespace(namespace("zeta"), create=True)
    await store.save_namespace(namespace("alpha"), create=True)
    await store.save_namespace(namespace("zeta", b"v2"), create=False)

    assert await store.list_namespaces() == [namespace("alpha"), namespace("zeta", b"v2")]


async def test_creating_a_namespace_twice_is_a_condition_failure(store: Persistence) -> None:
    await store.save_namespace(namespace("dup"), create=True)
    with pytest.raises(ConditionFailedError):
        await store.save_namespace(NamespaceRecord(id="another-id", name="dup", data=b"v2"), create=True)
    assert await store.list_namespaces() == [namespace("dup")]


# -- concurrency --------------------------------------------------------------------------


async def test_concurrent_commits_all_land_sharing_transactions(store: Persistence) -> None:
    runs = [f"run-{i}" for i in range(GROUP_COMMIT_WRITERS)]
    commits_before = commits_of(store)

    await asyncio.gather(*(create_run(store, run, workflow_id=f"wf-{run}") for run in runs))

    transactions = commits_of(store) - commits_before
    assert 0 < transactions < GROUP_COMMIT_WRITERS, f"{transactions} transactions for {len(runs)} commits"
    for run in runs:
        assert await store.get_run(NS, run) == expected_record(run, 1, workflow_id=f"wf-{run}")
        assert await history_of(store, run) == [b"events 1-3"]


async def test_one_conflict_in_a_group_does_not_fail_the_others(store: Persistence) -> None:
    runs = [f"run-{i}" for i in range(50)]
    await asyncio.gather(*(create_run(store, run, workflow_id=f"wf-{run}") for run in runs))

    # Every run gets two concurrent updates from version 1: exactly one of each pair can win.
    updates = [mutation(run, version=2, workflow_id=f"wf-{run}", events=(4, 4)) for run in runs for _ in range(2)]
    outcomes = await asyncio.gather(*(store.commit([u]) for u in updates), return_exceptions=True)

    failures = [o for o in outcomes if o is not None]
    assert all(isinstance(f, ConditionFailedError) for f in failures), failures
    assert len(failures) == len(runs)
    for run in runs:
        assert await store.get_run(NS, run) == expected_record(run, 2, workflow_id=f"wf-{run}")
        assert await history_of(store, run) == [b"events 1-3", b"events 4-4"]


# -- durability ---------------------------------------------------------------------------


async def test_data_survives_close_and_reopen(backend: Backend, opener: Opener) -> None:
    if not backend.durable:
        pytest.skip(f"{backend.name} keeps nothing across a reopen")
    first = opener()
    await first.start()
    await first.save_namespace(namespace("kept"), create=True)
    await create_run(first, "run-1")
    await first.commit([mutation("run-1", version=2, events=(4, 6))])
    await create_run(first, "run-2", workflow_id="wf-2")
    await first.commit([mutation("run-2", version=2, workflow_id="wf-2", status=COMPLETED, close_time=8.0)])
    await first.close()

    second = opener()
    await second.start()
    try:
        assert await second.list_namespaces() == [namespace("kept")]
        assert await second.get_run(NS, "run-1") == expected_record("run-1", 2)
        assert await history_of(second, "run-1") == [b"events 1-3", b"events 4-6"]
        assert await history_of(second, "run-1", 5) == [b"events 4-6"]
        assert await second.get_current(NS, "wf-2") == CurrentRun("run-2", COMPLETED, "req-run-2", 8.0)
        # The guard still holds after the reopen: version 2 is current, 1 is stale.
        with pytest.raises(ConditionFailedError):
            await second.commit([mutation("run-1", version=2)])
        await second.commit([mutation("run-1", version=3, events=(7, 7))])
    finally:
        await second.close()
