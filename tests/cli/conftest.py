"""Fixtures for the ``temporal`` CLI suite: a CLI runner bound to the server under test, and one SDK worker."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from tests.cli.workflows import ALL_WORKFLOWS
from tests.support.servers import ServerProcess, temporal_binary

#: Upper bound for one CLI invocation (each takes ~50-100 ms on an idle machine).
COMMAND_TIMEOUT = 30.0


@dataclass
class CliResult:
    """What one ``temporal`` invocation did."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """stdout and stderr together (the CLI prints prompts and errors to stderr)."""
        return self.stdout + self.stderr

    def json(self) -> Any:
        return json.loads(self.stdout)

    def describe(self) -> str:
        return f"$ {shlex.join(self.args)}\n[rc={self.returncode}]\n--- stdout\n{self.stdout}--- stderr\n{self.stderr}"


class TemporalCli:
    """Runs the real ``temporal`` binary against one server, asynchronously (the SDK worker shares the loop)."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.binary = temporal_binary()
        # Nothing from the developer's environment or config file may redirect the CLI.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}

    async def run(self, *args: str, check: bool = True, stdin: str | None = None) -> CliResult:
        """``temporal ARGS --address ...``; with ``check``, fail the test unless it exits 0."""
        argv = [
            self.binary, *args, "--address", self.address, "--color", "never",
            "--disable-config-file", "--disable-config-env", "--command-timeout", f"{int(COMMAND_TIMEOUT)}s",
        ]  # fmt: skip
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self.env,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(stdin.encode() if stdin else b""), COMMAND_TIMEOUT + 5)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise AssertionError(f"temporal {shlex.join(args)} did not finish in {COMMAND_TIMEOUT + 5}s") from None
        result = CliResult(argv, proc.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace"))
        if check:
            assert result.returncode == 0, f"command failed:\n{result.describe()}"
        return result

    async def json(self, *args: str) -> Any:
        """``temporal ARGS -o json``, parsed; the command must succeed."""
        result = await self.run(*args, "-o", "json")
        try:
            return result.json()
        except ValueError:
            raise AssertionError(f"output is not JSON:\n{result.describe()}") from None

    async def fails(self, *args: str) -> CliResult:
        """Run a command that must exit non-zero (and not crash: a Go panic exits 2 with a goroutine dump)."""
        result = await self.run(*args, check=False)
        assert result.returncode != 0, f"command unexpectedly succeeded:\n{result.describe()}"
        assert "panic:" not in result.stderr, f"the CLI crashed:\n{result.describe()}"
        return result


@pytest.fixture(scope="module")
async def cli(server: ServerProcess) -> TemporalCli:
    """The CLI pointed at the server under test, once it answers (the reference listens before it is healthy)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            await Client.connect(server.address, namespace="default")
            break
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)
    return TemporalCli(server.address)


@pytest.fixture(scope="module")
async def worker_queue(cli: TemporalCli, server: ServerProcess) -> AsyncIterator[str]:
    """A task queue an SDK worker in this process polls (workflows: :mod:`tests.cli.workflows`) for the module."""
    queue = f"cli-worker-{uuid.uuid4().hex[:10]}"
    client = await Client.connect(server.address, namespace="default")
    async with Worker(client, task_queue=queue, workflows=ALL_WORKFLOWS, identity=f"cli-test-worker@{queue}"):
        yield queue
