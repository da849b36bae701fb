"""Fuzz a Gnomon server with mutated requests for every RPC; print the status table and every finding.

Starts its own server (``gnomon server start`` on a SQLite file in a temporary directory), runs the
fuzzer of ``tests/fuzz`` against it and exits non-zero if a new finding (see ``tests/fuzz/known.py``),
a dead server or a failed health check turned up. The server log's tracebacks are printed too.

    python bench/fuzz.py --requests 100000 --seed 1
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):  # run as a script: import from the repository, not from bench/
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from tests.fuzz.runner import Fuzzer  # noqa: E402
from tests.fuzz.server_log import tracebacks  # noqa: E402
from tests.support.servers import start_gnomon  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=24)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    with tempfile.TemporaryDirectory(prefix="gnomon-fuzz-") as tmp:
        server = start_gnomon(Path(tmp), db_filename=Path(tmp) / "fuzz.db")
        try:
            fuzzer = Fuzzer(
                server.address,
                args.seed,
                lambda: server.proc.poll() is None,
                connections=args.connections,
                concurrency=args.concurrency,
                batch_size=args.batch_size,
            )
            report = asyncio.run(fuzzer.run(args.requests))
        finally:
            server.stop()
        print(report.summary())
        print("\nserver tracebacks:")
        for line, n in tracebacks(server.log_text()).most_common():
            print(f"  {n:>6} x {line}")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
