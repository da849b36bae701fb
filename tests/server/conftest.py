"""Fixtures for in-process servers whose commits a test can hold open."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest
from temporalio.client import Client

from gnomon.server.app import GnomonServer, ServerConfig
from gnomon.server.persistence import SqlitePersistence, WorkflowMutation


class HeldCommits(SqlitePersistence):
    """SQLite that, once armed, holds the next commit until released."""

    def __init__(self) -> None:
        super().__init__(":memory:")
        self.armed = False
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def commit(self, mutations: Sequence[WorkflowMutation]) -> None:
        if self.armed:
            self.armed = False
            self.entered.set()
            await self.release.wait()
        await super().commit(mutations)


@pytest.fixture
async def held_server() -> AsyncIterator[tuple[HeldCommits, Client]]:
    """A server in this process on a HeldCommits store, and an SDK client connected to it."""
    store = HeldCommits()
    server = GnomonServer(ServerConfig(port=0), persistence=store)
    await server.start()
    try:
        yield store, await Client.connect(server.address)
    finally:
        await server.stop()
