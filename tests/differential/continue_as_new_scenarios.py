"""Differential scenarios for the server's continue-as-new suggestion.

Once a run's history reaches ``limit.historyCount.suggestContinueAsNew`` events or
``limit.historySize.suggestContinueAsNew`` bytes, the reference marks each WorkflowTaskStarted
event ``suggest_continue_as_new`` (with the reasons), which the SDK shows the workflow as
``workflow.info().is_continue_as_new_suggested()``. These scenarios need servers started with
:data:`SUGGESTION_DYNAMIC_CONFIG` (low limits), so they have their own test module.

Like ``scenarios.py`` this module is imported by the workflow sandbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from temporalio import activity, workflow

from tests.differential.scenarios import ACTIVITY_TIMEOUT, Scenario, ScenarioRun, greet, outcome

with workflow.unsafe.imports_passed_through():
    from temporalio.client import Client

#: A workflow task started at event 12 or later suggests continue-as-new...
HISTORY_COUNT_LIMIT = 12
#: ...and so does one started once the history holds 16 KiB.
HISTORY_SIZE_LIMIT = 16 * 1024
SUGGESTION_DYNAMIC_CONFIG = (
    f"limit.historyCount.suggestContinueAsNew={HISTORY_COUNT_LIMIT}",
    f"limit.historySize.suggestContinueAsNew={HISTORY_SIZE_LIMIT}",
)
#: Far past the size limit on any encoding, far below it without this payload.
BIG_RESULT_BYTES = 3 * HISTORY_SIZE_LIMIT


@activity.defn
async def big_result() -> str:
    return "x" * BIG_RESULT_BYTES


def _seen() -> dict[str, Any]:
    info = workflow.info()
    return {"history_length": info.get_current_history_length(), "suggested": info.is_continue_as_new_suggested()}


@workflow.defn
class LongHistoryWorkflow:
    """Runs activities until the server suggests continuing as new, then does; the next run ends at once.

    Each activity adds six events, so the tasks start at events 3, 9, 15: the third is past
    the count limit.
    """

    @workflow.run
    async def run(self, previous_run: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
        if previous_run is not None:
            return [*previous_run, _seen()]
        seen = [_seen()]
        while not workflow.info().is_continue_as_new_suggested():
            await workflow.execute_activity(greet, "again", start_to_close_timeout=ACTIVITY_TIMEOUT)
            seen.append(_seen())
        workflow.continue_as_new(seen)


@workflow.defn
class BigHistoryWorkflow:
    """One activity with a big result: the next task starts with the history past the size limit."""

    @workflow.run
    async def run(self) -> list[dict[str, Any]]:
        seen = [_seen()]
        await workflow.execute_activity(big_result, start_to_close_timeout=ACTIVITY_TIMEOUT)
        seen.append(_seen())
        size = workflow.info().get_current_history_size()
        seen.append({"history_size_past_limit": size >= HISTORY_SIZE_LIMIT})
        return seen


async def _too_many_events(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
    handle = await client.start_workflow(LongHistoryWorkflow.run, None, id=workflow_id, task_queue=task_queue)
    observations = await outcome(handle)  # follows the chain of runs
    first_run = client.get_workflow_handle(workflow_id, run_id=handle.first_execution_run_id)
    latest_run = client.get_workflow_handle(workflow_id)
    return ScenarioRun([await first_run.fetch_history(), await latest_run.fetch_history()], observations)


async def _too_many_bytes(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
    handle = await client.start_workflow(BigHistoryWorkflow.run, id=workflow_id, task_queue=task_queue)
    observations = await outcome(handle)
    return ScenarioRun([await handle.fetch_history()], observations)


SUGGESTION_SCENARIOS: Sequence[Scenario] = (
    Scenario("suggest_continue_as_new_event_count", _too_many_events, workflows=(LongHistoryWorkflow,)),
    Scenario(
        "suggest_continue_as_new_history_size",
        _too_many_bytes,
        workflows=(BigHistoryWorkflow,),
        activities=(big_result,),
    ),
)
