"""Differential scenarios for worker build ids (without worker versioning).

A worker with a build id (``Worker(build_id=...)``, or a deployment config without
versioning) sends it with its polls and completions; the reference records it on the
workflow task and activity events, and the SDK reads it back from the WorkflowTaskCompleted
events it replays (``workflow.info().get_current_build_id()``). The workers here cache no
workflows, so every task replays the history and shows what the server recorded.

Like ``scenarios.py`` this module is imported by the workflow sandbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from temporalio import workflow

from tests.differential.scenarios import ACTIVITY_TIMEOUT, Scenario, ScenarioRun, greet, outcome

with workflow.unsafe.imports_passed_through():
    from google.protobuf.json_format import MessageToDict
    from temporalio.client import Client, WorkflowHandle
    from temporalio.common import WorkerDeploymentVersion
    from temporalio.worker import WorkerDeploymentConfig

BUILD_ID = "diff-build-1"
DEPLOYMENT = WorkerDeploymentVersion(deployment_name="diff-deployment", build_id="diff-build-2")


def _build() -> dict[str, Any]:
    info = workflow.info()
    version = info.get_current_deployment_version()
    return {
        "build_id": info.get_current_build_id(),
        "deployment": None if version is None else [version.deployment_name, version.build_id],
    }


@workflow.defn
class BuildReportingWorkflow:
    """Reports the build it runs on before and after an activity, and when queried."""

    @workflow.run
    async def run(self) -> list[dict[str, Any]]:
        seen = [_build()]
        await workflow.execute_activity(greet, "build", start_to_close_timeout=ACTIVITY_TIMEOUT)
        seen.append(_build())
        return seen

    @workflow.query
    def build(self) -> dict[str, Any]:
        return _build()


async def described_build(handle: WorkflowHandle[Any, Any]) -> dict[str, Any]:
    """What DescribeWorkflowExecution says of the build that last completed a workflow task."""
    info = (await handle.describe()).raw_description.workflow_execution_info
    return {
        "most_recent_worker_version_stamp": MessageToDict(
            info.most_recent_worker_version_stamp, preserving_proto_field_name=True
        ),
        "worker_deployment_name": info.worker_deployment_name,
    }


async def _report_build(client: Client, task_queue: str, workflow_id: str) -> ScenarioRun:
    handle = await client.start_workflow(BuildReportingWorkflow.run, id=workflow_id, task_queue=task_queue)
    observations = await outcome(handle)
    # Answered by replaying the closed workflow's history on the worker.
    observations["query_after_completion"] = await handle.query(BuildReportingWorkflow.build)
    observations["described"] = await described_build(handle)
    return ScenarioRun([await handle.fetch_history()], observations)


VERSIONING_SCENARIOS: Sequence[Scenario] = (
    Scenario(
        "build_id_worker",
        _report_build,
        workflows=(BuildReportingWorkflow,),
        worker_options=(("build_id", BUILD_ID), ("max_cached_workflows", 0)),
    ),
    Scenario(
        "deployment_worker_unversioned",
        _report_build,
        workflows=(BuildReportingWorkflow,),
        worker_options=(
            ("deployment_config", WorkerDeploymentConfig(version=DEPLOYMENT, use_worker_versioning=False)),
            ("max_cached_workflows", 0),
        ),
    ),
)
