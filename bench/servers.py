"""The three servers under test, and what a server process costs while a phase runs.

Servers are launched with the test suite's helpers (``tests/support/servers.py``), so the
benchmark runs exactly the configuration the tests compare against. CPU time is each
process's CPU-time clock (nanoseconds, all threads) plus its reaped children's time from
``/proc/PID/stat``, summed over the process tree, read right before and after a measured
phase, which leaves start-up out. Memory is the sum of
``VmRSS`` over the process tree, sampled by a thread during the phase.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.servers import ServerProcess, start_gnomon, start_reference

GNOMON = "gnomon"
TEMPORAL_FILE = "temporal-file"
TEMPORAL_MEMORY = "temporal-memory"
SERVER_KINDS = (GNOMON, TEMPORAL_FILE, TEMPORAL_MEMORY)

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
RSS_SAMPLE_INTERVAL_S = 0.1


def launch(kind: str, workdir: Path, *, db_filename: Path | None = None) -> ServerProcess:
    """Start a server of ``kind`` with its data (if on file) and log under ``workdir``.

    Gnomon always runs on a file: SQLite in WAL mode with an fsync at every commit, its
    default, which is the configuration it claims durability for.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    if kind == GNOMON:
        return start_gnomon(workdir, db_filename=db_filename or workdir / "gnomon.db")
    if kind == TEMPORAL_FILE:
        return start_reference(workdir, db_filename=db_filename or workdir / "temporal.db")
    if kind == TEMPORAL_MEMORY:
        return start_reference(workdir)
    raise ValueError(f"unknown server kind {kind!r}; expected one of {SERVER_KINDS}")


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its live descendants."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except FileNotFoundError:
            continue
        for tid in tasks:
            try:
                children = Path(f"/proc/{current}/task/{tid}/children").read_text().split()
            except FileNotFoundError:
                continue
            pending += [int(child) for child in children]
    return found


def _process_cpu_clock(pid: int) -> int:
    """Linux's CPU-time clock of a whole process (``clock_getcpuclockid``, which Python lacks).

    It counts every thread, including those that have exited, in nanoseconds; /proc's
    counters are in clock ticks (10 ms), too coarse for a phase that costs the server
    only tens of milliseconds.
    """
    return ((~pid) << 3) | 2  # MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED)


def _cpu_seconds_of(pid: int) -> float:
    """CPU time of one process plus that of its children already reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return 0.0
    # The command name (field 2) may hold spaces: split after its closing parenthesis.
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    try:
        own = time.clock_gettime(_process_cpu_clock(pid))
    except OSError:  # the process is gone, or the clock is not available
        own = (utime + stime) / _CLOCK_TICKS
    return own + (cutime + cstime) / _CLOCK_TICKS


def cpu_seconds(pid: int) -> float:
    """CPU time used so far by the process tree rooted at ``pid``."""
    return sum(_cpu_seconds_of(p) for p in process_tree(pid))


def rss_bytes(pid: int) -> int:
    """Resident memory of the process tree rooted at ``pid`` right now."""
    total = 0
    for p in process_tree(pid):
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except FileNotFoundError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
                break
    return total


@dataclass(frozen=True)
class Usage:
    """What the server spent during one phase."""

    cpu_s: float
    peak_rss_bytes: int
    wall_s: float


class ResourceMonitor:
    """Measures a server's CPU time and peak RSS between :meth:`start` and :meth:`stop`."""

    def __init__(self, pid: int) -> None:
        self._pid = pid
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._peak = 0
        self._cpu_before = 0.0
        self._wall_before = 0.0

    def start(self) -> None:
        self._peak = rss_bytes(self._pid)
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, name="rss-sampler", daemon=True)
        self._thread.start()
        self._wall_before = time.monotonic()
        self._cpu_before = cpu_seconds(self._pid)

    def stop(self) -> Usage:
        cpu = cpu_seconds(self._pid) - self._cpu_before
        wall = time.monotonic() - self._wall_before
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._peak = max(self._peak, rss_bytes(self._pid))
        return Usage(cpu_s=cpu, peak_rss_bytes=self._peak, wall_s=wall)

    def _sample(self) -> None:
        while not self._stop.wait(RSS_SAMPLE_INTERVAL_S):
            self._peak = max(self._peak, rss_bytes(self._pid))
