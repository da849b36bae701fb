"""The status table's own rules: what a run changes, what it keeps, and what it refuses."""

from __future__ import annotations

from pathlib import Path

from tests.features.runner import status
from tests.features.runner.catalog import FeatureCase
from tests.features.runner.execute import CaseResult
from tests.features.runner.results import Outcome


def _result(key: str, server: str, outcome: str, message: str = "") -> CaseResult:
    return CaseResult(FeatureCase("python", key), server, Outcome(outcome, message), 0.0)


def _table(**entries: status.Entry) -> status.StatusTable:
    return status.StatusTable("c0ffee", {(key.replace("__", "/"), "python"): e for key, e in entries.items()})


def test_a_reviewed_reason_survives_while_the_statuses_stay() -> None:
    table = _table(a__b=status.Entry("pass", "fail", "diagnosed by hand"))
    merged = status.merge(table, [_result("a/b", "gnomon", "fail", "Traceback\nboom")], "c0ffee", prune=False)
    assert merged.get("a/b", "python") == status.Entry("pass", "fail", "diagnosed by hand")


def test_a_changed_status_gets_the_runs_message_marked_unreviewed() -> None:
    table = _table(a__b=status.Entry("pass", "pass"))
    merged = status.merge(table, [_result("a/b", "gnomon", "fail", "\nRPCError: nope\nmore")], "c0ffee", prune=False)
    assert merged.get("a/b", "python") == status.Entry("pass", "fail", "unreviewed: RPCError: nope")


def test_a_fix_drops_the_reason_and_a_server_not_run_keeps_its_status() -> None:
    table = _table(a__b=status.Entry("pass", "fail", "broken"), c__d=status.Entry("pass", "pass"))
    merged = status.merge(table, [_result("a/b", "gnomon", "pass")], "c0ffee", prune=False)
    assert merged.get("a/b", "python") == status.Entry("pass", "pass")
    assert merged.get("c/d", "python") == status.Entry("pass", "pass")
    assert status.merge(table, [_result("a/b", "gnomon", "pass")], "c0ffee", prune=True).entries.keys() == {
        ("a/b", "python")
    }


def test_a_flaky_case_accepts_pass_and_fail_on_gnomon_only() -> None:
    entry = status.Entry("pass", "fail", "timing", flaky=True)
    assert entry.accepts("gnomon", "pass") and entry.accepts("gnomon", "fail")
    assert not entry.accepts("gnomon", "skip")
    assert not entry.accepts("reference", "fail")


def test_differences_and_skips_need_reasons() -> None:
    table = _table(a__b=status.Entry("pass", "skip"), c__d=status.Entry("pass", "maybe", "x"))
    assert table.problems() == [
        "a/b (python): reference=pass gnomon=skip needs a reason",
        "c/d (python): gnomon = 'maybe', not one of ('pass', 'fail', 'skip')",
    ]


def test_the_table_round_trips_through_toml(tmp_path: Path) -> None:
    table = _table(
        a__b=status.Entry("pass", "fail", 'says "no"\nand more', flaky=True), c__d=status.Entry("pass", "pass")
    )
    path = tmp_path / "status.toml"
    status.write(table, path)
    assert status.load(path) == table
