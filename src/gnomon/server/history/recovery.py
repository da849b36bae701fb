"""Finding the runs that need something, without reading every run: at start-up and as time passes.

Each run's row stores two columns derived from its state at every commit (see
:mod:`.wants`): its soonest deadline, and whether it has *work* (a task for a worker, or
work on another run). Both are indexed, so:

* the **deadline loader** keeps the timer queue filled with what falls due before its
  horizon (a minute ahead): it moves the horizon forward, then reads the runs whose next
  deadline falls before it and arms a *wake* for each, at that time. A wake loads the run
  and derives its deadlines, which are then due and fire. Deadlines further off stay in
  storage; a run that commits a deadline inside the horizon arms it itself, and the horizon
  moves before each read, so none falls between the two.
* the **work pager** reads, once at start-up, every run with work, in pages, and loads it:
  loading derives and applies what the run wants, so its tasks wait in matching again and
  its work on other runs resumes. That is how everything acknowledged before a crash is
  offered again.

The port opens before either has read anything: start-up costs the same whatever the
database holds.
"""

from __future__ import annotations

import asyncio
import logging
import time

from gnomon.server.history.engine import WAKE, HistoryEngine
from gnomon.server.persistence import RunRef
from gnomon.server.timers import Deadline

logger = logging.getLogger(__name__)

# How far ahead the timer queue holds deadlines, and how often the horizon moves.
WINDOW_SECONDS = 60.0
SCAN_EVERY_SECONDS = 10.0
PAGE_SIZE = 1000


class Recovery:
    """The deadline loader and the start-up work pager of one engine."""

    def __init__(self, engine: HistoryEngine, *, window: float = WINDOW_SECONDS, every: float = SCAN_EVERY_SECONDS):
        self.engine = engine
        self.window = window
        self.every = every
        self.scanned_until = float("-inf")
        # Set when the start-up pass over the runs with work is done (tests and diagnostics).
        self.work_recovered = asyncio.Event()
        self.recovered_runs = 0

    def start(self) -> None:
        self.engine.timers.horizon = time.time() + self.window
        self.engine.spawn(self._load_deadlines(), name="deadline-loader")
        self.engine.spawn(self._recover_work(), name="work-pager")

    async def _load_deadlines(self) -> None:
        while True:
            try:
                await self.load_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("reading the runs with deadlines coming up failed; retrying")
            await asyncio.sleep(self.every)

    async def load_due(self) -> int:
        """Move the horizon forward, then arm a wake for every run due before it; how many."""
        timers = self.engine.timers
        horizon = time.time() + self.window
        timers.horizon = max(timers.horizon, horizon)  # first: see the module docstring
        after = (self.scanned_until, "", "") if self.scanned_until != float("-inf") else None
        found = 0
        while True:
            rows = await self.engine.persistence.runs_due(horizon, after, PAGE_SIZE)
            for when, ref in rows:
                timers.add(Deadline(when, ref.namespace_id, ref.run_id, WAKE, ""))
            found += len(rows)
            if len(rows) < PAGE_SIZE:
                break
            last_when, last = rows[-1]
            after = (last_when, last.namespace_id, last.run_id)
        self.scanned_until = horizon
        return found

    async def _recover_work(self) -> None:
        after: RunRef | None = None
        started = time.monotonic()
        while True:
            refs = await self.engine.persistence.runs_with_work(after, PAGE_SIZE)
            for ref in refs:
                ctx = await self.engine.context_or_none(ref.namespace_id, ref.run_id)
                if ctx is not None:
                    await self.engine.refresh(ctx)
                    self.recovered_runs += 1
            if len(refs) < PAGE_SIZE:
                break
            after = refs[-1]
        self.work_recovered.set()
        logger.info("recovered %d runs with work in %.1fs", self.recovered_runs, time.monotonic() - started)


async def on_wake(engine: HistoryEngine, deadline: Deadline) -> None:
    """A run's stored next deadline is here: load it, and arm what it wants (then due)."""
    ctx = await engine.context_or_none(deadline.namespace_id, deadline.run_id)
    if ctx is not None:
        await engine.refresh(ctx)
