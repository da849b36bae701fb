"""The ``sdk`` driver: the official Python SDK's client and worker, as a user runs them.

Each driver process runs one SDK ``Worker`` (default options: sandboxed workflows,
sticky queues, a workflow cache) on its own task queue, and a starter that calls
``client.start_workflow`` and then ``handle.result()``, which long-polls the run's
history for its close event. Latency is therefore what an application sees.

    python -m bench.drivers.sdk --address 127.0.0.1:7233 --workload one_activity \\
        --concurrency 10 --workflows 100
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from temporalio.client import Client
from temporalio.worker import Worker

from bench.drivers import common
from bench.drivers.sdk_workflows import ACTIVITIES, WORKFLOWS
from bench.workloads import NAMESPACE, SIGNAL_NAME, Workload


class SdkSession:
    """Starts runs of one workload with the SDK client and awaits their results."""

    def __init__(self, client: Client, workload: Workload, task_queue: str) -> None:
        self._client = client
        self._workload = workload
        self._task_queue = task_queue

    async def execute(self, workflow_id: str) -> None:
        handle = await self._client.start_workflow(
            self._workload.workflow_type, id=workflow_id, task_queue=self._task_queue
        )
        if self._workload.needs_signal:
            await handle.signal(SIGNAL_NAME)
        await handle.result()


@asynccontextmanager
async def open_session(config: common.DriverConfig) -> AsyncIterator[SdkSession]:
    """A client, a running SDK worker on ``config.task_queue`` and a starter."""
    client = await Client.connect(config.address, namespace=NAMESPACE)
    async with Worker(client, task_queue=config.task_queue, workflows=WORKFLOWS, activities=ACTIVITIES):
        yield SdkSession(client, config.workload, config.task_queue)


if __name__ == "__main__":
    common.main(__doc__.splitlines()[0], open_session)
