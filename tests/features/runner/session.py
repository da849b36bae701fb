"""One run of the suite against one kind of server: every case of the chosen languages.

Default cases share one server; a variant case runs on the same Gnomon server when Gnomon
already reports the capabilities it expects (Gnomon takes no dynamic config, so the
variant is skipped otherwise), and on a reference server of its own with the variant's
dynamic config.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.features.runner.catalog import FeatureCase, discover
from tests.features.runner.checkout import Checkout
from tests.features.runner.execute import DEFAULT_JOBS, CaseResult, run_cases
from tests.features.runner.legs import LEGS, Leg
from tests.features.runner.results import Outcome
from tests.features.runner.targets import check_capabilities, namespace_for, start_server
from tests.support.npm import SetupError

logger = logging.getLogger(__name__)


@dataclass
class LegReport:
    """What a run against one server found: results, and the languages it could not run and why."""

    server: str
    checkout: Checkout
    results: list[CaseResult] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)
    setup_errors: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def _prepared_legs(report: LegReport, languages: tuple[str, ...], log_dir: Path) -> dict[str, Leg]:
    legs: dict[str, Leg] = {}
    for language in languages:
        leg = LEGS[language]()
        reason = leg.unavailable_reason()
        if reason:
            logger.warning("NOT RUNNING the %s features: %s", language, reason)
            report.unavailable[language] = reason
            continue
        try:
            leg.prepare(report.checkout, log_dir)
        except SetupError as err:
            report.setup_errors[language] = str(err)
            continue
        legs[language] = leg
    return legs


async def _run_variant(
    case: FeatureCase, leg: Leg, report: LegReport, main_address: str, log_dir: Path, jobs: int
) -> list[CaseResult]:
    variant = case.variant
    assert variant is not None
    namespace = namespace_for(case.language)
    if report.server == "gnomon":
        check = await check_capabilities(main_address, namespace, variant.expect_capabilities)
        if not check.matches:
            reason = (
                f"variant needs dynamic config {variant.dynamic_config}, which Gnomon has no setting for "
                f"(it reports {check.reported})"
            )
            return [CaseResult(case, report.server, Outcome("skip", reason), 0.0)]
        return await run_cases([(case, leg)], report.server, main_address, log_dir, jobs=jobs)
    with start_server(report.server, report.checkout.root, (case.language,), log_dir, variant) as server:
        check = await check_capabilities(server.address, namespace, variant.expect_capabilities)
        if not check.matches:
            message = f"the server started with {variant.dynamic_config} reports {check.reported}"
            return [CaseResult(case, report.server, Outcome("fail", message), 0.0)]
        return await run_cases([(case, leg)], report.server, server.address, log_dir, jobs=jobs)


async def run_leg(
    server: str,
    checkout: Checkout,
    languages: tuple[str, ...],
    log_dir: Path,
    *,
    jobs: int = DEFAULT_JOBS,
    only: set[str] | None = None,
) -> LegReport:
    """Run every case of ``languages`` (or those whose key is in ``only``) against a fresh ``server``."""
    started = time.monotonic()
    report = LegReport(server, checkout)
    legs = _prepared_legs(report, languages, log_dir)
    cases = [c for c in discover(checkout.root, tuple(legs)) if only is None or c.key in only]
    plain = [(c, legs[c.language]) for c in cases if c.variant is None]
    variants = [(c, legs[c.language]) for c in cases if c.variant is not None]
    with start_server(server, checkout.root, tuple(legs), log_dir) as main:
        report.results += await run_cases(plain, server, main.address, log_dir / "features", jobs=jobs)
        for case, leg in variants:
            report.results += await _run_variant(case, leg, report, main.address, log_dir / "features", jobs)
    report.seconds = time.monotonic() - started
    return report
