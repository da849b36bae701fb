"""A Gnomon server on one SQLite file and one port that can be SIGKILLed and restarted (durability tests)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.support.servers import ServerProcess, free_port, start_gnomon


class CrashableServer:
    """A Gnomon server on one database file and one port that can be SIGKILLed and restarted."""

    def __init__(self, log_dir: Path, db_path: Path) -> None:
        self.log_dir = log_dir
        self.db_path = db_path
        self.port = free_port()
        self.process: ServerProcess | None = None
        self.crashes = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Start a server process (off the event loop: the SDK worker shares it)."""
        assert self.process is None, "already running"
        self.process = await asyncio.to_thread(start_gnomon, self.log_dir, db_filename=self.db_path, port=self.port)

    def crash(self) -> None:
        """SIGKILL the server now, synchronously (no await between an ack and the kill)."""
        assert self.process is not None, "not running"
        self.process.kill()
        self.process = None
        self.crashes += 1

    async def restart_after(self, downtime: float) -> None:
        """Stay down for ``downtime`` seconds, then start a new process on the same file and port."""
        await asyncio.sleep(downtime)
        await self.start()

    async def stop(self) -> None:
        if self.process is not None:
            await asyncio.to_thread(self.process.stop)
            self.process = None

    def log_text(self) -> str:
        path = self.log_dir / f"gnomon-{self.port}.log"
        return path.read_text(errors="replace") if path.exists() else ""
