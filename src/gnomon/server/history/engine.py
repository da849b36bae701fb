"""The history engine: runs loaded on demand, one lock per run, atomic transitions.

A transition runs under the run's lock, mutates the cached :class:`MutableState` in place
and appends events; on leaving :meth:`HistoryEngine.transition` the new state, the events
and any runs created alongside (continue-as-new) are committed in one persistence call.
If anything fails before the commit returns, the cached copy is dropped and the next
access reloads the committed one, so a half-applied change is never observed.

What a run needs from the outside world (tasks handed to matching, deadlines armed in the
timer queue, work on other runs) is derived from its state alone (see :mod:`.wants`):
before each commit, so that the soonest deadline and whether there is work are stored and
indexed beside the state, and applied after it. Runs live in memory only while used: the
cache is bounded by bytes (:mod:`.run_cache`), and a run that left it is read back when a
request, a poller or a deadline needs it, and derived again. Start-up reads no run: the
indexes lead :mod:`.recovery` to the runs with a deadline coming up or work to do.

A transition may be *deferred* (``durable=False``): it changes the cached state and
derives its effects, but is written by the run's next durable commit. Only handing out a
task is deferred (a workflow or activity task marked started): no client was promised
anything by it, and if the server dies first the task is simply scheduled again after the
restart, as if its worker had never polled. That saves a commit, a state encoding and a
disk write on every task. A run with such a change is kept in memory until it is written.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from temporalio.api.common.v1 import SearchAttributes
from temporalio.api.history.v1 import HistoryEvent

from gnomon.server import codec
from gnomon.server.dynamic_config import DynamicConfig
from gnomon.server.errors import NotFoundError, ServiceError, UnavailableError
from gnomon.server.history.events import encode_history, read_events
from gnomon.server.history.mutable_state import MutableState
from gnomon.server.history.run_cache import RunCache, estimate
from gnomon.server.history.wants import CrossRunWork, Wants
from gnomon.server.matching import MatchingService
from gnomon.server.namespaces import NamespaceRegistry
from gnomon.server.persistence import (
    ConditionFailedError,
    DerivedColumns,
    HistoryBatch,
    Persistence,
    WorkflowMutation,
)
from gnomon.server.persistence.interface import CurrentChange, VisibilityRecord
from gnomon.server.timers import Deadline, TimerQueue

logger = logging.getLogger(__name__)

RunKey = tuple[str, str]  # (namespace id, run id)
# The default bound of the run cache's estimate (``gnomon server start --cache-bytes``).
DEFAULT_CACHE_BYTES = 256 * 1024 * 1024

__all__ = ["CrossRunWork", "HistoryEngine", "RunContext", "RunKey", "Transition"]


@dataclass
class RunContext:
    """A cached run: its state, its lock and what only memory holds about it."""

    ms: MutableState
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    evicted: bool = False
    # Tasks handed to matching since this copy was loaded (each once per attempt).
    dispatched: set[tuple[str, str, int, int]] = field(default_factory=set)
    in_flight: set[str] = field(default_factory=set)
    # In-flight workflow updates (update_registry.PendingUpdate by id); memory only.
    updates: dict[str, Any] = field(default_factory=dict)
    # The committed events of an open run, once read (see HistoryEngine.read_events).
    history: list[HistoryEvent] | None = None
    # A commit of this run is being written: its events count as committed in the state,
    # may already be readable in the database, and are not in ``history`` yet.
    committing: bool = False
    # A deferred change (a task handed out) not written yet: the run must stay in memory.
    unsaved: bool = False
    # The derived columns as stored, and the state's encoded size (for the cache estimate).
    stored: DerivedColumns = field(default_factory=lambda: DerivedColumns(None, False))
    state_bytes: int = 0
    size: int = 0

    @property
    def key(self) -> RunKey:
        return (self.ms.namespace_id, self.ms.run_id)

    @property
    def pinned(self) -> bool:
        """Whether leaving memory would lose something only memory holds (see run_cache)."""
        return (
            self.lock.locked()
            or self.unsaved
            or bool(self.updates)
            or bool(self.in_flight)
            or bool(self.ms.pending_events)
        )


@dataclass
class Transition:
    """The state change being built under a run's lock."""

    ctx: RunContext
    new_runs: list[tuple[MutableState, CurrentChange | None]] = field(default_factory=list)
    dirty: bool = False  # state changed without new events
    events_before: int = 0  # events of deferred transitions already pending when this one began
    new_run_events: list[list[HistoryEvent]] = field(default_factory=list)  # set by the commit
    # Callers to answer once the change is committed (an update accepted or completed). They
    # run right after the commit, before the run's effects are derived from its new state, so
    # a run that closes in the same change settles what it did before what it left undone.
    on_commit: list[Callable[[], None]] = field(default_factory=list)
    # What the run (and each new run) wants, as derived for the commit; applied after it.
    wants: Wants | None = None
    new_run_wants: list[Wants] = field(default_factory=list)

    @property
    def ms(self) -> MutableState:
        return self.ctx.ms


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
                elif tx.dirty or len(tx.ms.pending_events) > tx.events_before:
                    tx.ctx.unsaved = True
            except BaseException as failure:
                engine._abandon(tx, failure)
                raise
            engine._after_commit(tx)
        finally:
            tx.ctx.lock.release()
        engine._trim_cache()


