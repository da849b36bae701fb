"""Small helpers shared by the UI tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

NAMESPACE = "default"


def workflow_path(workflow_id: str, run_id: str = "", tab: str = "") -> str:
    path = f"/namespaces/{NAMESPACE}/workflows/{quote(workflow_id, safe='')}"
    return f"{path}/{run_id}/{tab}" if run_id else path


def list_path(**params: str) -> str:
    from urllib.parse import urlencode

    path = f"/namespaces/{NAMESPACE}/workflows"
    return f"{path}?{urlencode(params)}" if params else path


async def open_workflow(page: Any, workflow_id: str, tab: str = "") -> str:
    """Open a workflow's latest run (optionally a tab); returns the run's base path."""
    await page.goto(workflow_path(workflow_id))
    base = page.url.split("://", 1)[1].split("/", 1)[1].rsplit("/", 1)[0]
    if tab:
        await page.goto(f"/{base}/{tab}")
    return f"/{base}"


async def snap(page: Any, directory: Path, name: str) -> None:
    """A full-page screenshot under test-output/ui/ (from the top, so the sticky header sits there)."""
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=str(directory / f"{name}.png"), full_page=True)


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)
