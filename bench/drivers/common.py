"""What both drivers share: their command line, the closed loop, and the result protocol.

A driver process runs a *session* (a worker polling one task queue plus a starter) and
drives it in a closed loop: ``concurrency`` workflows in flight, a new one started as
soon as one completes, until ``workflows`` have completed. It first runs a few warm-up
workflows (connections, caches, the SDK's sandbox), then, with ``--wait-for-go``, prints
``BENCH {"ready": true}`` and waits for a ``go`` line on stdin, so the orchestrator can
read the server's CPU counters right before the measured phase. At the end it prints one
``BENCH {...}`` line: every workflow's start and completion time (``time.monotonic()``,
which is the same clock in every process of the machine), its own CPU time and errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from bench.workloads import WORKLOADS, Workload

#: Prefix of the lines a driver prints for the orchestrator (anything else is noise).
LINE_PREFIX = "BENCH "
#: A workflow that has not completed after this long counts as an error, not a hang.
WORKFLOW_TIMEOUT_S = 120.0
MAX_REPORTED_ERRORS = 5


class Session(Protocol):
    """A started worker plus a starter: runs one workflow to completion per call."""

    async def execute(self, workflow_id: str) -> None:
        """Start the workflow (and signal it, if the workload wants that); return once it completed."""
        ...


@dataclass
class DriverConfig:
    """A driver process's command line."""

    address: str
    workload: Workload
    concurrency: int
    workflows: int
    warmup: int
    task_queue: str
    id_prefix: str
    wait_for_go: bool


def parse_args(description: str, argv: list[str] | None = None) -> DriverConfig:
    """Parse the command line every driver accepts."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--address", required=True, help="server host:port")
    parser.add_argument("--workload", required=True, choices=sorted(WORKLOADS))
    parser.add_argument("--concurrency", type=int, default=10, help="workflows in flight")
    parser.add_argument("--workflows", type=int, default=100, help="workflows to complete in the measured phase")
    parser.add_argument("--warmup", type=int, default=5, help="workflows to complete before measuring")
    parser.add_argument("--task-queue", default="", help="task queue (default: a fresh one)")
    parser.add_argument("--id-prefix", default="", help="workflow ids are PREFIX-0000000, ... (default: fresh)")
    parser.add_argument("--wait-for-go", action="store_true", help="handshake with the orchestrator (see module doc)")
    args = parser.parse_args(argv)
    unique = f"{args.workload}-{time.time_ns():x}"
    return DriverConfig(
        address=args.address,
        workload=WORKLOADS[args.workload],
        concurrency=max(1, args.concurrency),
        workflows=args.workflows,
        warmup=args.warmup,
        task_queue=args.task_queue or f"bench-{unique}",
        id_prefix=args.id_prefix or f"bench-{unique}",
        wait_for_go=args.wait_for_go,
    )


def workflow_id(prefix: str, index: int) -> str:
    """The id of the ``index``-th workflow; fixed width, which bench/seed.py relies on."""
    return f"{prefix}-{index:07d}"


@dataclass
class LoopOutcome:
    """What a closed loop observed."""

    samples: list[tuple[float, float]] = field(default_factory=list)  # (started, completed), monotonic
    errors: list[str] = field(default_factory=list)
    error_count: int = 0


async def closed_loop(execute: Callable[[int], Awaitable[None]], *, workflows: int, concurrency: int) -> LoopOutcome:
    """Call ``execute(0..workflows-1)`` with ``concurrency`` calls in flight; time each."""
    outcome = LoopOutcome()
    indices = iter(range(workflows))

    async def lane() -> None:
        for index in indices:  # lanes share the iterator: each index is taken once
            started = time.monotonic()
            try:
                await asyncio.wait_for(execute(index), WORKFLOW_TIMEOUT_S)
            except Exception as error:  # noqa: BLE001 - counted and reported, the loop goes on
                outcome.error_count += 1
                if len(outcome.errors) < MAX_REPORTED_ERRORS:
                    outcome.errors.append(f"{type(error).__name__}: {error}")
                continue
            outcome.samples.append((started, time.monotonic()))

    await asyncio.gather(*(lane() for _ in range(min(concurrency, workflows))))
    return outcome


def emit(payload: dict[str, Any]) -> None:
    """Print one protocol line for the orchestrator."""
    sys.stdout.write(LINE_PREFIX + json.dumps(payload, separators=(",", ":")) + "\n")
    sys.stdout.flush()


async def drive(config: DriverConfig, session: Session) -> None:
    """Warm up, hand-shake, run the measured closed loop and print the result line."""
    warm = await closed_loop(
        lambda i: session.execute(workflow_id(config.id_prefix + "-w", i)),
        workflows=config.warmup,
        concurrency=config.concurrency,
    )
    if warm.error_count:
        # Warm-up runs the very workload to be measured: if it fails, so would the phase.
        raise RuntimeError(f"{warm.error_count} warm-up workflows failed: {warm.errors}")
    if config.wait_for_go:
        emit({"ready": True})
        line = await asyncio.to_thread(sys.stdin.readline)
        if line.strip() != "go":
            raise SystemExit("orchestrator went away before go")
    cpu_before, wall_before = time.process_time(), time.monotonic()
    outcome = await closed_loop(
        lambda i: session.execute(workflow_id(config.id_prefix, i)),
        workflows=config.workflows,
        concurrency=config.concurrency,
    )
    emit(
        {
            "samples": [[round(s, 6), round(e, 6)] for s, e in outcome.samples],
            "driver_cpu_s": time.process_time() - cpu_before,
            "wall_s": time.monotonic() - wall_before,
            "error_count": outcome.error_count,
            "errors": outcome.errors,
            "task_queue": config.task_queue,
            "id_prefix": config.id_prefix,
        }
    )


OpenSession = Callable[[DriverConfig], AbstractAsyncContextManager[Session]]


async def run_workflows(
    open_session: OpenSession,
    address: str,
    workload: Workload,
    *,
    workflows: int,
    concurrency: int,
    id_prefix: str,
    task_queue: str,
) -> LoopOutcome:
    """Run ``workflows`` runs with a driver inside this process (no warm-up, no hand-shake).

    For tools and tests; the runs' ids are ``workflow_id(id_prefix, 0..workflows-1)``.
    """
    config = DriverConfig(
        address=address,
        workload=workload,
        concurrency=concurrency,
        workflows=workflows,
        warmup=0,
        task_queue=task_queue,
        id_prefix=id_prefix,
        wait_for_go=False,
    )
    async with open_session(config) as session:
        return await closed_loop(
            lambda i: session.execute(workflow_id(id_prefix, i)), workflows=workflows, concurrency=concurrency
        )


def main(description: str, open_session: OpenSession) -> None:
    """A driver's entry point: parse arguments, open its session, drive it."""
    config = parse_args(description)

    async def run() -> None:
        async with open_session(config) as session:
            await drive(config, session)

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except Exception:
        traceback.print_exc()
        raise SystemExit(1) from None
    # The result is out. Skip interpreter finalisation: with the SDK's native threads and
    # gRPC's, it now and then dies with "PyGILState_Release: thread state ... must be
    # current", which would turn a finished run into a failed process.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
