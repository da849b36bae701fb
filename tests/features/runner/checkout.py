"""Where the ``temporalio/features`` checkout comes from: never from this repository.

In order of preference:

1. ``GNOMON_FEATURES_DIR``: a checkout (or an unpacked archive) of the features repo.
2. Commit :data:`FEATURES_COMMIT` unpacked in the user's cache directory, by an earlier run.
3. A bare git mirror of it (``GNOMON_FEATURES_MIRROR``, by default the workplace's fetched
   mirror): that commit is unpacked once with ``git archive`` into the cache, as above.

Without either, :func:`find_checkout` returns ``None`` and :func:`missing_reason` says
what is missing, for the suite to skip with.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

#: The features commit the status table was recorded with.
FEATURES_COMMIT = "98d4694b7bb831a38f98a549f7281a856b924cf1"
DEFAULT_MIRROR = Path("/work/.mirror/temporalio+features/repo")
COMMIT_MARKER = ".gnomon-features-commit"
GIT_TIMEOUT = 300.0


@dataclass(frozen=True)
class Checkout:
    """A features checkout on disk and the commit it holds (``unknown`` when it cannot be told)."""

    root: Path
    commit: str
    source: str


def cache_root() -> Path:
    """The user's cache directory for this suite (``$XDG_CACHE_HOME/gnomon-features``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gnomon-features"


def mirror_path() -> Path:
    return Path(os.environ.get("GNOMON_FEATURES_MIRROR") or DEFAULT_MIRROR)


def _commit_of(root: Path) -> str:
    marker = root / COMMIT_MARKER
    if marker.exists():
        return marker.read_text().strip()
    proc = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=GIT_TIMEOUT, check=False
    )
    return proc.stdout.strip() if proc.returncode == 0 else "unknown"


def _mirror_has(mirror: Path, commit: str) -> bool:
    proc = subprocess.run(
        ["git", "-C", str(mirror), "cat-file", "-e", f"{commit}^{{commit}}"],
        capture_output=True,
        timeout=GIT_TIMEOUT,
        check=False,
    )
    return proc.returncode == 0


def _materialise(mirror: Path, commit: str) -> Path:
    """Unpack ``commit`` of ``mirror`` into the cache (once; concurrent callers race harmlessly)."""
    target = cache_root() / "checkouts" / commit
    if (target / COMMIT_MARKER).exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{commit[:12]}-", dir=target.parent))
    try:
        archive = subprocess.Popen(["git", "-C", str(mirror), "archive", commit], stdout=subprocess.PIPE)
        subprocess.run(["tar", "-x", "-C", str(staging)], stdin=archive.stdout, check=True, timeout=GIT_TIMEOUT)
        if archive.wait(timeout=GIT_TIMEOUT) != 0:
            raise RuntimeError(f"git archive {commit} failed in {mirror}")
        (staging / COMMIT_MARKER).write_text(commit + "\n")
        try:
            staging.rename(target)
        except OSError:
            if not (target / COMMIT_MARKER).exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    logger.info("unpacked temporalio/features %s from %s into %s", commit, mirror, target)
    return target


def find_checkout() -> Checkout | None:
    """The features checkout to run, materialised from the mirror if need be; None if there is none."""
    explicit = os.environ.get("GNOMON_FEATURES_DIR")
    if explicit:
        root = Path(explicit).resolve()
        if not (root / "features").is_dir():
            raise RuntimeError(f"GNOMON_FEATURES_DIR={explicit} has no features/ directory")
        return Checkout(root, _commit_of(root), "GNOMON_FEATURES_DIR")
    unpacked = cache_root() / "checkouts" / FEATURES_COMMIT
    if (unpacked / COMMIT_MARKER).exists():
        return Checkout(unpacked, FEATURES_COMMIT, f"cache {unpacked}")
    mirror = mirror_path()
    if mirror.exists() and _mirror_has(mirror, FEATURES_COMMIT):
        return Checkout(_materialise(mirror, FEATURES_COMMIT), FEATURES_COMMIT, f"mirror {mirror}")
    return None


def missing_reason() -> str:
    """Why :func:`find_checkout` found nothing, naming what would fix it."""
    return (
        "NO temporalio/features CHECKOUT: set GNOMON_FEATURES_DIR to a checkout of the temporalio/features "
        "repository, "
        f"or provide a bare git mirror holding commit {FEATURES_COMMIT} at {mirror_path()} "
        "(or GNOMON_FEATURES_MIRROR)"
    )
