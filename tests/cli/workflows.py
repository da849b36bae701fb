"""Workflows the CLI tests run on an SDK worker (their own module, for the SDK's workflow sandbox)."""

from __future__ import annotations

from temporalio import workflow


@workflow.defn(name="CliEcho")
class CliEcho:
    """Returns its input, decorated: what ``temporal workflow execute`` / ``result`` print."""

    @workflow.run
    async def run(self, value: str) -> str:
        return f"echo: {value}"


@workflow.defn(name="CliWaiter")
class CliWaiter:
    """Collects signalled values until ``finish``; answers the ``values`` query; honours cancellation."""

    def __init__(self) -> None:
        self.values: list[str] = []
        self.done = False

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: self.done)  # a cancellation raises here: the run closes CANCELED
        return self.values

    @workflow.signal
    def add(self, value: str) -> None:
        self.values.append(value)

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.query
    def values_so_far(self) -> list[str]:
        return self.values


ALL_WORKFLOWS = [CliEcho, CliWaiter]
