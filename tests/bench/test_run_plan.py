"""The benchmark's plan: which phases run, and in which order the servers take turns."""

from __future__ import annotations

from bench.run import GROWTH_SCALE, build_plan, growth_phases, parse_args, turns


def test_servers_take_turns_per_driver_and_workload() -> None:
    plan = build_plan(parse_args(["--quick"]))
    grouped = turns(plan.phases)
    # Every phase is in exactly one turn, and the plan's order is kept.
    assert [spec for _, specs in grouped for spec in specs] == plan.phases
    assert [name for name, _ in grouped] == [
        "raw-one_activity",
        "raw-ten_activities",
        "raw-timer",
        "raw-signal",
        "raw-child",
        "sdk-one_activity",
    ]
    # Both levels of one_activity share a turn: the ratios they give were measured together.
    assert [spec.concurrency for spec in grouped[0][1]] == [10, 100]


def test_the_seeded_comparison_runs_longer_raw_one_activity_phases() -> None:
    plan = build_plan(parse_args([]))
    phases = growth_phases(plan.phases)
    raw = [p for p in plan.phases if p.driver == "raw" and p.workload == "one_activity"]
    assert [(p.concurrency, p.workflows) for p in phases] == [(p.concurrency, p.workflows * GROWTH_SCALE) for p in raw]
    assert [p.concurrency for p in phases] == [10, 100]
