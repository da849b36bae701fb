"""Throughput and latency from the drivers' per-workflow (started, completed) samples."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

#: Fewer completions than this before the last start: no window worth measuring.
MIN_COMPLETIONS_IN_WINDOW = 20


@dataclass(frozen=True)
class Summary:
    """One measured phase, from the clients' point of view."""

    workflows: int
    throughput_wf_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (0.0 for none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def closed_loop_throughput(samples: Sequence[tuple[float, float]]) -> float:
    """Completions per second while the loop kept its full concurrency in flight.

    In a closed loop every completion starts the next workflow, so until the last start
    there are ``concurrency`` runs in flight; afterwards the loop drains, with fewer and
    fewer, which would understate the rate. So: completions up to the last start, over
    the time from the first start to the last. (The first completions need not be cut:
    each lane's first cycle is as long as any other.) When the phase is too short to have
    such a window (about as many workflows as the concurrency), it is all completions
    over the whole phase.
    """
    if not samples:
        return 0.0
    first_start = min(start for start, _ in samples)
    last_start = max(start for start, _ in samples)
    in_window = sum(1 for _, end in samples if end <= last_start)
    if in_window >= MIN_COMPLETIONS_IN_WINDOW and last_start > first_start:
        return in_window / (last_start - first_start)
    elapsed = max(end for _, end in samples) - first_start
    return len(samples) / elapsed if elapsed > 0 else 0.0


def summarize(samples: Sequence[tuple[float, float]]) -> Summary:
    """Throughput at full concurrency; start-to-result latency percentiles over every workflow."""
    latencies = sorted((end - start) * 1000.0 for start, end in samples)
    return Summary(
        workflows=len(samples),
        throughput_wf_s=closed_loop_throughput(samples),
        p50_ms=percentile(latencies, 0.50),
        p95_ms=percentile(latencies, 0.95),
        p99_ms=percentile(latencies, 0.99),
    )
