"""Node.js and npm for the suites that run TypeScript programs: find them, and ``npm ci`` once per lockfile.

The TypeScript SDK's native bridge and the workflow bundler's compiler ship inside npm
packages, so the npm registry is all these need. ``npm ci`` is skipped while the
project's ``node_modules`` carries a stamp of the current ``package.json`` and lockfile.
"""

from __future__ import annotations

import fcntl
import hashlib
import re
import shutil
import subprocess
import time
from pathlib import Path

MIN_NODE = (20, 3, 0)
NPM_CI_TIMEOUT = 900.0
STAMP_NAME = ".gnomon-npm-ci-stamp"


class SetupError(RuntimeError):
    """A set-up command failed; the message ends with the tail of its log."""


def node_version() -> tuple[int, ...] | None:
    """The version of ``node`` on PATH, or None without one."""
    node = shutil.which("node")
    if not node:
        return None
    out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    match = re.match(r"v(\d+)\.(\d+)\.(\d+)", out)
    return tuple(int(part) for part in match.groups()) if match else None


def missing_node_reason(what: str) -> str | None:
    """Why ``what`` cannot run here (no Node.js >= 20.3 or no npm on PATH), or None if it can."""
    version = node_version()
    if version is None or shutil.which("npm") is None:
        return f"{what} need Node.js >= 20.3 and npm on PATH"
    if version < MIN_NODE:
        return f"{what} need Node.js >= 20.3 (found {'.'.join(map(str, version))})"
    return None


def run_logged(args: list[str], cwd: Path, log_path: Path, timeout: float) -> None:
    """Run a set-up command, its output appended to ``log_path``; raise :class:`SetupError` if it fails."""
    with open(log_path, "ab") as log:
        log.write(f"\n$ {' '.join(args)}  (in {cwd})\n".encode())
        log.flush()
        started = time.monotonic()
        proc = subprocess.run(args, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, timeout=timeout, check=False)
        log.write(f"-> exit {proc.returncode} after {time.monotonic() - started:.1f}s\n".encode())
    if proc.returncode != 0:
        tail = log_path.read_text(errors="replace")[-4000:]
        raise SetupError(f"{' '.join(args)} failed with exit {proc.returncode} in {cwd}; log {log_path}:\n{tail}")


def lock_digest(project: Path) -> str:
    """A digest of the project's ``package.json`` and ``package-lock.json``."""
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update((project / name).read_bytes())
    return digest.hexdigest()


class InstallLock:
    """``with InstallLock(path):`` one installer at a time, should two test sessions share a project."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> InstallLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "w")  # noqa: SIM115 - held until __exit__
        fcntl.flock(self._file, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()


def npm_ci(project: Path, log_path: Path, timeout: float = NPM_CI_TIMEOUT) -> None:
    """``npm ci`` in ``project`` unless its ``node_modules`` was installed from the same lockfile.

    Call it holding an :class:`InstallLock`.
    """
    stamp = project / "node_modules" / STAMP_NAME
    want = lock_digest(project)
    if stamp.exists() and stamp.read_text() == want:
        return
    run_logged(["npm", "ci", "--no-audit", "--no-fund"], project, log_path, timeout)
    stamp.write_text(want)
