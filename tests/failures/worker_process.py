"""An SDK worker a test runs in a child process so it can SIGKILL it (a worker that dies).

    python -m tests.failures.worker_process --address HOST:PORT --task-queue TQ --marker FILE

It registers every failure-suite workflow and one activity, ``stall_first_attempt``, which
heartbeats its argument, writes ``FILE`` (attempt number and details) and then hangs: the
task stays in this process's hands until the process dies. Prints ``worker ready`` once polling.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import timedelta
from pathlib import Path

from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from tests.failures.workflows import ALL_WORKFLOWS


def make_activity(marker: Path):  # noqa: ANN201 - an activity function
    @activity.defn(name="stall_first_attempt")
    async def stall_first_attempt(details: str) -> list[object]:
        info = activity.info()
        activity.heartbeat(details)
        marker.write_text(f"attempt {info.attempt} {details}")
        await asyncio.Event().wait()  # hang until the process is killed
        return []

    return stall_first_attempt


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", required=True)
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--marker", required=True, type=Path)
    parser.add_argument("--sticky-timeout", type=float, default=10.0)
    args = parser.parse_args()
    client = await Client.connect(args.address, namespace="default")
    worker = Worker(
        client,
        task_queue=args.task_queue,
        workflows=ALL_WORKFLOWS,
        activities=[make_activity(args.marker)],
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=args.sticky_timeout),
        disable_eager_activity_execution=True,
    )
    async with worker:
        print("worker ready", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
