"""Workflows in every state for the UI tests (and for looking at the UI by hand).

``python -m tests.ui.seed HOST:PORT`` seeds a running server and keeps a worker going
until interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from dataclasses import dataclass

from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.worker import Worker

from tests.ui.workflows import (
    ACTIVITIES,
    WORKFLOWS,
    ApprovalWorkflow,
    FailingWorkflow,
    FlakyWorkflow,
    LoopWorkflow,
    OrderWorkflow,
    ParentWorkflow,
)

#: A search attribute every namespace has (predefined, as on the reference dev server).
TIER = SearchAttributeKey.for_keyword("CustomKeywordField")

#: How many runs of each status :func:`seed` leaves behind (3 orders + parent + its child + the loop's last run...).
SEEDED_COUNTS = {"Running": 2, "Completed": 6, "Failed": 1, "ContinuedAsNew": 2, "Canceled": 0, "Terminated": 0}


@dataclass
class Seeded:
    """The ids of what :func:`seed` started."""

    task_queue: str
    orders: list[str]
    approval: str
    flaky: str
    failing: str
    parent: str
    loop: str


def worker(client: Client, task_queue: str) -> Worker:
    return Worker(client, task_queue=task_queue, workflows=WORKFLOWS, activities=ACTIVITIES)


async def _settle(handle: WorkflowHandle) -> None:
    with contextlib.suppress(Exception):  # failing on purpose is part of the seed
        await handle.result()


async def seed(client: Client, task_queue: str, *, orders: int = 3) -> Seeded:
    """Start completed, failed, running (signal-waiting, retrying), parent/child and continued-as-new runs.

    Needs a worker on ``task_queue``; returns once the runs meant to close have closed.
    """
    tag = uuid.uuid4().hex[:6]
    seeded = Seeded(
        task_queue=task_queue,
        orders=[f"order-{tag}-{i}" for i in range(orders)],
        approval=f"approval-{tag}",
        flaky=f"flaky-{tag}",
        failing=f"failing-{tag}",
        parent=f"parent-{tag}",
        loop=f"loop-{tag}",
    )
    closing = [
        await client.start_workflow(
            OrderWorkflow.run,
            wid,
            id=wid,
            task_queue=task_queue,
            memo={"customer": "ada"},
            search_attributes=TypedSearchAttributes([SearchAttributePair(TIER, "vip" if i == 0 else "standard")]),
        )
        for i, wid in enumerate(seeded.orders)
    ]
    closing.append(await client.start_workflow(FailingWorkflow.run, "o-1", id=seeded.failing, task_queue=task_queue))
    closing.append(await client.start_workflow(ParentWorkflow.run, "o-2", id=seeded.parent, task_queue=task_queue))
    closing.append(await client.start_workflow(LoopWorkflow.run, 2, id=seeded.loop, task_queue=task_queue))
    await client.start_workflow(ApprovalWorkflow.run, "refund #7", id=seeded.approval, task_queue=task_queue)
    await client.start_workflow(FlakyWorkflow.run, "o-3", id=seeded.flaky, task_queue=task_queue)
    await asyncio.gather(*(_settle(h) for h in closing))
    return seeded


async def _main(address: str) -> None:
    client = await Client.connect(address)
    task_queue = "ui-demo"
    async with worker(client, task_queue):
        print(await seed(client, task_queue), flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1]))
