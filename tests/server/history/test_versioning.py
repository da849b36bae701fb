"""What the worker version rules record (the versioned cases the differential suite cannot run:
the reference needs a worker deployment for them)."""

from __future__ import annotations

from temporalio.api.common.v1 import WorkerVersionCapabilities, WorkerVersionStamp
from temporalio.api.deployment.v1 import Deployment, WorkerDeploymentOptions, WorkerDeploymentVersion
from temporalio.api.enums.v1 import VersioningBehavior, WorkerVersioningMode
from temporalio.api.history.v1 import WorkflowTaskCompletedEventAttributes
from temporalio.api.workflowservice.v1 import RespondWorkflowTaskCompletedRequest

from gnomon.server.history import versioning

VERSIONED = WorkerVersioningMode.WORKER_VERSIONING_MODE_VERSIONED
UNVERSIONED = WorkerVersioningMode.WORKER_VERSIONING_MODE_UNVERSIONED
PINNED = VersioningBehavior.VERSIONING_BEHAVIOR_PINNED


def test_a_poll_stamp_names_the_build_unless_the_worker_uses_deployments() -> None:
    caps = WorkerVersionCapabilities(build_id="b1")
    assert versioning.poll_stamp(caps, WorkerDeploymentOptions()) == WorkerVersionStamp(build_id="b1")
    unversioned = WorkerDeploymentOptions(deployment_name="d", build_id="b1", worker_versioning_mode=UNVERSIONED)
    assert versioning.poll_stamp(caps, unversioned) == WorkerVersionStamp(build_id="b1")
    versioned = WorkerDeploymentOptions(deployment_name="d", build_id="b1", worker_versioning_mode=VERSIONED)
    assert versioning.poll_stamp(caps, versioned) is None
    assert versioning.poll_stamp(WorkerVersionCapabilities(), WorkerDeploymentOptions()) is None


def test_a_transient_task_drops_a_stamp_that_asks_for_versioning() -> None:
    plain = RespondWorkflowTaskCompletedRequest(worker_version_stamp=WorkerVersionStamp(build_id="b1"))
    assert versioning.completion_stamp(plain) == WorkerVersionStamp(build_id="b1")
    legacy = WorkerVersionStamp(build_id="b1", use_versioning=True)
    assert versioning.completion_stamp(RespondWorkflowTaskCompletedRequest(worker_version_stamp=legacy)) is None
    assert versioning.completion_stamp(RespondWorkflowTaskCompletedRequest()) is None


def _completed(request: RespondWorkflowTaskCompletedRequest) -> WorkflowTaskCompletedEventAttributes:
    attrs = WorkflowTaskCompletedEventAttributes()
    versioning.record_completion(attrs, request)
    return attrs


def test_a_versioned_worker_records_its_deployment_version_and_behavior() -> None:
    options = WorkerDeploymentOptions(deployment_name="d", build_id="b1", worker_versioning_mode=VERSIONED)
    attrs = _completed(RespondWorkflowTaskCompletedRequest(deployment_options=options, versioning_behavior=PINNED))
    assert attrs.worker_deployment_name == "d"
    assert attrs.deployment_version == WorkerDeploymentVersion(deployment_name="d", build_id="b1")
    assert attrs.versioning_behavior == PINNED


def test_an_unversioned_worker_records_its_deployment_name_but_no_version_or_behavior() -> None:
    options = WorkerDeploymentOptions(deployment_name="d", build_id="b1", worker_versioning_mode=UNVERSIONED)
    attrs = _completed(RespondWorkflowTaskCompletedRequest(deployment_options=options, versioning_behavior=PINNED))
    assert attrs.worker_deployment_name == "d"
    assert not attrs.HasField("deployment_version")
    assert attrs.versioning_behavior == VersioningBehavior.VERSIONING_BEHAVIOR_UNSPECIFIED


def test_the_deprecated_deployment_field_still_counts() -> None:
    attrs = _completed(
        RespondWorkflowTaskCompletedRequest(deployment=Deployment(series_name="s", build_id="b1"), binary_checksum="c")
    )
    assert attrs.worker_deployment_name == "s"
    assert attrs.deployment_version == WorkerDeploymentVersion(deployment_name="s", build_id="b1")
    assert attrs.binary_checksum == "c"
    half = _completed(RespondWorkflowTaskCompletedRequest(deployment=Deployment(series_name="s")))
    assert not half.HasField("deployment_version")
