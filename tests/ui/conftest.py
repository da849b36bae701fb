"""Fixtures for the web UI tests: a Gnomon server with its UI, a worker, seeded workflows, a browser.

The browser is the system Chromium driven by Playwright (``playwright install`` is not
needed). When Chromium is missing and we run as root with apt, it is installed with
``apt-get update && apt-get install -y chromium``; otherwise the module is skipped loudly.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from tests.support.servers import HOST, ServerProcess, free_port, start_gnomon, wait_for_port
from tests.ui.seed import Seeded, seed, worker

playwright_api = pytest.importorskip(
    "playwright.async_api", reason="UI TESTS SKIPPED: pip install playwright (the test extra) to run them"
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
TIMEZONE = "America/New_York"  # not UTC, so that local times and their UTC titles differ

# The retrying activity fails on purpose, many times: keep its tracebacks out of failure reports.
logging.getLogger("temporalio.activity").setLevel(logging.ERROR)


INSTALL_TIMEOUT = 900  # seconds the first browser test may take when it has to apt-get install Chromium


def installed_chromium() -> str | None:
    return shutil.which("chromium") or (CHROMIUM if os.path.exists(CHROMIUM) else None)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give the first browser test time to install Chromium, when it has to."""
    if installed_chromium() is None:
        first = next((item for item in items if "browser" in getattr(item, "fixturenames", ())), None)
        if first is not None:
            first.add_marker(pytest.mark.timeout(INSTALL_TIMEOUT))


def chromium_path() -> str:
    """The system Chromium; installed with apt when missing and possible, else the tests skip."""
    found = installed_chromium()
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "update"], capture_output=True, check=False, timeout=300)
        install = subprocess.run(
            ["apt-get", "install", "-y", "chromium"], capture_output=True, text=True, check=False, timeout=600
        )
        found = shutil.which("chromium")
        if found:
            return found
        pytest.skip(f"UI TESTS SKIPPED: could not install chromium with apt-get:\n{install.stderr[-2000:]}")
    pytest.skip("UI TESTS SKIPPED: chromium is missing; install it with: apt-get install -y chromium")


@dataclass
class UiServer:
    """A Gnomon server process serving its web UI."""

    process: ServerProcess
    ui_port: int

    @property
    def address(self) -> str:
        return self.process.address

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.ui_port}"


@pytest.fixture(scope="session")
def screenshots(output_dir: Path) -> Path:
    path = output_dir / "ui"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def ui_server(output_dir: Path) -> Iterator[UiServer]:
    ui_port = free_port()
    process = start_gnomon(output_dir, ui_port=ui_port)
    wait_for_port(ui_port, process.proc)
    yield UiServer(process, ui_port)
    process.stop()


@pytest.fixture(scope="session")
async def ui_client(ui_server: UiServer) -> Client:
    return await Client.connect(ui_server.address, namespace="default")


@pytest.fixture(scope="session")
async def ui_task_queue(ui_client: Client) -> AsyncIterator[str]:
    """A task queue with a worker running the UI tests' workflows for the whole session."""
    task_queue = f"ui-{uuid.uuid4().hex[:8]}"
    async with worker(ui_client, task_queue):
        yield task_queue


@pytest.fixture(scope="session")
async def action_queue(ui_client: Client) -> AsyncIterator[str]:
    """Another worked task queue, for workflows tests act on (so the seeded queue's counts stay fixed)."""
    task_queue = f"ui-act-{uuid.uuid4().hex[:8]}"
    async with worker(ui_client, task_queue):
        yield task_queue


@pytest.fixture(scope="session")
async def seeded(ui_client: Client, ui_task_queue: str) -> Seeded:
    """Workflows in every state on ``ui_task_queue``; tests only read them."""
    return await seed(ui_client, ui_task_queue)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    executable = chromium_path()
    async with playwright_api.async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.fixture
async def page(browser: Any, ui_server: UiServer) -> AsyncIterator[Any]:
    """A fresh page on the UI; fails the test if the page's script throws."""
    context = await browser.new_context(
        base_url=ui_server.url, viewport={"width": 1440, "height": 900}, timezone_id=TIMEZONE, accept_downloads=True
    )
    context.set_default_timeout(10_000)
    tab = await context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    await context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
