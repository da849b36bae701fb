"""Run the temporalio/features cases from the command line, compare with the table, or rewrite it.

    python -m tests.features.runner                          # Gnomon, both languages, compared with the table
    python -m tests.features.runner --server both --write-status   # both servers; rewrite status.toml
    python -m tests.features.runner --only update/basic --language python -v
    python -m tests.features.runner --write-doc              # regenerate docs/compatibility.md only

Logs go to ``test-output/features/<server>/<language>/<case>.log``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections import Counter
from pathlib import Path

from tests.features.runner import compat, status
from tests.features.runner.catalog import LANGUAGES
from tests.features.runner.checkout import find_checkout, missing_reason
from tests.features.runner.execute import DEFAULT_JOBS, CaseResult
from tests.features.runner.session import LegReport, run_leg
from tests.features.runner.targets import SERVERS

ROOT = Path(__file__).resolve().parents[3]
LOG_DIR = ROOT / "test-output"


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.features.runner",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--server", choices=[*SERVERS, "both"], default="gnomon")
    parser.add_argument("--language", choices=list(LANGUAGES), action="append", help="repeatable; default: all")
    parser.add_argument("--only", action="append", help="run only this case key (repeatable), e.g. update/basic")
    parser.add_argument("--jobs", type=int, default=DEFAULT_JOBS, help="cases run at once")
    parser.add_argument("--write-status", action="store_true", help="rewrite tests/features/status.toml from the run")
    parser.add_argument("--write-doc", action="store_true", help="only regenerate docs/compatibility.md")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser.parse_args(argv)


def _differences(results: list[CaseResult], table: status.StatusTable) -> list[str]:
    lines = []
    for result in results:
        entry = table.get(result.case.key, result.case.language)
        recorded = entry.status(result.server) if entry else "absent"
        if entry is None or not entry.accepts(result.server, result.outcome.status):
            message = result.outcome.message.strip().splitlines()[:1]
            lines.append(
                f"  {result.server} {result.case.language} {result.case.key}: recorded {recorded}, "
                f"now {result.outcome.status} {message[0] if message else ''}"
            )
    return lines


def _summary(report: LegReport) -> list[str]:
    lines = [f"{report.server}: {report.seconds:.0f}s, features commit {report.checkout.commit}"]
    for language in LANGUAGES:
        if language in report.unavailable:
            lines.append(f"  {language}: NOT RUN: {report.unavailable[language]}")
            continue
        if language in report.setup_errors:
            lines.append(f"  {language}: SET-UP FAILED: {report.setup_errors[language]}")
            continue
        counts = Counter(r.outcome.status for r in report.results if r.case.language == language)
        if counts:
            tally = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
            lines.append(f"  {language}: {sum(counts.values())} cases: {tally}")
    return lines


async def _main(args: argparse.Namespace) -> int:
    if args.write_doc:
        compat.write_doc()
        print(f"wrote {compat.DOC_PATH}")
        return 0
    checkout = find_checkout()
    if checkout is None:
        print(missing_reason(), file=sys.stderr)
        return 2
    languages = tuple(args.language or LANGUAGES)
    only = set(args.only) if args.only else None
    servers = SERVERS if args.server == "both" else (args.server,)
    reports = [await run_leg(s, checkout, languages, LOG_DIR, jobs=args.jobs, only=only) for s in servers]
    results = [r for report in reports for r in report.results]
    table = status.load() if status.STATUS_PATH.exists() else None
    for report in reports:
        print("\n".join(_summary(report)))
    if args.write_status:
        full = only is None and set(languages) == set(LANGUAGES) and args.server == "both"
        merged = status.merge(table, results, checkout.commit, prune=full)
        status.write(merged)
        compat.write_doc(merged)
        print(f"wrote {status.STATUS_PATH} and {compat.DOC_PATH}")
        for problem in merged.problems():
            print(f"  needs attention: {problem}")
        return 0
    if table is None:
        print(f"no {status.STATUS_PATH}: run with --write-status", file=sys.stderr)
        return 1
    differences = _differences(results, table)
    if differences:
        print("differences from the status table:\n" + "\n".join(differences))
        return 1
    print("every case ran as the status table records")
    return 0


def main(argv: list[str]) -> int:
    args = _parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    return asyncio.run(_main(args))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
