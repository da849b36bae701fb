"""Temporal's cross-SDK feature suite (temporalio/features, Python and TypeScript) against Gnomon.

Every case recorded in ``tests/features/status.toml`` runs against one Gnomon server (a
few cases at a time, each in its own process; see ``tests/features/runner``), and must
end as the table records: a case recorded as passing that fails, and a case recorded as
failing that now passes, both fail here, so the table moves with every fix. With
``GNOMON_FEATURES_REFERENCE=1`` the same is checked against the reference dev server.

The features checkout is not part of this repository: ``GNOMON_FEATURES_DIR``, or the
fetched git mirror (see ``runner/checkout.py``). Without one, or without Node.js for the
TypeScript cases, the cases that cannot run are skipped with a message naming what is missing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.features.runner import status
from tests.features.runner.catalog import LANGUAGES, discover
from tests.features.runner.checkout import Checkout, find_checkout, missing_reason
from tests.features.runner.session import LegReport, run_leg

# A leg runs every case before the first test checks one; its cases are bounded one by one.
pytestmark = pytest.mark.timeout(1200)

TABLE = status.load()
CASES = sorted(TABLE.entries)
RUN_REFERENCE = os.environ.get("GNOMON_FEATURES_REFERENCE") == "1"
REGENERATE = "python -m tests.features.runner --write-status --server both"


@pytest.fixture(scope="module")
def checkout() -> Checkout:
    found = find_checkout()
    if found is None:
        pytest.skip(missing_reason())
    return found


@pytest.fixture(scope="module")
async def gnomon_leg(checkout: Checkout, output_dir: Path) -> LegReport:
    return await run_leg("gnomon", checkout, tuple(LANGUAGES), output_dir)


@pytest.fixture(scope="module")
async def reference_leg(checkout: Checkout, output_dir: Path) -> LegReport:
    if not RUN_REFERENCE:
        pytest.skip("the reference leg runs with GNOMON_FEATURES_REFERENCE=1")
    return await run_leg("reference", checkout, tuple(LANGUAGES), output_dir)


def _check(report: LegReport, key: str, language: str) -> None:
    if language in report.unavailable:
        pytest.skip(f"NOT RUN: {report.unavailable[language]}")
    if language in report.setup_errors:
        pytest.fail(f"setting up the {language} features failed: {report.setup_errors[language]}")
    entry = TABLE.get(key, language)
    assert entry is not None
    recorded = entry.status(report.server)
    result = next((r for r in report.results if (r.case.key, r.case.language) == (key, language)), None)
    if result is None:
        pytest.fail(f"{key} ({language}) is in the status table but not in features commit {report.checkout.commit}")
    got = result.outcome
    if entry.accepts(report.server, got.status):
        return
    if recorded == "pass":
        pytest.fail(f"{key} ({language}) passed on {report.server} and now {got.status}s:\n{got.message}")
    pytest.fail(
        f"{key} ({language}) is recorded as {recorded} on {report.server} ({entry.reason}) and now "
        f"{got.status}s{': ' + got.message if got.message else ''}\nUpdate tests/features/status.toml: {REGENERATE}"
    )


def test_status_table_is_well_formed() -> None:
    assert TABLE.problems() == []


def test_status_table_lists_every_case(checkout: Checkout) -> None:
    found = {(c.key, c.language) for c in discover(checkout.root)}
    missing, stale = sorted(found - set(CASES)), sorted(set(CASES) - found)
    assert not missing and not stale, (
        f"features commit {checkout.commit} (table: {TABLE.features_commit}) has cases the table lacks: {missing}; "
        f"the table has cases it lacks: {stale}. Regenerate: {REGENERATE}"
    )


@pytest.mark.parametrize(("key", "language"), CASES, ids=[f"{lang}:{key}" for key, lang in CASES])
def test_feature_on_gnomon(gnomon_leg: LegReport, key: str, language: str) -> None:
    _check(gnomon_leg, key, language)


@pytest.mark.parametrize(("key", "language"), CASES, ids=[f"{lang}:{key}" for key, lang in CASES])
def test_feature_on_reference(reference_leg: LegReport, key: str, language: str) -> None:
    _check(reference_leg, key, language)
