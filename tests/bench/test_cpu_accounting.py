"""The benchmark reads a server's CPU time from its process CPU clock, to the nanosecond.

/proc counts CPU time in clock ticks (10 ms); a quick phase costs Gnomon about 50 ms, so
ticks alone put a fifth of error on its CPU per workflow.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from bench.servers import cpu_seconds

# Burns CPU until its own CPU clock passes 0.123 s, reports the clock, then idles.
BURNER = textwrap.dedent(
    """
    import sys, time
    while time.process_time() < 0.123:
        pass
    print(repr(time.process_time()), flush=True)
    sys.stdin.readline()
    """
)


def test_cpu_seconds_matches_the_process_own_clock() -> None:
    proc = subprocess.Popen([sys.executable, "-c", BURNER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        reported = float(proc.stdout.readline())
        measured = cpu_seconds(proc.pid)
    finally:
        proc.communicate("\n", timeout=10)
    # The same kernel clock read from outside, a moment later, while the process idles:
    # never less than what it reported, and not a clock tick more.
    assert reported <= measured < reported + 0.005
