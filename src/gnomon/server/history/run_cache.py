"""The runs held in memory: least recently used first, bounded by an estimate of their bytes.

Any run may leave memory, open or closed, unless something only memory holds would be lost
with it: a transition in progress (its lock is held), a change not yet written (handing out
a task is written with the run's next change), updates waiting to be accepted, or cross-run
work under way. A run that left is read back from the database when next needed; its tasks
stay in matching and its deadlines in the timer queue, both small, both re-derived when it
is loaded (and ignored if stale).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gnomon.server.history.engine import RunContext, RunKey

# A decoded state takes several times the bytes of its encoding (Python objects, protobuf
# messages); history events decoded in memory about twice their encoded size. Estimates: the
# bound is on what can be counted cheaply, and it is checked against RSS by the benchmark.
STATE_FACTOR = 6
HISTORY_FACTOR = 3
OVERHEAD = 2048


def estimate(state_bytes: int, history_bytes: int) -> int:
    """The memory one cached run is counted at."""
    return OVERHEAD + STATE_FACTOR * state_bytes + HISTORY_FACTOR * history_bytes


class RunCache:
    """Cached runs by key, with their size estimates, evicted least recently used first."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._runs: OrderedDict[RunKey, RunContext] = OrderedDict()

    def __len__(self) -> int:
        return len(self._runs)

    def get(self, key: RunKey) -> RunContext | None:
        """The cached run (now the most recently used), or None."""
        ctx = self._runs.get(key)
        if ctx is not None:
            self._runs.move_to_end(key)
        return ctx

    def put(self, ctx: RunContext) -> None:
        """Cache ``ctx`` (replacing any cached run of its key) as the most recently used."""
        old = self._runs.pop(ctx.key, None)
        if old is not None:
            self.bytes -= old.size
            if old is not ctx:
                old.evicted = True  # a copy loaded meanwhile: its holders reload the run
        self._runs[ctx.key] = ctx
        self.bytes += ctx.size

    def resize(self, ctx: RunContext, size: int) -> None:
        """The run's size estimate changed (a commit, a history read)."""
        if self._runs.get(ctx.key) is ctx:
            self.bytes += size - ctx.size
        ctx.size = size

    def remove(self, ctx: RunContext) -> None:
        if self._runs.get(ctx.key) is ctx:
            del self._runs[ctx.key]
            self.bytes -= ctx.size

    def runs(self) -> list[RunContext]:
        return list(self._runs.values())

    def over_budget(self) -> list[RunContext]:
        """Runs to evict, least recently used first, until the estimate fits.

        Pinned runs are skipped, and so is the most recently used one: whoever just used it
        may use it again at once (and would otherwise read it back, in a loop, under a tiny bound).
        """
        excess = self.bytes - self.max_bytes
        chosen: list[RunContext] = []
        if excess <= 0:
            return chosen
        newest = next(reversed(self._runs))
        for ctx in self._runs.values():
            if ctx is not newest and not ctx.pinned:
                chosen.append(ctx)
                excess -= ctx.size
                if excess <= 0:
                    break
        return chosen
