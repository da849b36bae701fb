"""The history engine: cached mutable states, one lock per run, atomic transitions.

A transition runs under the run's lock, mutates the cached :class:`MutableState` in place
and appends events; on leaving :meth:`HistoryEngine.transition` the new state, the events
and any runs created alongside (continue-as-new) are committed in one persistence call.
If anything fails before the commit returns, the cached copy is dropped and the next
access reloads the committed one, so a half-applied change is never observed.

After every commit :meth:`_reconcile` derives what the run needs from the outside world
from its state alone: workflow and activity tasks handed to matching, deadlines given to
the timer queue, and cross-run work (starting children, signalling other runs, telling a
parent about a close). Start-up calls the same method for every open run, which is how
queues and timers are rebuilt after a crash.

A transition may be *deferred* (``durable=False``): it changes the cached state and
derives its effects, but is written by the run's next durable commit. Only handing out a
task is deferred (a workflow or activity task marked started): no client was promised
anything by it, and if the server dies first the task is simply scheduled again after the
restart, as if its worker had never polled. That saves a commit, a state encoding and a
disk write on every task.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from temporalio.api.common.v1 import SearchAttributes
from temporalio.api.history.v1 import HistoryEvent

from gnomon.server import codec
from gnomon.server.errors import NotFoundError, ServiceError, UnavailableError
from gnomon.server.history.events import encode_history, read_events
from gnomon.server.history.mutable_state import MutableState
from gnomon.server.matching import MatchingService, TaskRef, TaskType
from gnomon.server.namespaces import NamespaceRegistry
from gnomon.server.persistence import ConditionFailedError, HistoryBatch, Persistence, WorkflowMutation
from gnomon.server.persistence.interface import CurrentChange, VisibilityRecord
from gnomon.server.timers import Deadline, TimerEntry, TimerQueue

logger = logging.getLogger(__name__)

RunKey = tuple[str, str]  # (namespace id, run id)
CLOSED_CACHE_SIZE = 1_000


@dataclass
class RunContext:
    """A cached run: its state, its lock and what has been derived from it in memory."""

    ms: MutableState
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    evicted: bool = False
    dispatched: set[tuple[str, str, int, int]] = field(default_factory=set)
    wanted: set[tuple[str, str, int, int]] = field(default_factory=set)
    # Deadlines armed for this run, and those the latest reconcile asked for.
    deadlines: dict[Deadline, TimerEntry] = field(default_factory=dict)
    wanted_deadlines: set[Deadline] = field(default_factory=set)
    in_flight: set[str] = field(default_factory=set)
    # In-flight workflow updates (update_registry.PendingUpdate by id); memory only.
    updates: dict[str, Any] = field(default_factory=dict)
    # The committed events of an open run, once read (see HistoryEngine.read_events).
    history: list[HistoryEvent] | None = None
    # A commit of this run is being written: its events count as committed in the state,
    # may already be readable in the database, and are not in ``history`` yet.
    committing: bool = False

    @property
    def key(self) -> RunKey:
        return (self.ms.namespace_id, self.ms.run_id)


@dataclass
class Transition:
    """The state change being built under a run's lock."""

    ctx: RunContext
    new_runs: list[tuple[MutableState, CurrentChange | None]] = field(default_factory=list)
    dirty: bool = False  # state changed without new events
    events_before: int = 0  # events of deferred transitions already pending when this one began
    new_run_events: list[list[HistoryEvent]] = field(default_factory=list)  # set by the commit

    @property
    def ms(self) -> MutableState:
        return self.ctx.ms


CrossRunWork = Callable[["HistoryEngine", RunContext], Awaitable[None]]


