"""One measured phase: driver processes against a running server, and what it cost.

The phase's workflows and concurrency are split over ``processes`` driver processes,
each with its own task queue. All of them warm up and report ready; then the server's CPU
counter is read, every driver is told to go, RSS is sampled until the last one reports,
and the CPU counter is read again. Throughput and latency come from the merged
per-workflow samples (:mod:`bench.stats`).
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.drivers.common import LINE_PREFIX
from bench.servers import ResourceMonitor
from bench.stats import summarize

REPO = Path(__file__).resolve().parent.parent
DRIVERS = ("raw", "sdk")
#: Longest a driver may take to warm up, or to finish once told to go.
READY_TIMEOUT_S = 120.0
FINISH_TIMEOUT_S = 900.0
MB = 1024 * 1024


@dataclass(frozen=True)
class PhaseSpec:
    """What to run: a driver and workload, how many workflows, how many at once."""

    driver: str
    workload: str
    concurrency: int
    workflows: int
    processes: int = 1
    warmup: int = 5


def split(total: int, parts: int) -> list[int]:
    """``total`` spread as evenly as possible over ``parts`` (the first ones get the rest)."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


class DriverProcess:
    """A driver subprocess whose protocol lines are read by a thread, so waits can time out."""

    def __init__(self, args: list[str], log_path: Path) -> None:
        self.log_path = log_path
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen(
                args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, cwd=REPO, env=env, text=True
            )
        self._messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        threading.Thread(target=self._read, name="driver-reader", daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(LINE_PREFIX):
                self._messages.put(json.loads(line[len(LINE_PREFIX) :]))
        self._messages.put(None)  # end of output

    def message(self, timeout: float) -> dict[str, Any]:
        """The next protocol message; RuntimeError if the driver exits or stalls first."""
        try:
            message = self._messages.get(timeout=timeout)
        except queue.Empty:
            raise RuntimeError(f"driver silent for {timeout}s; log: {self.log_path}") from None
        if message is None:
            self.proc.wait()
            tail = self.log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"driver exited with {self.proc.returncode}; log {self.log_path}:\n{tail}")
        return message

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def _driver_args(spec: PhaseSpec, address: str, index: int, concurrency: int, workflows: int) -> list[str]:
    unique = f"{spec.driver}-{spec.workload}-c{spec.concurrency}-{index}-{time.time_ns():x}"
    return [
        sys.executable, "-m", f"bench.drivers.{spec.driver}", "--address", address,
        "--workload", spec.workload, "--concurrency", str(concurrency), "--workflows", str(workflows),
        "--warmup", str(spec.warmup), "--task-queue", f"tq-{unique}", "--id-prefix", f"wf-{unique}",
        "--wait-for-go",
    ]  # fmt: skip


def run_phase(address: str, server_pid: int, spec: PhaseSpec, log_dir: Path) -> dict[str, Any]:
    """Run ``spec`` against the server at ``address`` (process ``server_pid``); return its measurements."""
    if spec.driver not in DRIVERS:
        raise ValueError(f"unknown driver {spec.driver!r}")
    log_dir.mkdir(parents=True, exist_ok=True)
    processes = max(1, min(spec.processes, spec.concurrency))
    shares = zip(split(spec.concurrency, processes), split(spec.workflows, processes), strict=True)
    drivers = [
        DriverProcess(
            _driver_args(spec, address, i, concurrency, workflows),
            log_dir / f"driver-{spec.driver}-{spec.workload}-c{spec.concurrency}-{i}.log",
        )
        for i, (concurrency, workflows) in enumerate(shares)
    ]
    monitor = ResourceMonitor(server_pid)
    try:
        for driver in drivers:
            driver.message(READY_TIMEOUT_S)  # {"ready": true}
        monitor.start()
        for driver in drivers:
            driver.go()
        reports = [driver.message(FINISH_TIMEOUT_S) for driver in drivers]
        usage = monitor.stop()
    finally:
        for driver in drivers:
            driver.close()
    samples = [(start, end) for report in reports for start, end in report["samples"]]
    summary = summarize(samples)
    completed = max(1, summary.workflows)
    driver_cpu = sum(report["driver_cpu_s"] for report in reports)
    return {
        "driver": spec.driver,
        "workload": spec.workload,
        "concurrency": spec.concurrency,
        "workflows": summary.workflows,
        "throughput_wf_s": summary.throughput_wf_s,
        "p50_ms": summary.p50_ms,
        "p95_ms": summary.p95_ms,
        "p99_ms": summary.p99_ms,
        "server_cpu_s_per_wf": usage.cpu_s / completed,
        "server_peak_rss_mb": usage.peak_rss_bytes / MB,
        # Who was the bottleneck: CPU cores each side kept busy over the phase (2 = all).
        "server_cpu_cores": usage.cpu_s / usage.wall_s if usage.wall_s else 0.0,
        "driver_cpu_s_per_wf": driver_cpu / completed,
        "driver_cpu_cores": driver_cpu / usage.wall_s if usage.wall_s else 0.0,
        "driver_processes": len(drivers),
        "wall_s": usage.wall_s,
        "errors": sum(report["error_count"] for report in reports),
        "error_samples": [error for report in reports for error in report["errors"]][:5],
    }
