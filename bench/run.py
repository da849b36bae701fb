"""Benchmark Gnomon against the reference Temporal dev server, on this machine.

One invocation runs the same phases (driver x workload x concurrency) against, one after
another: Gnomon on a SQLite file (fsync at every commit, its default), ``temporal server
start-dev`` on a SQLite file, and ``temporal server start-dev`` in memory. Drivers run in
their own processes. The servers take turns per driver and workload, each started afresh
for its turn, so that the phases a ratio compares ran minutes apart, not a whole run apart:
a shared VM's speed drifts by tens of percent within half an hour. It prints a table with
Gnomon's ratios to each reference and writes every measurement as JSON. With
``--seed-runs N`` it also measures Gnomon on a database already holding N completed runs
(see bench/seed.py), against the empty one.

    python bench/run.py --quick --json /tmp/bench.json     # about 3 minutes
    python bench/run.py --json /tmp/bench.json             # everything, with 1,000,000 seeded runs
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: import from the repository, not from bench/
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench import report  # noqa: E402
from bench.phase import DRIVERS, PhaseSpec, run_phase  # noqa: E402
from bench.seed import seed  # noqa: E402
from bench.servers import GNOMON, SERVER_KINDS, launch  # noqa: E402
from bench.workloads import WORKLOADS  # noqa: E402
from tests.support.servers import temporal_binary  # noqa: E402

CONCURRENCY = (10, 100)
# Workflows per phase of a full run, at concurrency 10 and 100: ten_activities does ten
# times the work of one_activity, and a timer run lasts a second however fast the server.
FULL_WORKFLOWS: dict[str, tuple[int, int]] = {
    "one_activity": (500, 2000),
    "ten_activities": (50, 200),
    "timer": (50, 500),
    "signal": (500, 2000),
    "child": (100, 500),
}
# A --quick run: one_activity with both drivers at both levels, every other workload once
# with the raw driver, counts small enough for all three servers in about 3 minutes on a
# 2-core machine (the reference spends 20-200 ms of CPU per workflow there).
QUICK_PHASES: list[tuple[str, str, int, int]] = [
    ("raw", "one_activity", 10, 50),
    ("raw", "one_activity", 100, 200),
    ("raw", "ten_activities", 10, 20),
    ("raw", "timer", 10, 20),
    ("raw", "signal", 10, 50),
    ("raw", "child", 10, 30),
    ("sdk", "one_activity", 10, 50),
    ("sdk", "one_activity", 100, 150),
]
FULL_SEED_RUNS = 1_000_000
# The seeded comparison runs its phases with this many times the workflows: at Gnomon's
# speed a 500-workflow phase lasts under two seconds, and pairs of phases that short, on an
# empty database both, differed by up to 20% (more than the effect being measured).
GROWTH_SCALE = 4
# ...and alternates between the two databases this many times (empty, seeded, empty, seeded),
# comparing the means: the VM's speed drifts by tens of percent within minutes.
GROWTH_ROUNDS = 2


@dataclass(frozen=True)
class Plan:
    """Which phases to run, on which servers."""

    servers: list[str]
    phases: list[PhaseSpec]
    seed_runs: int
    seed_db: Path | None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the short plan (QUICK_PHASES), no seeding")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--servers", default=",".join(SERVER_KINDS), help="comma list of " + ", ".join(SERVER_KINDS))
    parser.add_argument("--drivers", default=None, help="comma list of raw, sdk (default: both)")
    parser.add_argument("--workloads", default=None, help="comma list of " + ", ".join(WORKLOADS))
    parser.add_argument("--concurrency", help="comma list of levels (default: 10,100; with --quick: a filter)")
    parser.add_argument("--workflows", type=int, help="workflows per phase (default: per workload and level)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the default workflow counts")
    parser.add_argument("--raw-processes", type=int, default=1, help="raw driver processes per phase")
    parser.add_argument("--sdk-processes", type=int, default=1, help="SDK driver (worker+starter) processes per phase")
    parser.add_argument("--warmup", type=int, default=5, help="warm-up workflows per driver process")
    parser.add_argument("--seed-runs", type=int, help=f"also run Gnomon on a database holding this many completed "
                        f"runs (default {FULL_SEED_RUNS:,}; 0 with --quick)")  # fmt: skip
    parser.add_argument("--seed-db", type=Path, help="seeded database to reuse (created there if missing)")
    parser.add_argument("--workdir", type=Path, help="where databases and logs go (default: a new temp dir)")
    return parser.parse_args(argv)


def _csv(value: str | None) -> list[str] | None:
    return [item.strip() for item in value.split(",") if item.strip()] if value else None


def build_plan(args: argparse.Namespace) -> Plan:
    """The phases the arguments ask for: the quick or the full plan, filtered and rescaled."""
    servers = _csv(args.servers) or list(SERVER_KINDS)
    _check("servers", servers, SERVER_KINDS)
    drivers = _csv(args.drivers) or list(DRIVERS)
    _check("drivers", drivers, DRIVERS)
    workloads = _csv(args.workloads) or list(WORKLOADS)
    _check("workloads", workloads, WORKLOADS)
    levels = [int(c) for c in _csv(args.concurrency) or []]
    if args.quick:
        candidates = [p for p in QUICK_PHASES if not levels or p[2] in levels]
    else:
        candidates = [
            (driver, workload, concurrency, FULL_WORKFLOWS[workload][min(i, 1)])
            for driver in DRIVERS
            for workload in WORKLOADS
            for i, concurrency in enumerate(levels or CONCURRENCY)
        ]
    phases = [
        PhaseSpec(
            driver=driver,
            workload=workload,
            concurrency=concurrency,
            workflows=args.workflows or max(concurrency, int(workflows * args.scale)),
            processes=args.raw_processes if driver == "raw" else args.sdk_processes,
            warmup=args.warmup,
        )
        for driver, workload, concurrency, workflows in candidates
        if driver in drivers and workload in workloads
    ]
    seed_runs = args.seed_runs if args.seed_runs is not None else (0 if args.quick else FULL_SEED_RUNS)
    return Plan(servers=servers, phases=phases, seed_runs=seed_runs, seed_db=args.seed_db)


def _check(what: str, given: list[str], known: Sequence[str] | dict[str, Any]) -> None:
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise SystemExit(f"unknown {what}: {unknown}; expected some of {sorted(known)}")


def turns(phases: list[PhaseSpec]) -> list[tuple[str, list[PhaseSpec]]]:
    """The phases grouped by driver and workload, in plan order: each group is one turn per server."""
    groups: dict[str, list[PhaseSpec]] = {}
    for spec in phases:
        groups.setdefault(f"{spec.driver}-{spec.workload}", []).append(spec)
    return list(groups.items())


def run_server(kind: str, phases: list[PhaseSpec], workdir: Path, *, db: Path | None = None) -> list[dict[str, Any]]:
    """Start a server of ``kind``, run every phase against it, stop it."""
    server_dir = workdir / kind
    started = time.monotonic()
    server = launch(kind, server_dir, db_filename=db)
    start_s = time.monotonic() - started  # until it accepts connections: recovery included
    print(f"== {kind} (pid {server.proc.pid}, up in {start_s:.1f}s)", file=sys.stderr, flush=True)
    results = []
    try:
        for spec in phases:
            result = {"server": kind, **run_phase(server.address, server.proc.pid, spec, server_dir)}
            # Other work on the machine skews a phase: keep the evidence next to the numbers.
            result["load_average_1m"] = os.getloadavg()[0]
            result["server_start_s"] = start_s
            print(
                f"   {spec.driver} {spec.workload} c={spec.concurrency}: {result['throughput_wf_s']:.1f} wf/s,"
                f" p50 {result['p50_ms']:.0f} ms, errors {result['errors']}",
                file=sys.stderr,
                flush=True,
            )
            results.append(result)
    finally:
        server.stop()
    return results


def growth_phases(phases: list[PhaseSpec]) -> list[PhaseSpec]:
    """The phases run on the empty and the seeded database: raw one_activity, lengthened."""
    return [
        replace(p, workflows=p.workflows * GROWTH_SCALE)
        for p in phases
        if p.driver == "raw" and p.workload == "one_activity"
    ]


def run_seeded(plan: Plan, workdir: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Gnomon on a database holding ``plan.seed_runs`` completed runs: the raw one_activity phases.

    Returned with the same phases on an empty database just before each turn (marked
    ``baseline``); each result carries its ``round``.
    """
    phases = growth_phases(plan.phases)
    db = plan.seed_db or workdir / f"seeded-{plan.seed_runs}.db"
    info: dict[str, Any] = {"runs": plan.seed_runs, "db": str(db)}
    if not phases:
        print("== no raw one_activity phase planned: nothing to compare on the seeded database", file=sys.stderr)
        return [], info
    if not db.exists():
        print(f"== seeding {plan.seed_runs:,} completed runs into {db}", file=sys.stderr, flush=True)
        seeded = seed(db, plan.seed_runs)
        info.update(seed_seconds=seeded.seconds, db_bytes=seeded.db_bytes)
    # The empty database is measured again right before each turn on the seeded one, and
    # that is what the seeded phases are compared with: the main run's Gnomon phases are
    # many minutes earlier, and a shared VM's speed drifts by more than the effect measured.
    results: list[dict[str, Any]] = []
    for round_ in range(1, GROWTH_ROUNDS + 1):
        for result in run_server(GNOMON, phases, workdir / f"seeded-baseline-{round_}"):
            results.append({**result, "baseline": True, "round": round_})
        for result in run_server(GNOMON, phases, workdir / "seeded", db=db):
            results.append({**result, "seeded_runs": plan.seed_runs, "round": round_})
    return results, info


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    version = subprocess.run([temporal_binary(), "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "temporal": version,
    }


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    plan = build_plan(args)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="gnomon-bench-"))
    started = time.monotonic()
    before = machine()
    results: list[dict[str, Any]] = []
    for name, phases in turns(plan.phases):
        for kind in plan.servers:
            results += run_server(kind, phases, workdir / name)
    seeding = None
    if plan.seed_runs and GNOMON in plan.servers:
        seeded, seeding = run_seeded(plan, workdir)
        results += seeded
    for result in results:
        result.setdefault("seeded_runs", 0)
    print()
    print(report.format_table(results))
    print(f"load average before: {before['load_average']}, after: {os.getloadavg()}; {before['cpus']} CPUs")
    if args.json:
        document = {
            "machine": {**before, "load_average_after": os.getloadavg()},
            "plan": {"servers": plan.servers, "phases": [vars(p) for p in plan.phases], "seed_runs": plan.seed_runs},
            "seeding": seeding,
            "seconds": time.monotonic() - started,
            "results": results,
            "ratios": report.ratios(results),
            "growth": report.growth(results),
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(document, indent=2) + "\n")
        print(f"wrote {args.json}")
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"took {time.monotonic() - started:.0f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
