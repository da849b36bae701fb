"""The benchmark's printed table: every measured phase, then Gnomon against each reference."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench.servers import GNOMON, TEMPORAL_FILE, TEMPORAL_MEMORY

Result = dict[str, Any]

# (JSON key, column header, format); ratios are taken of every one of these metrics.
METRICS: list[tuple[str, str, str]] = [
    ("throughput_wf_s", "wf/s", "{:8.1f}"),
    ("p50_ms", "p50 ms", "{:8.0f}"),
    ("p95_ms", "p95 ms", "{:8.0f}"),
    ("p99_ms", "p99 ms", "{:8.0f}"),
    ("server_cpu_s_per_wf", "srv cpu ms/wf", "{:13.2f}"),
    ("server_peak_rss_mb", "srv rss MB", "{:10.0f}"),
]
# Shown but not compared: where the CPU went.
CONTEXT: list[tuple[str, str, str]] = [
    ("server_cpu_cores", "srv cores", "{:9.2f}"),
    ("driver_cpu_s_per_wf", "drv cpu ms/wf", "{:13.2f}"),
    ("driver_cpu_cores", "drv cores", "{:9.2f}"),
]
_MS_KEYS = {"server_cpu_s_per_wf", "driver_cpu_s_per_wf"}  # stored in seconds, shown in ms
REFERENCES = (TEMPORAL_FILE, TEMPORAL_MEMORY)


def _phase_key(result: Result) -> tuple[str, str, int]:
    return (result["driver"], result["workload"], result["concurrency"])


def _cell(result: Result, key: str, fmt: str) -> str:
    value = result[key] * (1000.0 if key in _MS_KEYS else 1.0)
    return fmt.format(value)


def ratios(results: Sequence[Result]) -> list[Result]:
    """Gnomon divided by each reference server, per driver, workload and concurrency."""
    by_phase: dict[tuple[str, str, int], dict[str, Result]] = {}
    for result in results:
        if not result.get("seeded_runs") and not result.get("baseline"):
            by_phase.setdefault(_phase_key(result), {})[result["server"]] = result
    rows = []
    for (driver, workload, concurrency), servers in by_phase.items():
        gnomon = servers.get(GNOMON)
        for reference in REFERENCES:
            other = servers.get(reference)
            if gnomon is None or other is None:
                continue
            row: Result = {"driver": driver, "workload": workload, "concurrency": concurrency, "versus": reference}
            for key, _, _ in METRICS:
                row[key] = gnomon[key] / other[key] if other[key] else None
            rows.append(row)
    return rows


def growth(results: Sequence[Result]) -> list[Result]:
    """Gnomon on a seeded database divided by Gnomon on an empty one, per phase.

    The empty database's figures are those of the ``baseline`` runs measured next to the
    seeded ones, where there are any; each side is the mean over its rounds.
    """
    empty: dict[tuple[str, str, int], list[Result]] = {}
    for result in results:
        if result["server"] == GNOMON and not result.get("seeded_runs") and not result.get("baseline"):
            empty[_phase_key(result)] = [result]
    baselines: dict[tuple[str, str, int], list[Result]] = {}
    seeded: dict[tuple[tuple[str, str, int], int], list[Result]] = {}
    for result in results:
        if result.get("baseline"):
            baselines.setdefault(_phase_key(result), []).append(result)
        elif result["server"] == GNOMON and result.get("seeded_runs"):
            seeded.setdefault((_phase_key(result), result["seeded_runs"]), []).append(result)
    empty.update(baselines)
    rows = []
    for (phase, seeded_runs), runs in seeded.items():
        base = empty.get(phase)
        if base is None:
            continue
        driver, workload, concurrency = phase
        row: Result = {"driver": driver, "workload": workload, "concurrency": concurrency, "seeded_runs": seeded_runs}
        for key, _, _ in METRICS:
            base_mean = _mean(base, key)
            row[key] = _mean(runs, key) / base_mean if base_mean else None
        rows.append(row)
    return rows


def _mean(results: Sequence[Result], key: str) -> float:
    return sum(r[key] for r in results) / len(results)


def format_table(results: Sequence[Result]) -> str:
    """Every phase, grouped by driver/workload/concurrency, each group followed by Gnomon's ratios."""
    columns = METRICS + CONTEXT
    header = f"{'driver':6} {'workload':14} {'conc':>4} {'server':22} " + " ".join(
        f"{title:>{len(fmt.format(0))}}" for _, title, fmt in columns
    )
    lines = [header, "-" * len(header)]
    ratio_rows = {(*_phase_key(r), r["versus"]): r for r in ratios(results)}
    growth_rows = {(*_phase_key(r), r["seeded_runs"]): r for r in growth(results)}
    order: list[tuple[str, str, int]] = []
    for result in results:
        if _phase_key(result) not in order:
            order.append(_phase_key(result))
    for phase in order:
        driver, workload, concurrency = phase
        label = f"{driver:6} {workload:14} {concurrency:>4} "
        for result in (r for r in results if _phase_key(r) == phase):
            name = result["server"] + (f" +{result['seeded_runs']:,} runs" if result.get("seeded_runs") else "")
            name += ", empty again" if result.get("baseline") else ""
            cells = " ".join(_cell(result, key, fmt) for key, _, fmt in columns)
            errors = f"  ({result['errors']} errors)" if result.get("errors") else ""
            lines.append(f"{label}{name:22} {cells}{errors}")
            label = " " * len(label)
        extra = [(f"gnomon/{ref}", ratio_rows.get((*phase, ref))) for ref in REFERENCES]
        extra += [("seeded/empty gnomon", row) for key, row in growth_rows.items() if key[:3] == phase]
        for name, row in extra:
            if row is not None:
                cells = " ".join(f"{_ratio(row[key]):>{len(fmt.format(0))}}" for key, _, fmt in METRICS)
                lines.append(f"{label}{name:22} {cells}")
        lines.append("")
    return "\n".join(lines)


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"
