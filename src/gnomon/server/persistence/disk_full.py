"""Writes refused because the disk is full: what callers are told, and what the log says.

A full disk fails every commit until space returns, possibly thousands of them: each caller
gets RESOURCE_EXHAUSTED (and retries), and the log gets one line when the episode begins
and one when writes succeed again, with the number that failed in between, instead of a
traceback per commit.
"""

from __future__ import annotations

import logging
import sqlite3

from gnomon.server.persistence.interface import StorageFullError

logger = logging.getLogger(__name__)

MESSAGE = "the database's disk is full: nothing was written; retry once space is freed"


def is_disk_full(error: BaseException) -> bool:
    """Whether SQLite failed for lack of space (SQLITE_FULL, or a write refused with ENOSPC)."""
    if not isinstance(error, sqlite3.Error):
        return False
    code = getattr(error, "sqlite_errorcode", None)
    return code == sqlite3.SQLITE_FULL or "disk is full" in str(error)


class DiskFullEpisodes:
    """Counts failed writes while the disk is full; logs the start and the end of each episode."""

    def __init__(self, path: str) -> None:
        self._path = path
        self.failed = 0  # writes refused in the current episode (0: the disk is not known to be full)

    @property
    def full(self) -> bool:
        return self.failed > 0

    def refused(self, error: BaseException, writes: int = 1) -> StorageFullError:
        """Note writes refused for lack of space; the error their callers get."""
        if not self.full:
            logger.error("disk full: writes to %s fail until space is freed (%s)", self._path, error)
        self.failed += writes
        return StorageFullError(MESSAGE)

    def succeeded(self) -> None:
        """A write landed: a full-disk episode, if there was one, is over."""
        if self.full:
            logger.warning(
                "disk space is back: writes to %s succeed again (%d failed meanwhile)", self._path, self.failed
            )
            self.failed = 0
