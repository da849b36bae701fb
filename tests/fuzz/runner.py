"""The fuzz loop: batches of mutants over a few connections, a health check and fresh tokens between batches.

Request ``i`` of a run with seed ``s`` is drawn from its own RNG (``mutator.request_rng(s, i)``): which RPC,
which seed request, which mutations. The seeds name real things whose ids differ between runs, so a finding
is reported with the exact bytes sent as well as a minimised one-line reproduction.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc

from tests.fuzz.calls import (
    CHANNEL_OPTIONS,
    PROMPT_DEADLINE,
    WAITING_DEADLINES,
    Answer,
    call,
    deadline_for,
    label,
    problem,
    signature,
)
from tests.fuzz.corpus import Seeds, build_seeds
from tests.fuzz.known import KnownFinding, known
from tests.fuzz.minimize import minimise
from tests.fuzz.mutator import Mutant, mutate, request_rng
from tests.fuzz.proto_mutations import ValuePool
from tests.fuzz.rpcs import Rpc, all_rpcs
from tests.fuzz.world import World

logger = logging.getLogger(__name__)

#: An implemented RPC is drawn this many times as often as one Gnomon answers UNIMPLEMENTED.
IMPLEMENTED_WEIGHT = 4
#: Distinct findings minimised per run (each costs up to minimize.MAX_ATTEMPTS calls).
MAX_MINIMISED = 40
#: Concurrent calls of RPCs that may wait (long polls): they mostly sit idle on the server.
WAITING_SLOTS = 64
RARE_STATUSES = {"UNAVAILABLE", "RESOURCE_EXHAUSTED", "ABORTED", "CANCELLED", "PERMISSION_DENIED", "OUT_OF_RANGE"}


@dataclass
class Finding:
    """A defect: the first request that showed it, how often it recurred, and a reproduction."""

    rpc: str
    kind: str
    details: str
    seed: int
    index: int
    request: bytes
    mutation: str
    known: KnownFinding | None
    count: int = 1
    reproduction: str = ""

    def describe(self) -> str:
        lines = [
            f"{self.rpc}: {self.kind} {self.details[:300]!r} x{self.count}",
            f"  first: seed {self.seed} index {self.index}",
            f"  mutation: {self.mutation[:400]}",
            f"  request bytes: {self.request[:400].hex()}{'...' if len(self.request) > 400 else ''}",
        ]
        if self.reproduction:
            lines.append(f"  minimal: {self.reproduction}")
        if self.known is not None:
            lines.append(f"  known: {self.known.description}")
        return "\n".join(lines)


@dataclass
class FuzzReport:
    """What a run sent and what came back."""

    seed: int
    requests: int = 0
    elapsed: float = 0.0
    batches: int = 0
    health_checks: int = 0
    server_died: bool = False
    health_failure: str = ""
    statuses: Counter[tuple[str, str]] = field(default_factory=Counter)
    findings: dict[str, Finding] = field(default_factory=dict)
    #: The first message of each (RPC, status) answer, for the rarer statuses' table.
    examples: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def new_findings(self) -> list[Finding]:
        return [f for f in self.findings.values() if f.known is None]

    @property
    def known_findings(self) -> list[Finding]:
        return [f for f in self.findings.values() if f.known is not None]

    @property
    def failed(self) -> bool:
        return bool(self.new_findings) or self.server_died or bool(self.health_failure)

    def totals(self) -> Counter[str]:
        totals: Counter[str] = Counter()
        for (_, status), n in self.statuses.items():
            totals[status] += n
        return totals

    def summary(self) -> str:
        """A plain-text table: totals, status distribution, per-RPC codes, findings."""
        rate = self.requests / self.elapsed if self.elapsed else 0.0
        lines = [
            f"seed {self.seed}: {self.requests} requests in {self.elapsed:.0f}s ({rate:.0f}/s), "
            f"{self.batches} batches, {self.health_checks} health checks passed, "
            f"server died: {'yes' if self.server_died else 'no'}, server restarts: 0",
            "",
            f"{'status':<32}{'requests':>10}{'share':>9}",
        ]
        for status, n in self.totals().most_common():
            lines.append(f"{status:<32}{n:>10}{n / max(self.requests, 1):>9.1%}")
        lines += ["", "per RPC (implemented ones; the others answered as listed in the totals):"]
        by_rpc: dict[str, Counter[str]] = {}
        for (rpc, status), n in self.statuses.items():
            by_rpc.setdefault(rpc, Counter())[status] = n
        implemented = {r.name for r in all_rpcs() if r.implemented}
        for rpc in sorted(by_rpc):
            if rpc in implemented:
                codes = ", ".join(f"{s} {n}" for s, n in by_rpc[rpc].most_common())
                lines.append(f"  {rpc:<36} {codes}")
        unimplemented = Counter[str]()
        for rpc, answered in by_rpc.items():
            if rpc not in implemented:
                unimplemented.update(answered)
        lines.append(f"  {'(unimplemented RPCs)':<36} {', '.join(f'{s} {n}' for s, n in unimplemented.most_common())}")
        lines += ["", "a message of each rarer status:"]
        for (rpc, status), message in sorted(self.examples.items()):
            if status in RARE_STATUSES:
                lines.append(f"  {status:<20} {rpc:<36} {message[:150]!r}")
        internal = sum(f.count for f in self.findings.values() if f.kind == "INTERNAL")
        lines += ["", f"INTERNAL answers to parsable requests: {internal}"]
        for title, findings in (("NEW findings", self.new_findings), ("known findings", self.known_findings)):
            lines.append(f"{title}: {len(findings)}")
            lines += [f.describe() for f in findings]
        if self.health_failure:
            lines.append(f"health check failed: {self.health_failure}")
        return "\n".join(lines)


class Fuzzer:
    """Fuzzes one server at ``address``; ``server_alive`` says whether its process still runs."""

    def __init__(
        self,
        address: str,
        seed: int,
        server_alive: Callable[[], bool],
        *,
        connections: int = 4,
        concurrency: int = 24,
        batch_size: int = 500,
    ) -> None:
        self.address = address
        self.seed = seed
        self.server_alive = server_alive
        self.connections = connections
        self.concurrency = concurrency
        self.batch_size = batch_size
        self.rpcs = all_rpcs()
        self.weights = [IMPLEMENTED_WEIGHT if r.implemented else 1 for r in self.rpcs]

    def draw(self, index: int, seeds: Seeds, pool: ValuePool) -> tuple[Rpc, Mutant, float]:
        """Request ``index``: the RPC, the mutant and the deadline (all from the request's own RNG)."""
        rng = request_rng(self.seed, index)
        rpc = rng.choices(self.rpcs, self.weights)[0]
        seed_request = rng.choice(seeds[rpc.name])
        return rpc, mutate(rng, seed_request, pool), deadline_for(rpc, rng)

    async def run(self, requests: int) -> FuzzReport:
        report = FuzzReport(self.seed)
        channels = [grpc.aio.insecure_channel(self.address, options=CHANNEL_OPTIONS) for _ in range(self.connections)]
        world = World(channels[0], self.seed)
        began = time.monotonic()
        try:
            await world.setup()
            # New findings do not stop a run (it collects them all); a dead or sick server does.
            while report.requests < requests and not (report.server_died or report.health_failure):
                first = report.requests
                count = min(self.batch_size, requests - first)
                await self._batch(channels, world, range(first, first + count), report)
                report.requests += count
                report.batches += 1
                if not self.server_alive():
                    report.server_died = True
                    break
                try:
                    await world.check_health(report.batches)
                    report.health_checks += 1
                    await world.refresh()
                except (grpc.aio.AioRpcError, AssertionError, RuntimeError) as error:
                    report.health_failure = f"after batch {report.batches}: {error!r}"[:1000]
                logger.info("fuzz: %d requests, %d findings", report.requests, len(report.findings))
            await self._minimise(channels[-1], report)
        finally:
            report.elapsed = time.monotonic() - began
            await world.close()
            for channel in channels:
                await channel.close()
        return report

    async def _batch(self, channels: list[grpc.aio.Channel], world: World, indices: range, report: FuzzReport) -> None:
        seeds = build_seeds(world)
        pool = world.pool()
        # Calls that may wait out their deadline get slots of their own, or they would starve the others.
        prompt_slots, waiting_slots = asyncio.Semaphore(self.concurrency), asyncio.Semaphore(WAITING_SLOTS)

        async def one(index: int) -> None:
            rpc, mutant, deadline = self.draw(index, seeds, pool)
            if world.would_delete_a_needed_namespace(rpc.name, mutant.data):
                mutant = Mutant(seeds[rpc.name][0].SerializeToString(), "the seed: the mutant would delete `default`")
            async with waiting_slots if rpc.waits else prompt_slots:
                answer = await call(channels[index % len(channels)], rpc, mutant.data, deadline)
            self._record(rpc, index, mutant, answer, report)

        await asyncio.gather(*(one(i) for i in indices))

    def _record(self, rpc: Rpc, index: int, mutant: Mutant, answer: Answer, report: FuzzReport) -> None:
        status = label(rpc, mutant.data, answer)
        report.statuses[(rpc.name, status)] += 1
        report.examples.setdefault((rpc.name, status), answer.details)
        kind = problem(rpc, mutant.data, answer)
        if kind is None:
            return
        key = signature(rpc, kind, answer.details)
        if key in report.findings:
            report.findings[key].count += 1
            return
        logger.warning("fuzz finding: %s %s %r", rpc.name, kind, answer.details[:200])
        report.findings[key] = Finding(
            rpc.name, kind, answer.details, self.seed, index, mutant.data, mutant.description,
            known(rpc.name, kind, answer.details),
        )  # fmt: skip

    async def _minimise(self, channel: grpc.aio.Channel, report: FuzzReport) -> None:
        """A one-line reproduction of each new finding (known ones have theirs in the allow-list)."""
        if report.server_died or not self.server_alive():
            return
        rpcs = {r.name: r for r in self.rpcs}
        for finding in report.new_findings[:MAX_MINIMISED]:
            rpc = rpcs[finding.rpc]
            wanted = signature(rpc, finding.kind, finding.details)

            async def reproduces(data: bytes, rpc: Rpc = rpc, wanted: str = wanted) -> bool:
                answer = await call(channel, rpc, data, max(WAITING_DEADLINES) if rpc.waits else PROMPT_DEADLINE)
                kind = problem(rpc, data, answer)
                return kind is not None and signature(rpc, kind, answer.details) == wanted

            finding.reproduction = await minimise(rpc, finding.request, reproduces)
