"""Workflows running local activities (kept apart so they import cleanly in the sandbox)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy


@activity.defn
async def slow_local(seconds: float) -> str:
    """Outlasts the workflow task timeout, so the worker must heartbeat the workflow task."""
    await asyncio.sleep(seconds)
    return f"slept {seconds}"


@activity.defn
async def flaky_local(fail_times: int) -> int:
    """Fails its first ``fail_times`` attempts."""
    attempt = activity.info().attempt
    if attempt <= fail_times:
        raise RuntimeError(f"attempt {attempt} fails")
    return attempt


@workflow.defn
class SlowLocalActivityWorkflow:
    @workflow.run
    async def run(self, seconds: float) -> str:
        return await workflow.execute_local_activity(
            slow_local, seconds, start_to_close_timeout=timedelta(seconds=seconds + 5)
        )


@workflow.defn
class RetriedLocalActivityWorkflow:
    @workflow.run
    async def run(self, fail_times: int) -> int:
        return await workflow.execute_local_activity(
            flaky_local,
            fail_times,
            start_to_close_timeout=timedelta(seconds=5),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=400), backoff_coefficient=1.0),
        )
