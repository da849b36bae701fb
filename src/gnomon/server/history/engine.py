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
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from temporalio.api.common.v1 import SearchAttributes
from temporalio.api.history.v1 import History

from gnomon.server import codec
from gnomon.server.errors import NotFoundError, ServiceError, UnavailableError
from gnomon.server.history.mutable_state import MutableState
from gnomon.server.matching import MatchingService, TaskRef, TaskType
from gnomon.server.namespaces import NamespaceRegistry
from gnomon.server.persistence import ConditionFailedError, HistoryBatch, Persistence, WorkflowMutation
from gnomon.server.persistence.interface import CurrentChange, VisibilityRecord
from gnomon.server.timers import Deadline, TimerQueue

logger = logging.getLogger(__name__)

RunKey = tuple[str, str]  # (namespace id, run id)
CACHE_SIZE = 10_000


@dataclass
class RunContext:
    """A cached run: its state, its lock and what has been derived from it in memory."""

    ms: MutableState
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    evicted: bool = False
    dispatched: set[tuple[str, str, int, int]] = field(default_factory=set)
    wanted: set[tuple[str, str, int, int]] = field(default_factory=set)
    deadlines: set[Deadline] = field(default_factory=set)
    in_flight: set[str] = field(default_factory=set)
    # In-flight workflow updates (update_registry.PendingUpdate by id); memory only.
    updates: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> RunKey:
        return (self.ms.namespace_id, self.ms.run_id)


@dataclass
class Transition:
    """The state change being built under a run's lock."""

    ctx: RunContext
    new_runs: list[tuple[MutableState, CurrentChange | None]] = field(default_factory=list)
    dirty: bool = False  # state changed without new events

    @property
    def ms(self) -> MutableState:
        return self.ctx.ms


CrossRunWork = Callable[["HistoryEngine", RunContext], Awaitable[None]]


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
        self._cache: OrderedDict[RunKey, RunContext] = OrderedDict()
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
            self._cache.move_to_end(key)
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
        """Drop the least recently used closed runs once the cache is over its size.

        Open runs stay: their deadlines and tasks are tracked through the cached context.
        """
        excess = len(self._cache) - CACHE_SIZE
        if excess <= 0:
            return
        excess += CACHE_SIZE // 10  # evict in chunks so the scan is rare
        idle = [key for key, ctx in self._cache.items() if not ctx.ms.is_open and not ctx.lock.locked()]
        for key in idle[:excess]:
            del self._cache[key]

    def _evict(self, ctx: RunContext) -> None:
        ctx.evicted = True
        if self._cache.get(ctx.key) is ctx:
            del self._cache[ctx.key]

    def forget(self, ctx: RunContext) -> None:
        """Drop a deleted run from memory."""
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

    @asynccontextmanager
    async def transition(self, ctx: RunContext) -> AsyncIterator[Transition]:
        """Lock the run, let the caller change it, commit, then derive the effects."""
        while True:
            async with ctx.lock:
                if ctx.evicted:
                    reloaded = await self._context(*ctx.key)
                    if reloaded is None:
                        raise NotFoundError(f"workflow run {ctx.key[1]} no longer exists")
                    ctx = reloaded
                    continue
                tx = Transition(ctx)
                try:
                    yield tx
                    await self._commit(tx)
                except ServiceError:
                    # Requests are validated before anything changes, so a rejected one
                    # leaves the cached state as committed, unless it got further.
                    if tx.ms.pending_events or tx.dirty or tx.new_runs:
                        self._evict(ctx)
                    raise
                except BaseException:
                    self._evict(ctx)
                    raise
                self._after_commit(tx)
                return

    async def create_run(self, ms: MutableState, current: CurrentChange) -> RunContext:
        """Commit a brand-new run (its events are in ``ms.pending_events``)."""
        ctx = RunContext(ms)
        mutation = self._mutation(ms, current)
        await self._persist([mutation])
        self._cache[ctx.key] = ctx
        self._trim_cache()
        self._notify(ctx.key)
        self._reconcile(ctx)
        return ctx

    async def _commit(self, tx: Transition) -> None:
        ms = tx.ms
        if not ms.pending_events and not tx.dirty and not tx.new_runs:
            return
        mutations = [self._mutation(ms, None)]
        mutations += [self._mutation(new, current) for new, current in tx.new_runs]
        await self._persist(mutations)

    async def _persist(self, mutations: list[WorkflowMutation]) -> None:
        try:
            await self.persistence.commit(mutations)
        except ConditionFailedError as error:
            raise UnavailableError(f"concurrent update, please retry: {error}") from error

    def _mutation(self, ms: MutableState, current: CurrentChange | None) -> WorkflowMutation:
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
                data=History(events=events).SerializeToString(),
            )
        return WorkflowMutation(
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
            visibility=visibility,
        )

    def _after_commit(self, tx: Transition) -> None:
        self._notify(tx.ctx.key)
        self._reconcile(tx.ctx)
        for new, _ in tx.new_runs:
            ctx = RunContext(new)
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
        for reconciler in self.reconcilers:
            reconciler(self, ctx)
        # Reconcilers name every pending task each time: forget tasks no longer pending.
        ctx.dispatched &= ctx.wanted

    def dispatch(self, ctx: RunContext, queue: str, task_type: TaskType, task: TaskRef) -> None:
        """Hand a task to matching once per (entity, attempt)."""
        tag = (task_type.name, queue, task.scheduled_event_id, task.attempt)
        ctx.wanted.add(tag)
        if tag in ctx.dispatched:
            return
        ctx.dispatched.add(tag)
        self.matching.add(ctx.ms.namespace_id, queue, task_type, task)

    def schedule_deadline(self, ctx: RunContext, deadline: Deadline) -> None:
        if deadline not in ctx.deadlines:
            ctx.deadlines.add(deadline)
            self.timers.add(deadline)

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
        ctx.deadlines.discard(deadline)
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
