"""Worker build ids and deployments, recorded on events as the reference records them.

Gnomon has no worker versioning (no build-id assignment rules, no worker deployments), but
workers still say which build they are, and the SDKs read that back from history: sdk-core
takes ``workflow.info().get_current_build_id()`` (and the current deployment version) from
the WorkflowTaskCompleted events it replays. So, like the reference:

* WorkflowTaskStarted carries the polling worker's build id (``worker_version``), taken from
  the poll's ``worker_version_capabilities`` unless the worker uses deployment versioning;
* WorkflowTaskCompleted carries what the completing worker sent: its ``worker_version_stamp``,
  binary checksum, deployment name and (for a versioned worker) deployment version;
* ActivityTaskStarted carries the ``worker_version`` of the worker that reported the outcome.

The rules mirror the reference's ``worker_versioning`` package (StampFromCapabilities,
DeploymentVersionFromOptions, DeploymentOrVersion) for the unversioned case it shares with us.
"""

from __future__ import annotations

from temporalio.api.common.v1 import WorkerVersionCapabilities, WorkerVersionStamp
from temporalio.api.deployment.v1 import WorkerDeploymentOptions, WorkerDeploymentVersion
from temporalio.api.enums.v1 import VersioningBehavior, WorkerVersioningMode
from temporalio.api.history.v1 import WorkflowTaskCompletedEventAttributes
from temporalio.api.workflowservice.v1 import RespondWorkflowTaskCompletedRequest

VERSIONED = WorkerVersioningMode.WORKER_VERSIONING_MODE_VERSIONED


def poll_stamp(capabilities: WorkerVersionCapabilities, options: WorkerDeploymentOptions) -> WorkerVersionStamp | None:
    """The stamp a task started for this poller records, if any.

    None for a worker using deployment versioning (its deployment is recorded instead) and for
    one that gave no build id.
    """
    if options.worker_versioning_mode == VERSIONED and options.deployment_name:
        return None
    if capabilities.use_versioning and capabilities.deployment_series_name:
        return None
    if not capabilities.build_id:
        return None
    return WorkerVersionStamp(build_id=capabilities.build_id, use_versioning=capabilities.use_versioning)


def completion_stamp(request: RespondWorkflowTaskCompletedRequest) -> WorkerVersionStamp | None:
    """The stamp of a completing worker, for the started event of a transient task written now.

    A stamp asking for (build-id based) versioning is dropped: the run has no assigned build,
    and recording one would put it under versioning rules Gnomon does not have.
    """
    stamp = request.worker_version_stamp
    if not request.HasField("worker_version_stamp") or stamp.use_versioning:
        return None
    return stamp


def record_completion(
    attrs: WorkflowTaskCompletedEventAttributes, request: RespondWorkflowTaskCompletedRequest
) -> None:
    """Fill the WorkflowTaskCompleted event's worker version and deployment fields from the request."""
    attrs.binary_checksum = request.binary_checksum
    if request.HasField("worker_version_stamp"):
        attrs.worker_version.CopyFrom(request.worker_version_stamp)
    options = request.deployment_options
    attrs.worker_deployment_name = options.deployment_name or request.deployment.series_name
    version = _deployment_version(request)
    if version is not None:
        attrs.deployment_version.CopyFrom(version)
    # The reference ignores a behavior reported by a worker that does not use versioning
    # (an SDK bug sends its default one).
    behavior = request.versioning_behavior
    if request.HasField("deployment_options") and options.worker_versioning_mode != VERSIONED:
        behavior = VersioningBehavior.VERSIONING_BEHAVIOR_UNSPECIFIED
    attrs.versioning_behavior = behavior


def _deployment_version(request: RespondWorkflowTaskCompletedRequest) -> WorkerDeploymentVersion | None:
    """The deployment version of a versioned worker (or of the deprecated ``deployment`` field)."""
    options = request.deployment_options
    if options.worker_versioning_mode == VERSIONED:
        name, build_id = options.deployment_name, options.build_id
    else:
        name, build_id = request.deployment.series_name, request.deployment.build_id
    if not name or not build_id:
        return None
    return WorkerDeploymentVersion(deployment_name=name, build_id=build_id)
