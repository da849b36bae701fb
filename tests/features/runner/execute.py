"""Run cases against one server: a process per case, a few at a time, each with a hard time limit.

A case's process writes its outcome to a file (see :mod:`tests.features.runner.results`);
a process that writes none, or outlives :data:`CASE_TIMEOUT`, has failed. Its output goes
to ``<log dir>/features/<server>/<language>/<case>.log``. Cases that ask for an HTTP
CONNECT proxy get one of their own, and pass only if it tunnelled as many connections as
their ``config.json`` says. ``FEATURE_NAMESPACE_CAPABILITIES`` carries a variant's
expected capabilities to its process, as the official runner passes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import signal
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from tests.features.runner.catalog import FeatureCase
from tests.features.runner.legs import Invocation, Leg
from tests.features.runner.proxy import ConnectProxy
from tests.features.runner.results import Outcome, read_result
from tests.features.runner.targets import namespace_for

logger = logging.getLogger(__name__)

#: A feature's workflows run for at most a minute (the default execution timeout); this
#: leaves room for a worker that is slow to start or to shut down.
CASE_TIMEOUT = 90.0
DEFAULT_JOBS = 4
LOG_TAIL = 3000


@dataclass(frozen=True)
class CaseResult:
    case: FeatureCase
    server: str
    outcome: Outcome
    seconds: float
    log_path: Path | None = None


def _log_name(case: FeatureCase) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", case.key) + ".log"


@contextlib.asynccontextmanager
async def _proxy_for(case: FeatureCase) -> AsyncIterator[ConnectProxy | None]:
    if not case.needs_proxy:
        yield None
        return
    async with ConnectProxy() as proxy:
        yield proxy


def _proxy_mismatch(case: FeatureCase, proxy: ConnectProxy) -> str | None:
    want = (case.unauthed_proxy_tunnels, case.authed_proxy_tunnels)
    got = (proxy.unauthed_tunnels, proxy.authed_tunnels)
    if want == got:
        return None
    return f"expected {want[0]} unauthenticated and {want[1]} authenticated proxy tunnels, got {got[0]} and {got[1]}"


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # the group this runner started for the case


async def run_case(
    case: FeatureCase, leg: Leg, server: str, address: str, namespace: str, log_dir: Path, timeout: float
) -> CaseResult:
    """Run one case in its own process group; never raises for what the feature does."""
    started = time.monotonic()
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / _log_name(case)
    if case.has_history:
        message = "the feature has a recorded history for this language, and this runner has no history check"
        return CaseResult(case, server, Outcome("fail", message), 0.0)
    env = os.environ.copy()
    env.update(PYTHONUNBUFFERED="1")
    if case.variant is not None:
        env["FEATURE_NAMESPACE_CAPABILITIES"] = json.dumps(case.variant.expect_capabilities)
    with tempfile.TemporaryDirectory(prefix="feature-") as scratch:
        result_path = Path(scratch) / "result.json"
        async with _proxy_for(case) as proxy:
            run = Invocation(
                server=address,
                namespace=namespace,
                task_queue=f"features-{case.key}-{uuid.uuid4()}",
                result=result_path,
                proxy_url=proxy.url if proxy else None,
            )
            args, cwd = leg.command(case, run)
            with open(log_path, "wb") as log:
                log.write(f"$ {' '.join(args)}  (in {cwd})\n".encode())
                log.flush()
                proc = await asyncio.create_subprocess_exec(
                    *args, cwd=cwd, env=env, stdout=log, stderr=log, stdin=asyncio.subprocess.DEVNULL,
                    start_new_session=True,
                )  # fmt: skip
                try:
                    await asyncio.wait_for(proc.wait(), timeout)
                except TimeoutError:
                    _kill_group(proc)
                    await proc.wait()
                    outcome = Outcome("fail", f"did not finish within {timeout:.0f}s (killed)")
                else:
                    outcome = read_result(result_path) or Outcome(
                        "fail", f"exited {proc.returncode} without reporting an outcome"
                    )
                _kill_group(proc)  # whatever the case left running in its group
            if outcome.status == "pass" and proxy is not None:
                mismatch = _proxy_mismatch(case, proxy)
                if mismatch:
                    outcome = Outcome("fail", mismatch)
    with open(log_path, "a") as log:
        log.write(f"\n--- outcome: {outcome.status}\n{outcome.message}\n")
    if outcome.status == "fail":
        tail = log_path.read_text(errors="replace")[-LOG_TAIL:]
        outcome = Outcome("fail", f"{outcome.message}\n--- log tail ({log_path}):\n{tail}")
    return CaseResult(case, server, outcome, time.monotonic() - started, log_path)


async def run_cases(
    cases: list[tuple[FeatureCase, Leg]],
    server: str,
    address: str,
    log_root: Path,
    *,
    jobs: int = DEFAULT_JOBS,
    timeout: float = CASE_TIMEOUT,
) -> list[CaseResult]:
    """Run ``cases`` against the server at ``address``, at most ``jobs`` at a time, in the order given."""
    gate = asyncio.Semaphore(jobs)

    async def one(case: FeatureCase, leg: Leg) -> CaseResult:
        async with gate:
            result = await run_case(
                case, leg, server, address, namespace_for(case.language), log_root / server / case.language, timeout
            )
        logger.info("%s %s %s: %s (%.1fs)", server, case.language, case.key, result.outcome.status, result.seconds)
        return result

    return list(await asyncio.gather(*(one(case, leg) for case, leg in cases)))
