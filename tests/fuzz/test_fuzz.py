"""A short fuzz run: mutated requests for every RPC; no INTERNAL, no hang, no crash, a healthy server after.

``bench/fuzz.py`` is the long run. Set ``GNOMON_FUZZ_SEED`` to run another seed; a failure prints the seed,
the request index and bytes, and a minimised one-line reproduction. Open defects the fuzzer already found
are listed in ``tests/fuzz/known.py``: tolerated here, shown as warnings.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

from tests.fuzz.runner import Fuzzer
from tests.fuzz.server_log import tracebacks
from tests.support.servers import start_gnomon

pytestmark = pytest.mark.timeout(180)

REQUESTS = 3000
SEED = int(os.environ.get("GNOMON_FUZZ_SEED", "20261206"))


async def test_mutated_requests_get_proper_statuses_and_the_server_stays_healthy(
    output_dir: Path, tmp_path: Path
) -> None:
    server = start_gnomon(output_dir, db_filename=tmp_path / "fuzz.db")
    try:
        fuzzer = Fuzzer(server.address, SEED, lambda: server.proc.poll() is None, batch_size=750)
        report = await fuzzer.run(REQUESTS)
    finally:
        server.stop()
    print(report.summary())  # shown when the test fails
    for line, n in tracebacks(server.log_text()).most_common():
        print(f"server traceback x{n}: {line}")
    for finding in report.known_findings:
        warnings.warn(f"known fuzz finding: {finding.describe()}", stacklevel=1)

    assert not report.server_died, "the server process died"
    assert not report.health_failure, report.health_failure
    assert not report.new_findings, "new fuzz findings:\n" + "\n".join(f.describe() for f in report.new_findings)
    assert report.requests == REQUESTS
    assert report.health_checks == report.batches
    # The corpus reaches past the first validation: implemented RPCs accept well-formed requests.
    accepted = {rpc for (rpc, status), _ in report.statuses.items() if status == "OK"}
    assert {"StartWorkflowExecution", "RespondWorkflowTaskCompleted", "SignalWorkflowExecution"} <= accepted
