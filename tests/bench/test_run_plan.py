"""The benchmark's plan: which phases run, and in which order the servers take turns."""

from __future__ import annotations

from bench.run import build_plan, parse_args, turns


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