class HistoryEngine:
    """Owns every run's mutable state; the only writer of workflow runs."""

    def __init__(
        self,
        persistence: Persistence,
        namespaces: NamespaceRegistry,
        matching: MatchingService,
        config: DynamicConfig | None = None,
        *,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> None:
        self.persistence = persistence
        self.namespaces = namespaces
        self.matching = matching
        self.config = config or DynamicConfig()
        self.timers = TimerQueue(self._on_deadline)
        self._cache = RunCache(cache_bytes)
        self._loading: dict[RunKey, asyncio.Future[RunContext | None]] = {}
        self._watchers: dict[RunKey, asyncio.Event] = {}
        self._workflow_id_locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._background: set[asyncio.Task[None]] = set()
        # Set by the modules that handle deadlines and derive what runs want (see service.py).
        self.deadline_handlers: dict[str, Callable[[HistoryEngine, Deadline], Awaitable[None]]] = {}
        self.derivers: list[Callable[[HistoryEngine, MutableState, Wants], None]] = []
        # Effects of a committed state that are not wants (settling the updates of a closed run).
        self.after_commit_hooks: list[Callable[[HistoryEngine, RunContext], None]] = []
        # Builds a run's visibility row; set by the server, which knows the search attributes.
        self.visibility_record: Callable[[MutableState], VisibilityRecord] | None = None
        # Records each search attribute value's type in its payload (set by the server).
        self.annotate_search_attributes: Callable[[str, SearchAttributes], None] = lambda ns_id, attributes: None
        # Raises InvalidArgumentError for attributes a command may not set (set by the server).
        self.validate_search_attributes: Callable[[str, SearchAttributes, str], None] = lambda ns_id, sa, ns: None
        # Told when a run's cached state is dropped, with what only memory held (waiting updates).
        self.evict_hooks: list[Callable[[RunContext], None]] = []

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Start the timer queue; nothing is loaded (see :mod:`.recovery`, which the service starts)."""
        self.timers.start()

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

    @property
    def cached_runs(self) -> int:
        return len(self._cache)

    @property
    def cached_bytes(self) -> int:
        """The run cache's estimate of the memory its runs take."""
        return self._cache.bytes

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
            return ctx
        loading = self._loading.get(key)
        if loading is not None:
            return await asyncio.shield(loading)
        future: asyncio.Future[RunContext | None] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            record = await self.persistence.get_run(namespace_id, run_id)
            ctx = None
            if record is not None:
                ctx = RunContext(codec.loads(MutableState, record.state), stored=record.derived)
                ctx.state_bytes = len(record.state)
                self._cache.put(ctx)
                self._resize(ctx)
                # Loaded: what it wants goes to matching and the timer queue (deduplicated there).
                # Not trimmed here: the caller is about to use it (trimming follows each use).
                self._apply(ctx, self.derive(ctx.ms))
            future.set_result(ctx)
            return ctx
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # mark retrieved: the caller gets it via raise
            raise
        finally:
            del self._loading[key]

    def _resize(self, ctx: RunContext) -> None:
        history = ctx.ms.history_size_bytes if ctx.history is not None else 0
        self._cache.resize(ctx, estimate(ctx.state_bytes, history))

    def _trim_cache(self) -> None:
        """Evict runs, least recently used first, while the cache's estimate is over its bound."""
        for ctx in self._cache.over_budget():
            self._cache.remove(ctx)
            ctx.evicted = True  # a holder of this copy reloads the run on its next transition

    def _evict(self, ctx: RunContext) -> None:
        """Drop the cached copy because it may differ from what is committed."""
        ctx.evicted = True
        for hook in self.evict_hooks:
            hook(ctx)
        self._cache.remove(ctx)

    def forget(self, ctx: RunContext) -> None:
        """Drop a deleted run from memory, with its deadlines."""
        self.timers.cancel_run(*ctx.key)
        self._evict(ctx)

    def forget_namespace(self, namespace_id: str) -> None:
        """Drop every cached run of a deleted namespace."""
        for ctx in [c for c in self._cache.runs() if c.key[0] == namespace_id]:
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
        """Lock the run, let the caller change it, commit, then apply what it now wants.

        ``durable=False`` defers the commit to the run's next durable transition (see the
        module docstring for when that is allowed).
        """
        return _TransitionScope(self, ctx, durable)

    async def _lock_live(self, ctx: RunContext) -> RunContext:
        """Take the run's lock on its live context (reloaded if it left memory meanwhile)."""
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
        self._trim_cache()
        return ctx

    async def refresh(self, ctx: RunContext) -> None:
        """Derive and apply what the run wants now, and correct its stored columns if they are stale.

        For runs found through the indexes (see :mod:`.recovery`): one stored before the
        columns existed, or whose columns no longer match its state (a deadline past, say),
        gets them written, so that it is not found again for nothing.
        """
        ctx = await self._lock_live(ctx)
        try:
            wants = self.derive(ctx.ms)
            self._apply(ctx, wants)
            columns = wants.columns
            if columns != ctx.stored and not ctx.unsaved and not ctx.ms.pending_events:
                await self.persistence.set_derived(ctx.ms.namespace_id, ctx.ms.run_id, ctx.ms.db_version, columns)
                ctx.stored = columns
        finally:
            ctx.lock.release()
        self._trim_cache()

    async def create_run(self, ms: MutableState, current: CurrentChange) -> RunContext:
        """Commit a brand-new run (its events are in ``ms.pending_events``)."""
        ctx = RunContext(ms)
        mutation, events, wants = self._mutation(ms, current)
        # Cached, and locked, before its row is visible: a lookup meanwhile finds this copy
        # and waits for the commit, instead of loading a second one.
        await ctx.lock.acquire()
        self._cache.put(ctx)
        try:
            await self._persist([mutation])
        except BaseException:
            self._evict(ctx)
            raise
        finally:
            ctx.lock.release()
        ctx.history = events
        self._stored(ctx, mutation)
        self._resize(ctx)
        self._notify(ctx.key)
        self._apply(ctx, wants)
        return ctx

    async def _commit(self, tx: Transition) -> None:
        ms = tx.ms
        if not ms.pending_events and not tx.dirty and not tx.new_runs:
            return
        mutation, events, tx.wants = self._mutation(ms, None)
        new_runs = [self._mutation(new, current) for new, current in tx.new_runs]
        tx.ctx.committing = True
        try:
            await self._persist([mutation] + [m for m, _, _ in new_runs])
        finally:
            tx.ctx.committing = False
        self._stored(tx.ctx, mutation)
        self._remember_events(tx.ctx, events)
        tx.new_run_events = [e for _, e, _ in new_runs]
        tx.new_run_wants = [w for _, _, w in new_runs]

    @staticmethod
    def _stored(ctx: RunContext, mutation: WorkflowMutation) -> None:
        """The run is now as committed: no change left unsaved, columns as written."""
        ctx.unsaved = False
        ctx.stored = mutation.derived
        ctx.state_bytes = len(mutation.state)

    async def _persist(self, mutations: list[WorkflowMutation]) -> None:
        try:
            await self.persistence.commit(mutations)
        except ConditionFailedError as error:
            raise UnavailableError(f"concurrent update, please retry: {error}") from error

    def _mutation(
        self, ms: MutableState, current: CurrentChange | None
    ) -> tuple[WorkflowMutation, list[HistoryEvent], Wants]:
        """The write that commits ``ms`` as it is now, the events it appends, and what ``ms`` wants."""
        wants = self.derive(ms)
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
            derived=wants.columns,
        )
        ms.committed_status = ms.status
        return mutation, events, wants

    def _remember_events(self, ctx: RunContext, events: list[HistoryEvent]) -> None:
        """Keep an open run's in-memory history in step with what was just committed."""
        if ctx.history is None:
            return
        if not ctx.ms.is_open:
            ctx.history = None  # closed runs are read rarely: their history stays on disk
        elif events:
            ctx.history.extend(events)
        self._resize(ctx)

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
            self._resize(ctx)
        return events[first_event_id - 1 :]

    def _after_commit(self, tx: Transition) -> None:
        for settle in tx.on_commit:
            settle()
        ctx = tx.ctx
        self._notify(ctx.key)
        # A deferred change was not derived for a commit: derive it now.
        self._apply(ctx, tx.wants if tx.wants is not None else self.derive(ctx.ms))
        for hook in self.after_commit_hooks:
            hook(self, ctx)
        for (new, _), events, wants in zip(tx.new_runs, tx.new_run_events, tx.new_run_wants, strict=True):
            new_ctx = RunContext(new, history=events, stored=wants.columns)
            self._cache.put(new_ctx)
            self._resize(new_ctx)
            self._notify(new_ctx.key)
            self._apply(new_ctx, wants)

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

    # -- what runs want from the world -----------------------------------------------------

    def derive(self, ms: MutableState) -> Wants:
        """What the state calls for (pure: nothing is handed out or armed)."""
        wants = Wants()
        for derive in self.derivers:
            derive(self, ms, wants)
        return wants

    def _apply(self, ctx: RunContext, wants: Wants) -> None:
        """Make the world match ``wants``: hand out new tasks, arm and cancel deadlines, start work.

        Tasks are handed to matching once per attempt by this copy of the run (and matching
        ignores one it already holds); deadlines past the timer queue's horizon are not armed
        (the stored next deadline brings the run back in time); armed deadlines the run no
        longer wants (a completed task's timeout, any deadline of a closed run) are cancelled,
        or they would fire, load the run and find nothing to do.
        """
        tags = set()
        for queue, task_type, task in wants.tasks:
            tag = (task_type.name, queue, task.scheduled_event_id, task.attempt)
            tags.add(tag)
            if tag not in ctx.dispatched:
                ctx.dispatched.add(tag)
                self.matching.add(ctx.ms.namespace_id, queue, task_type, task)
        ctx.dispatched &= tags
        timers = self.timers
        wanted = set(wants.deadlines)
        for deadline in timers.armed_for(*ctx.key) - wanted:
            timers.cancel(deadline)
        horizon = timers.horizon
        for deadline in wanted:
            if deadline.when <= horizon:
                timers.add(deadline)
        for work_tag, work in wants.work:
            self.run_cross_run_work(ctx, work_tag, work)

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
        handler = self.deadline_handlers.get(deadline.kind)
        if handler is None:
            logger.error("no handler for deadline kind %s", deadline.kind)
            return
        if ctx.ms.is_open or deadline.kind == WAKE:
            await handler(self, deadline)

    @staticmethod
    def now() -> float:
        return time.time()


# The deadline that brings a run found through the stored next-deadline index back into
# memory, where its own deadlines are derived and armed (see recovery.py).
WAKE = "wake"
