"""The seeded comparison: each side is the mean of its rounds, next to each other."""

from __future__ import annotations

from typing import Any

from bench.report import METRICS, format_table, growth


def _result(throughput: float, **marks: Any) -> dict[str, Any]:
    result: dict[str, Any] = {"server": "gnomon", "driver": "raw", "workload": "one_activity", "concurrency": 10}
    result.update({key: 1.0 for key, _, _ in METRICS})
    result.update(throughput_wf_s=throughput, server_cpu_cores=1.0, driver_cpu_s_per_wf=0.001, driver_cpu_cores=0.5)
    result.update(errors=0, **marks)
    return result


def test_growth_compares_the_means_of_the_rounds() -> None:
    results = [
        _result(500.0),  # the main run's phase, long before: not the baseline
        _result(300.0, baseline=True, round=1),
        _result(330.0, seeded_runs=1_000_000, round=1),
        _result(200.0, baseline=True, round=2),  # the VM slowed down for this round
        _result(220.0, seeded_runs=1_000_000, round=2),
    ]
    (row,) = growth(results)
    assert row["seeded_runs"] == 1_000_000
    assert row["throughput_wf_s"] == (330.0 + 220.0) / (300.0 + 200.0)
    assert row["server_cpu_s_per_wf"] == 1.0
    assert "seeded/empty gnomon" in format_table(results)


def test_without_a_baseline_the_main_run_is_the_empty_side() -> None:
    (row,) = growth([_result(400.0), _result(360.0, seeded_runs=1_000_000)])
    assert row["throughput_wf_s"] == 0.9