class _TransitionScope:
    """What ``HistoryEngine.transition`` returns (a class: it runs several times per RPC)."""

    __slots__ = ("_engine", "_ctx", "_durable", "_tx")

    def __init__(self, engine: HistoryEngine, ctx: RunContext, durable: bool) -> None:
        self._engine = engine
        self._ctx = ctx
        self._durable = durable

    async def __aenter__(self) -> Transition:
        ctx = await self._engine._lock_live(self._ctx)
        self._tx = Transition(ctx, events_before=len(ctx.ms.pending_events))
        return self._tx

    async def __aexit__(self, exc_type: object, error: BaseException | None, traceback: object) -> None:
        tx = self._tx
        engine = self._engine
        try:
            if error is not None:
                engine._abandon(tx, error)
                return
            try:
                if self._durable:
                    await engine._commit(tx)
                elif tx.new_runs:
                    raise RuntimeError("a transition that creates runs must be durable")
            except BaseException as failure:
                engine._abandon(tx, failure)
                raise
            engine._after_commit(tx)
        finally:
            tx.ctx.lock.release()


class HistoryEngine:
    """Owns every run's mutable state; the only writer of workflow runs."""

    def __init__(
        self,
        persistence: Persistence,
        namespaces: NamespaceRegistry,
        matching: MatchingService,
    ) -> None:
        self.persistence = persistence
        self.namespaces = namespaces
        self.matching = matching
        self.timers = TimerQueue(self._on_deadline)
        self._cache: dict[RunKey, RunContext] = {}
        self._closed: OrderedDict[RunKey, None] = OrderedDict()  # cached closed runs, oldest first
        self._loading: dict[RunKey, asyncio.Future[RunContext | None]] = {}
        self._watchers: dict[RunKey, asyncio.Event] = {}
        self._workflow_id_locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._background: set[asyncio.Task[None]] = set()
        # Set by the modules that handle deadlines and cross-run work (see handlers.py).
        self.deadline_handlers: dict[str, Callable[[HistoryEngine, Deadline], Awaitable[None]]] = {}
        self.reconcilers: list[Callable[[HistoryEngine, RunContext], None]] = []
        # Builds a run's visibility row; set by the server, which knows the search attributes.
        self.visibility_record: Callable[[MutableState], VisibilityRecord] | None = None
        # Records each search attribute value's type in its payload (set by the server).
        self.annotate_search_attributes: Callable[[str, SearchAttributes], None] = lambda ns_id, attributes: None
        # Run once per open run at start-up, for work that closed runs still owe it.
        self.recoverers: list[Callable[[HistoryEngine, RunContext], Awaitable[None]]] = []

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Load every open run and re-derive its tasks and deadlines."""
        self.timers.start()
        records = await self.persistence.list_open_runs()
        contexts = []
        for record in records:
            ctx = RunContext(codec.loads(MutableState, record.state))
            self._cache[ctx.key] = ctx
            contexts.append(ctx)
        for ctx in contexts:
            self._reconcile(ctx)
        for ctx in contexts:
            for recover in self.recoverers:
                await recover(self, ctx)
        logger.info("recovered %d open runs", len(records))

    async def stop(self) -> None:
        await self.timers.stop()
        for task in list(self._background):
            task.cancel()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    def spawn(self, coro: Awaitable[None], name: str) -> None:
        """Run background work owned by the engine (cancelled at stop)."""

        async def guarded() -> None:
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("background work %s failed", name)

        task = asyncio.create_task(guarded(), name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- finding runs --------------------------------------------------------------------

    async def current_run_id(self, namespace_id: str, workflow_id: str) -> str:
        current = await self.persistence.get_current(namespace_id, workflow_id)
        if current is None:
            raise NotFoundError(f"workflow not found for ID: {workflow_id}")
        return current.run_id

    async def resolve(self, namespace_id: str, workflow_id: str, run_id: str) -> RunContext:
        """The run addressed by a request (its current run when ``run_id`` is empty)."""
        if not run_id:
            run_id = await self.current_run_id(namespace_id, workflow_id)
        ctx = await self._context(namespace_id, run_id)
        if ctx is None or ctx.ms.workflow_id != workflow_id:
            raise NotFoundError(f"workflow not found for ID: {workflow_id}")
        return ctx

    async def resolve_or_none(self, namespace_id: str, workflow_id: str, run_id: str) -> RunContext | None:
        """Like :meth:`resolve`, but None instead of NotFoundError."""
        try:
            return await self.resolve(namespace_id, workflow_id, run_id)
        except NotFoundError:
            return None

    async def resolve_key(self, namespace_id: str, run_id: str) -> RunContext:
        """The run with this id; NotFoundError if there is none."""
        ctx = await self._context(namespace_id, run_id)
        if ctx is None:
            raise NotFoundError(f"workflow run {run_id} not found")
        return ctx

    async def context_or_none(self, namespace_id: str, run_id: str) -> RunContext | None:
        """The run with this id, or None."""
        return await self._context(namespace_id, run_id)

    async def _context(self, namespace_id: str, run_id: str) -> RunContext | None:
        key = (namespace_id, run_id)
        ctx = self._cache.get(key)
        if ctx is not None:
            self._track(ctx)
            return ctx
        loading = self._loading.get(key)
        if loading is not None:
            return await asyncio.shield(loading)
        future: asyncio.Future[RunContext | None] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            record = await self.persistence.get_run(namespace_id, run_id)
            ctx = RunContext(codec.loads(MutableState, record.state)) if record else None
            if ctx is not None:
                self._cache[key] = ctx
                self._track(ctx)
                self._trim_cache()
            future.set_result(ctx)
            return ctx
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # mark retrieved: the caller gets it via raise
            raise
        finally:
            del self._loading[key]

    def _trim_cache(self) -> None:
        """Keep at most CLOSED_CACHE_SIZE closed runs in memory, the most recently used.

        Open runs always stay: their deadlines and tasks are tracked through the cached
        context. Closed ones are rarely read again (a result, a describe), so only a
        bounded number are kept; the rest are read back from the database when asked for.
        """
        closed = self._closed
        while len(closed) > CLOSED_CACHE_SIZE:
            key, _ = closed.popitem(last=False)
            ctx = self._cache.get(key)
            if ctx is not None and not ctx.ms.is_open and not ctx.lock.locked():
                del self._cache[key]

    def _track(self, ctx: RunContext) -> None:
        """Note a use of a cached run (closed runs are evicted least recently used first)."""
        if not ctx.ms.is_open:
            self._closed[ctx.key] = None
            self._closed.move_to_end(ctx.key)

    def _evict(self, ctx: RunContext) -> None:
        ctx.evicted = True
        if self._cache.get(ctx.key) is ctx:
            del self._cache[ctx.key]
            self._closed.pop(ctx.key, None)

    def forget(self, ctx: RunContext) -> None:
        """Drop a deleted run from memory, with its deadlines."""
        for entry in ctx.deadlines.values():
            self.timers.cancel(entry)
        ctx.deadlines.clear()
        self._evict(ctx)

    def forget_namespace(self, namespace_id: str) -> None:
        """Drop every cached run of a deleted namespace."""
        for ctx in [c for key, c in self._cache.items() if key[0] == namespace_id]:
            self._evict(ctx)

    @asynccontextmanager
    async def workflow_id_lock(self, namespace_id: str, workflow_id: str) -> AsyncIterator[None]:
        """Serialises starts of one workflow id (the current-run pointer is checked under it)."""
        key = (namespace_id, workflow_id)
        lock = self._workflow_id_locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                yield
        finally:
            if not lock.locked() and not lock._waiters:  # type: ignore[attr-defined]
                self._workflow_id_locks.pop(key, None)

    # -- transitions ---------------------------------------------------------------------

    def transition(self, ctx: RunContext, *, durable: bool = True) -> AbstractAsyncContextManager[Transition]:
        """Lock the run, let the caller change it, commit, then derive the effects.

        ``durable=False`` defers the commit to the run's next durable transition (see the
        module docstring for when that is allowed).
        """
        return _TransitionScope(self, ctx, durable)

    async def _lock_live(self, ctx: RunContext) -> RunContext:
        """Take the run's lock on its live context (reloaded if a failed transition dropped it)."""
        while True:
            await ctx.lock.acquire()
            if not ctx.evicted:
                return ctx
            ctx.lock.release()
            reloaded = await self._context(*ctx.key)
            if reloaded is None:
                raise NotFoundError(f"workflow run {ctx.key[1]} no longer exists")
            ctx = reloaded

    def _abandon(self, tx: Transition, error: BaseException) -> None:
        """A transition failed: drop the cached state unless nothing had changed yet."""
        # Requests are validated before anything changes, so a rejected one leaves the
        # cached state as it was, unless it got further.
        changed = len(tx.ms.pending_events) > tx.events_before or tx.dirty or tx.new_runs
        if changed or not isinstance(error, ServiceError):
            self._evict(tx.ctx)

    async def settled(self, ctx: RunContext) -> RunContext:
        """The run with no transition in flight, so its state matches what is committed.

        A transition changes the cached state before its commit lands (a completing run
        is already closed while its last events are still being written). Readers that
        pair the state with stored events, or report it as fact, call this first and
        read the state before their next ``await``.
        """
        ctx = await self._lock_live(ctx)
        ctx.lock.release()
        return ctx

    async def create_run(self, ms: MutableState, current: CurrentChange) -> RunContext:
        """Commit a brand-new run (its events are in ``ms.pending_events``)."""
        ctx = RunContext(ms)
        mutation, events = self._mutation(ms, current)
        await self._persist([mutation])
        ctx.history = events
        self._cache[ctx.key] = ctx
        self._trim_cache()
        self._notify(ctx.key)
        self._reconcile(ctx)
        return ctx

    async def _commit(self, tx: Transition) -> None:
        ms = tx.ms
        if not ms.pending_events and not tx.dirty and not tx.new_runs:
            return
        mutation, events = self._mutation(ms, None)
        new_runs = [self._mutation(new, current) for new, current in tx.new_runs]
        tx.ctx.committing = True
        try:
            await self._persist([mutation] + [m for m, _ in new_runs])
        finally:
            tx.ctx.committing = False
        self._remember_events(tx.ctx, events)
        tx.new_run_events = [e for _, e in new_runs]

    async def _persist(self, mutations: list[WorkflowMutation]) -> None:
        try:
            await self.persistence.commit(mutations)
        except ConditionFailedError as error:
            raise UnavailableError(f"concurrent update, please retry: {error}") from error

    def _mutation(self, ms: MutableState, current: CurrentChange | None) -> tuple[WorkflowMutation, list[HistoryEvent]]:
        """The write that commits ``ms`` as it is now, and the events it appends."""
        events = ms.take_pending_events()
        expected = ms.db_version
        ms.db_version += 1
        visibility = None
        if ms.visibility_changed and self.visibility_record is not None:
            visibility = self.visibility_record(ms)
        ms.visibility_changed = False
        batch = None
        if events:
            batch = HistoryBatch(
                first_event_id=events[0].event_id,
                last_event_id=events[-1].event_id,
                data=encode_history(events),
            )
        mutation = WorkflowMutation(
            namespace_id=ms.namespace_id,
            workflow_id=ms.workflow_id,
            run_id=ms.run_id,
            expected_db_version=expected,
            db_version=ms.db_version,
            status=ms.status,
            state=codec.dumps(ms),
            workflow_type=ms.workflow_type,
            task_queue=ms.task_queue,
            start_time=ms.start_time,
            close_time=ms.close_time,
            history=batch,
            current=current,
            status_changed=ms.status != ms.committed_status,
            visibility=visibility,
        )
        ms.committed_status = ms.status
        return mutation, events

    def _remember_events(self, ctx: RunContext, events: list[HistoryEvent]) -> None:
        """Keep an open run's in-memory history in step with what was just committed."""
        if ctx.history is None:
            return
        if not ctx.ms.is_open:
            ctx.history = None  # closed runs are read rarely: their history stays on disk
        elif events:
            ctx.history.extend(events)

    async def read_events(self, ctx: RunContext, first_event_id: int = 1) -> list[HistoryEvent]:
        """The run's committed events from ``first_event_id`` on (event ids are 1, 2, 3...).

        An open run's history is kept in memory once read, so workflow-task polls do not
        go to the database; each commit appends its events to it. A read that overlaps a
        commit is returned but not kept: it may lack that commit's events, or already hold
        them (the commit has landed but not returned), and the commit appends them on return.
        Readers without the run's lock (query tasks, history pages) do overlap commits.
        """
        if ctx.history is not None:
            return ctx.history[first_event_id - 1 :]
        events = await read_events(self.persistence, ctx.ms.namespace_id, ctx.ms.run_id, 1)
        if (
            ctx.ms.is_open
            and ctx.history is None
            and not ctx.committing
            and len(events) == ctx.ms.last_committed_event_id
        ):
            ctx.history = events
        return events[first_event_id - 1 :]

    def _after_commit(self, tx: Transition) -> None:
        self._notify(tx.ctx.key)
        self._reconcile(tx.ctx)
        self._track(tx.ctx)
        for (new, _), events in zip(tx.new_runs, tx.new_run_events, strict=True):
            ctx = RunContext(new, history=events)
            self._cache[ctx.key] = ctx
            self._notify(ctx.key)
            self._reconcile(ctx)
        self._trim_cache()

    # -- watching runs -------------------------------------------------------------------

    def _notify(self, key: RunKey) -> None:
        event = self._watchers.pop(key, None)
        if event is not None:
            event.set()

    def changed(self, key: RunKey) -> asyncio.Event:
        """An event set at the run's next commit (history long polls wait on it)."""
        event = self._watchers.get(key)
        if event is None:
            event = self._watchers[key] = asyncio.Event()
        return event

    # -- effects derived from state ------------------------------------------------------

    def _reconcile(self, ctx: RunContext) -> None:
        ctx.wanted = set()
        ctx.wanted_deadlines = set()
        for reconciler in self.reconcilers:
            reconciler(self, ctx)
        # Reconcilers name every pending task and deadline each time: forget tasks no longer
        # pending, and cancel deadlines no longer due (a completed task's timeout, every
        # deadline of a closed run), which would otherwise fire, load the run and find nothing.
        ctx.dispatched &= ctx.wanted
        if len(ctx.deadlines) > len(ctx.wanted_deadlines):
            for deadline in [d for d in ctx.deadlines if d not in ctx.wanted_deadlines]:
                self.timers.cancel(ctx.deadlines.pop(deadline))

    def dispatch(self, ctx: RunContext, queue: str, task_type: TaskType, task: TaskRef) -> None:
        """Hand a task to matching once per (entity, attempt)."""
        tag = (task_type.name, queue, task.scheduled_event_id, task.attempt)
        ctx.wanted.add(tag)
        if tag in ctx.dispatched:
            return
        ctx.dispatched.add(tag)
        self.matching.add(ctx.ms.namespace_id, queue, task_type, task)

    def schedule_deadline(self, ctx: RunContext, deadline: Deadline) -> None:
        """Arm ``deadline`` for the run (reconcilers call this for every deadline still due)."""
        ctx.wanted_deadlines.add(deadline)
        if deadline not in ctx.deadlines:
            ctx.deadlines[deadline] = self.timers.add(deadline)

    def run_cross_run_work(self, ctx: RunContext, tag: str, work: CrossRunWork) -> None:
        """Start ``work`` for this run unless the same tag is already running."""
        if tag in ctx.in_flight:
            return
        ctx.in_flight.add(tag)

        async def run() -> None:
            try:
                await work(self, ctx)
            finally:
                ctx.in_flight.discard(tag)

        self.spawn(run(), name=f"{tag}:{ctx.ms.run_id}")

    async def _on_deadline(self, deadline: Deadline) -> None:
        ctx = await self._context(deadline.namespace_id, deadline.run_id)
        if ctx is None:
            return  # the run was deleted: nothing is due for it
        ctx.deadlines.pop(deadline, None)
        if not ctx.ms.is_open:
            return
        handler = self.deadline_handlers.get(deadline.kind)
        if handler is None:
            logger.error("no handler for deadline kind %s", deadline.kind)
            return
        await handler(self, deadline)

    @staticmethod
    def now() -> float:
        return time.time()
