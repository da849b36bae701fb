"""Run one Python feature of a ``temporalio/features`` checkout; the process the Python leg starts per feature.

    python -m tests.features.runner.pyfeature --checkout DIR --feature area/name \
        --server HOST:PORT --namespace NS --task-queue TQ --result FILE [--http-proxy-url URL]

The feature module ``features.<area>.<name>.feature`` is imported with the checkout on
``sys.path`` and our stand-in ``harness`` package (``pyharness/``) ahead of it. The outcome
is written to ``--result`` as JSON (see :mod:`tests.features.runner.results`); the exit code
is 0 whenever that file was written.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import sys
import traceback
from pathlib import Path

HARNESS_DIR = Path(__file__).resolve().parent / "pyharness"


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkout", type=Path, required=True)
    parser.add_argument("--feature", required=True, help="directory under features/, e.g. activity/retry_on_error")
    parser.add_argument("--server", required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--result", type=Path, required=True)
    parser.add_argument("--http-proxy-url")
    return parser.parse_args(argv)


async def _run(args: argparse.Namespace) -> tuple[str, str]:
    from harness.python.feature import Runner, SkipFeatureException, features

    module_name = "features." + ".".join([*args.feature.split("/"), "feature"])
    importlib.import_module(module_name)
    feature = features.get(args.feature)
    if feature is None:
        return "failed", f"{module_name} registered no feature for {args.feature}"
    runner = Runner(
        address=args.server,
        namespace=args.namespace,
        task_queue=args.task_queue,
        feature=feature,
        http_proxy_url=args.http_proxy_url,
    )
    try:
        await runner.run()
    except SkipFeatureException as err:
        return "skipped", str(err)
    return "passed", ""


def _describe(err: BaseException) -> str:
    """The exception and its causes, innermost last, one line each; then the full traceback."""
    chain: list[BaseException] = []
    current: BaseException | None = err
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    summary = " <- ".join(f"{type(e).__name__}: {e}" for e in chain)
    return summary + "\n\n" + "".join(traceback.format_exception(err))


def main(argv: list[str]) -> None:
    args = _parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sys.path[:0] = [str(HARNESS_DIR), str(args.checkout.resolve())]
    # Imported only now: the results module must come from this repository, the feature
    # modules from the checkout.
    from tests.features.runner.results import write_result

    try:
        outcome, message = asyncio.run(_run(args))
    except BaseException as err:  # noqa: BLE001 - whatever ended the feature is its failure, reported whole
        outcome, message = "failed", _describe(err)
    write_result(args.result, outcome, message)
    sys.stdout.flush()
    sys.stderr.flush()
    # A short-lived temporalio process can abort at interpreter exit (sdk-python issue #300);
    # the result is on disk, so leave without the interpreter's teardown.
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
