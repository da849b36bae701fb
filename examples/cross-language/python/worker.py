"""The Python worker: Python workflows on 'hello-task-queue', Python activities on
'python-activity-task-queue'. Runs until SIGINT (Ctrl-C) or SIGTERM.

    python worker.py
"""

import asyncio
import os
import signal

from temporalio.client import Client
from temporalio.worker import Worker

# isort: split
from activities import ACTIVITIES
from names import PYTHON_ACTIVITY_TASK_QUEUE, PYTHON_WORKFLOW_TASK_QUEUE, temporal_address, temporal_namespace
from workflows import WORKFLOWS


async def main() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    client = await Client.connect(temporal_address(), namespace=temporal_namespace())
    identity = f"python-worker-{os.getpid()}"
    workflow_worker = Worker(client, task_queue=PYTHON_WORKFLOW_TASK_QUEUE, workflows=WORKFLOWS, identity=identity)
    activity_worker = Worker(client, task_queue=PYTHON_ACTIVITY_TASK_QUEUE, activities=ACTIVITIES, identity=identity)
    async with workflow_worker, activity_worker:
        print(
            f"Python worker ready: workflows on {PYTHON_WORKFLOW_TASK_QUEUE}, "
            f"activities on {PYTHON_ACTIVITY_TASK_QUEUE}, server {temporal_address()}",
            flush=True,
        )
        await stop.wait()
    print("Python worker stopped", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
