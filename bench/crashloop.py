"""The long crash loop: official-SDK load while Gnomon is SIGKILLed every 1-5 s and restarted.

Runs ``tests/durability/crash_loop.py`` against a Gnomon server on a SQLite file in a temporary directory
and prints workflows started / acknowledged / completed, kills, lost, duplicated and the time taken;
exits non-zero if anything acknowledged was lost, duplicated or wrong.

    python bench/crashloop.py --kills 100 --seed 1
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: import from the repository, not from bench/
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from temporalio.client import Client  # noqa: E402

from tests.durability.crash_loop import SHAPES, CrashLoop, CrashLoopReport  # noqa: E402
from tests.durability.crashable import CrashableServer  # noqa: E402


async def crash_loop(kills: int, seed: int, log_dir: Path, shapes: Sequence[str]) -> CrashLoopReport:
    server = CrashableServer(log_dir, log_dir / "gnomon.db")
    await server.start()
    try:
        client = await Client.connect(server.address, namespace="default")
        return await CrashLoop(server, client, f"loop-{uuid.uuid4().hex[:8]}", seed, shapes).run(kills)
    finally:
        await server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--shapes", default=",".join(SHAPES), help=f"a subset of {','.join(SHAPES)}")
    parser.add_argument("--keep", type=Path, help="keep the database and server log in this directory")
    args = parser.parse_args()
    # The SDK logs every failed poll while the server is down: only warnings of our own, please.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    shapes = args.shapes.split(",")
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        report = asyncio.run(crash_loop(args.kills, args.seed, args.keep, shapes))
    else:
        with tempfile.TemporaryDirectory(prefix="gnomon-crashloop-") as tmp:
            report = asyncio.run(crash_loop(args.kills, args.seed, Path(tmp), shapes))
    print(report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
