"""Workflows and activities the UI tests run through the official SDK.

Imported inside the SDK's workflow sandbox: standard library and ``temporalio`` only.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError


@activity.defn
async def charge(order_id: str) -> dict[str, Any]:
    return {"order": order_id, "amount": 42.5, "currency": "EUR"}


@activity.defn
async def ship(order_id: str) -> str:
    return f"parcel-{order_id}"


@activity.defn
async def flaky(order_id: str) -> str:
    activity.heartbeat({"progress": activity.info().attempt})
    raise ApplicationError(f"warehouse for {order_id} is offline", type="WarehouseDown")


ACTIVITIES = [charge, ship, flaky]


@workflow.defn
class OrderWorkflow:
    """A timer, then two activities; returns a JSON object."""

    @workflow.run
    async def run(self, order_id: str) -> dict[str, Any]:
        await workflow.sleep(timedelta(milliseconds=300))
        receipt = await workflow.execute_activity(charge, order_id, start_to_close_timeout=timedelta(seconds=10))
        parcel = await workflow.execute_activity(ship, order_id, start_to_close_timeout=timedelta(seconds=10))
        return {"order": order_id, "status": "shipped", "parcel": parcel, "receipt": receipt}


@workflow.defn
class ApprovalWorkflow:
    """Waits for an ``approve`` signal; answers a ``status`` query meanwhile."""

    def __init__(self) -> None:
        self.approved_by = ""

    @workflow.run
    async def run(self, request: str) -> str:
        await workflow.wait_condition(lambda: bool(self.approved_by))
        return f"{request} approved by {self.approved_by}"

    @workflow.signal
    def approve(self, by: str) -> None:
        self.approved_by = by

    @workflow.query
    def status(self) -> dict[str, str]:
        return {"state": "approved" if self.approved_by else "waiting", "by": self.approved_by}


@workflow.defn
class FlakyWorkflow:
    """An activity that keeps failing and retrying: pending work with attempts and a last failure."""

    @workflow.run
    async def run(self, order_id: str) -> str:
        return await workflow.execute_activity(
            flaky,
            order_id,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=200), backoff_coefficient=1.5,
                                     maximum_interval=timedelta(seconds=2)),
        )  # fmt: skip


@workflow.defn
class FailingWorkflow:
    @workflow.run
    async def run(self, order_id: str) -> None:
        raise ApplicationError(f"card declined for {order_id}", {"code": 51}, type="PaymentError", non_retryable=True)


@workflow.defn
class ParentWorkflow:
    """Runs an order as a child workflow."""

    @workflow.run
    async def run(self, order_id: str) -> dict[str, Any]:
        child_id = f"{workflow.info().workflow_id}-child"
        return await workflow.execute_child_workflow(OrderWorkflow.run, order_id, id=child_id)


@workflow.defn
class LoopWorkflow:
    """Continues as new until the counter runs out: a chain of runs."""

    @workflow.run
    async def run(self, remaining: int) -> str:
        if remaining > 0:
            await asyncio.sleep(0.05)
            workflow.continue_as_new(remaining - 1)
        return "done"


WORKFLOWS = [OrderWorkflow, ApprovalWorkflow, FlakyWorkflow, FailingWorkflow, ParentWorkflow, LoopWorkflow]
