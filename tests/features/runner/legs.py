"""How each language's features are prepared and started: one process per feature.

A :class:`Leg` turns a case into a command line. The Python leg runs
:mod:`tests.features.runner.pyfeature` with this interpreter; the TypeScript leg installs
the npm packages of ``runner/ts`` into the user's cache (``npm ci``, once per lockfile),
compiles the checkout's features and our harness there (``build.js``), and runs
``runner/run-feature.js`` with ``node``.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.features.runner.catalog import FeatureCase
from tests.features.runner.checkout import Checkout, cache_root
from tests.support import npm

ROOT = Path(__file__).resolve().parents[3]
TS_SOURCE = Path(__file__).resolve().parent / "ts"
TS_SOURCE_FILES = ("package.json", "package-lock.json", "build.js", "src")
BUILD_TIMEOUT = 300.0
#: Builds older than this are removed (no leg runs that long).
STALE_BUILD_SECONDS = 24 * 3600.0


@dataclass(frozen=True)
class Invocation:
    """Where the process for one case runs (the runner adds the server, task queue and result file)."""

    server: str
    namespace: str
    task_queue: str
    result: Path
    proxy_url: str | None = None


class Leg:
    """A language: what it needs before its first feature, and the command for each feature."""

    language: str

    def unavailable_reason(self) -> str | None:
        """Why this language's features cannot run on this machine, or None."""
        return None

    def prepare(self, checkout: Checkout, log_dir: Path) -> None:
        """Install and build what the features need; raises :class:`npm.SetupError` on failure."""

    def command(self, case: FeatureCase, run: Invocation) -> tuple[list[str], Path]:
        """The command line for ``case`` and the directory to run it in."""
        raise NotImplementedError


class PythonLeg(Leg):
    language = "python"

    def __init__(self) -> None:
        self._checkout: Path | None = None

    def prepare(self, checkout: Checkout, log_dir: Path) -> None:
        self._checkout = checkout.root

    def command(self, case: FeatureCase, run: Invocation) -> tuple[list[str], Path]:
        assert self._checkout is not None, "prepare() first"
        args = [
            sys.executable, "-m", "tests.features.runner.pyfeature", "--checkout", str(self._checkout),
            "--feature", case.rel_dir, "--server", run.server, "--namespace", run.namespace,
            "--task-queue", run.task_queue, "--result", str(run.result),
        ]  # fmt: skip
        if run.proxy_url:
            args += ["--http-proxy-url", run.proxy_url]
        return args, ROOT


class TypeScriptLeg(Leg):
    language = "typescript"

    def __init__(self) -> None:
        self._build: Path | None = None

    def unavailable_reason(self) -> str | None:
        return npm.missing_node_reason("the TypeScript features")

    def project_dir(self) -> Path:
        """The npm project in the cache: a copy of ``runner/ts``, one per lockfile."""
        return cache_root() / "npm" / npm.lock_digest(TS_SOURCE)[:16]

    def prepare(self, checkout: Checkout, log_dir: Path) -> None:
        project = self.project_dir()
        log_path = log_dir / "features-typescript-setup.log"
        with npm.InstallLock(project.parent / f"{project.name}.lock"):
            project.mkdir(parents=True, exist_ok=True)
            for name in TS_SOURCE_FILES:
                source, target = TS_SOURCE / name, project / name
                if source.is_dir():
                    shutil.rmtree(target, ignore_errors=True)
                    shutil.copytree(source, target)
                else:
                    shutil.copy2(source, target)
            npm.npm_ci(project, log_path)
            build = self._fresh_build_dir(project, checkout)
            npm.run_logged(["node", "build.js", str(checkout.root), str(build)], project, log_path, BUILD_TIMEOUT)
        self._build = build

    @staticmethod
    def _fresh_build_dir(project: Path, checkout: Checkout) -> Path:
        """A build directory of this run's own: another session may be running features from its build."""
        builds = project / "builds"
        builds.mkdir(exist_ok=True)
        stale_before = time.time() - STALE_BUILD_SECONDS
        for old in builds.iterdir():
            if old.stat().st_mtime < stale_before:
                shutil.rmtree(old, ignore_errors=True)
        return Path(tempfile.mkdtemp(prefix=f"{checkout.commit[:12]}-", dir=builds))

    def command(self, case: FeatureCase, run: Invocation) -> tuple[list[str], Path]:
        assert self._build is not None, "prepare() first"
        args = [
            "node", str(self._build / "runner" / "run-feature.js"), "--feature", case.rel_dir,
            "--server", run.server, "--namespace", run.namespace, "--task-queue", run.task_queue,
            "--result", str(run.result),
        ]  # fmt: skip
        if run.proxy_url:
            args += ["--proxy-url", run.proxy_url]
        return args, self._build


LEGS: dict[str, type[Leg]] = {"python": PythonLeg, "typescript": TypeScriptLeg}
