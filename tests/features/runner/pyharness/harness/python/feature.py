"""What a ``features/<area>/<name>/feature.py`` file needs: ``register_feature`` and the ``Runner`` it drives.

A feature file calls :func:`register_feature` at import time with its workflows,
activities and optional hooks; the runner then connects a client, runs a worker on the
feature's task queue, starts the workflow (``start`` hook or one parameterless workflow)
and checks the outcome (``check_result`` hook or the expectations given). A feature
skips itself by raising :class:`SkipFeatureException`.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, ClientConfig, WorkflowFailureError, WorkflowHandle
from temporalio.converter import DataConverter
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker, WorkerConfig

logger = logging.getLogger(__name__)

StartHook = Callable[["Runner"], Awaitable[WorkflowHandle]]
CheckHook = Callable[["Runner", WorkflowHandle], Awaitable[None]]

#: Every feature registered so far, by its directory relative to ``features/`` ("area/name").
features: dict[str, Feature] = {}


class SkipFeatureException(Exception):
    """Raised by a feature (or a runner helper) when the server cannot run it; the message says why."""


@dataclass
class Feature:
    """One registered feature: what its worker hosts and how it is started and checked."""

    file: str
    rel_dir: str
    workflows: list[type]
    activities: list[Callable[..., Any]] = field(default_factory=list)
    expect_activity_error: str | None = None
    expect_run_result: Any = None
    start: StartHook | None = None
    start_options: Mapping[str, Any] = field(default_factory=dict)
    check_result: CheckHook | None = None
    worker_config: WorkerConfig = field(default_factory=lambda: WorkerConfig())
    data_converter: DataConverter = DataConverter.default
    additional_client_config: ClientConfig = field(default_factory=lambda: ClientConfig())  # type: ignore[typeddict-item]


def register_feature(
    *,
    workflows: list[type],
    activities: list[Callable[..., Any]] | None = None,
    expect_activity_error: str | None = None,
    expect_run_result: Any = None,
    file: str | None = None,
    start: StartHook | None = None,
    start_options: Mapping[str, Any] | None = None,
    check_result: CheckHook | None = None,
    worker_config: WorkerConfig | None = None,
    data_converter: DataConverter = DataConverter.default,
    additional_client_config: ClientConfig | None = None,
) -> None:
    """Record the calling feature file's feature under its "area/name" directory."""
    # The workflow sandbox re-imports feature modules to run their workflows; only the
    # first, real import registers anything.
    if workflow.unsafe.in_sandbox():
        return
    path = Path(file or inspect.stack()[1].filename)
    if len(path.parts) < 3:
        raise ValueError(f"a feature file lives at features/<area>/<name>/feature.py, not {path}")
    rel_dir = f"{path.parts[-3]}/{path.parts[-2]}"
    features[rel_dir] = Feature(
        file=str(path),
        rel_dir=rel_dir,
        workflows=list(workflows),
        activities=list(activities or []),
        expect_activity_error=expect_activity_error,
        expect_run_result=expect_run_result,
        start=start,
        start_options=dict(start_options or {}),
        check_result=check_result,
        worker_config=worker_config if worker_config is not None else WorkerConfig(),
        data_converter=data_converter,
        additional_client_config=additional_client_config or ClientConfig(),  # type: ignore[typeddict-item]
    )


async def _first_event(handle: WorkflowHandle, event_type: EventType.ValueType) -> HistoryEvent:
    async for event in handle.fetch_history_events():
        if event.event_type == event_type:
            return event
    raise AssertionError(f"no {EventType.Name(event_type)} event in the history of {handle.id}")


async def get_workflow_result_payload(handle: WorkflowHandle) -> Payload:
    """The first payload of the workflow's completion result, as recorded in its history."""
    event = await _first_event(handle, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
    return event.workflow_execution_completed_event_attributes.result.payloads[0]


async def get_workflow_argument_payload(handle: WorkflowHandle) -> Payload:
    """The first payload of the workflow's input, as recorded in its started event."""
    event = await _first_event(handle, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
    return event.workflow_execution_started_event_attributes.input.payloads[0]


class Runner:
    """Runs one feature: a client, a worker on the feature's task queue, the start and the checks."""

    def __init__(
        self,
        *,
        address: str,
        namespace: str,
        task_queue: str,
        feature: Feature,
        http_proxy_url: str | None = None,
    ) -> None:
        self.address = address
        self.namespace = namespace
        self.task_queue = task_queue
        self.feature = feature
        self.http_proxy_url = http_proxy_url
        self.client: Client
        self.worker: Worker | None = None
        self._worker_run: asyncio.Task[None] | None = None

    async def run(self) -> None:
        """Run the feature; raises on failure, :class:`SkipFeatureException` when it skips itself."""
        self.client = await Client.connect(
            self.address,
            namespace=self.namespace,
            data_converter=self.feature.data_converter,
            **self.feature.additional_client_config,  # type: ignore[misc]
        )
        self.start_worker()
        try:
            if self.feature.start is not None:
                handle = await self.feature.start(self)
            else:
                handle = await self.start_single_parameterless_workflow()
            if self.feature.check_result is not None:
                await self.feature.check_result(self, handle)
            else:
                await self.check_result(handle)
        finally:
            await self.stop_worker()

    # -- starting workflows ----------------------------------------------------------------

    async def start_single_parameterless_workflow(self, *, override_client: Client | None = None) -> WorkflowHandle:
        """Start the feature's only workflow without arguments (``start_options`` apply)."""
        if len(self.feature.workflows) != 1:
            raise ValueError(f"{self.feature.rel_dir} registers {len(self.feature.workflows)} workflows, not one")
        return await self.start_parameterless_workflow(self.feature.workflows[0], override_client=override_client)

    async def start_parameterless_workflow(
        self, workflow_cls: type, *, override_client: Client | None = None
    ) -> WorkflowHandle:
        """Start ``workflow_cls`` on the feature's task queue with a one-minute execution timeout by default."""
        options: dict[str, Any] = {
            "id": f"{self.feature.rel_dir}-{uuid.uuid4()}",
            "task_queue": self.task_queue,
            "execution_timeout": timedelta(minutes=1),
            **self.feature.start_options,
        }
        name = workflow._Definition.must_from_class(workflow_cls).name
        if name is None:
            raise ValueError(f"{workflow_cls.__name__} is a dynamic workflow: it has no name to start")
        return await (override_client or self.client).start_workflow(name, **options)

    # -- checking --------------------------------------------------------------------------

    async def check_result(self, handle: WorkflowHandle) -> None:
        """The default check: the run's result equals ``expect_run_result`` when given; a failed run
        must have failed with the activity error ``expect_activity_error`` when given, else it fails the feature.
        """
        try:
            result = await handle.result()
        except WorkflowFailureError as err:
            expected = self.feature.expect_activity_error
            if expected is None:
                raise
            activity_error = err.cause
            if not isinstance(activity_error, ActivityError) or not isinstance(activity_error.cause, ApplicationError):
                raise AssertionError(f"expected the activity error {expected!r}, got {err.cause!r}") from err
            if activity_error.cause.message != expected:
                raise AssertionError(
                    f"expected the activity error {expected!r}, got {activity_error.cause.message!r}"
                ) from err
            return
        if self.feature.expect_run_result is not None:
            assert result == self.feature.expect_run_result, f"{result!r} != {self.feature.expect_run_result!r}"

    async def wait_for_event(
        self,
        handle: WorkflowHandle,
        predicate: Callable[[HistoryEvent], bool],
        timeout: float = 30.0,
        poll_interval: float = 0.1,
    ) -> HistoryEvent:
        """Poll the history of ``handle`` until an event satisfies ``predicate``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            async for event in handle.fetch_history_events():
                if predicate(event):
                    return event
            await asyncio.sleep(poll_interval)
        raise RuntimeError(f"no matching event in the history of {handle.id} within {timeout}s")

    async def wait_for_activity_task_scheduled(self, handle: WorkflowHandle, timeout: float = 30.0) -> HistoryEvent:
        """Wait until the workflow of ``handle`` has scheduled an activity."""
        return await self.wait_for_event(
            handle, lambda e: e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, timeout
        )

    async def skip_if_update_unsupported(self) -> None:
        """Skip the feature when the server refuses workflow updates altogether.

        An update to a workflow that does not exist answers NOT_FOUND where updates are
        supported; PERMISSION_DENIED (disabled by dynamic config) or UNIMPLEMENTED means they are not.
        """
        try:
            await self.client.get_workflow_handle(f"no-such-workflow-{uuid.uuid4()}").execute_update("no-such-update")
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return
            if err.status in (RPCStatusCode.PERMISSION_DENIED, RPCStatusCode.UNIMPLEMENTED):
                raise SkipFeatureException(f"the server does not support workflow updates: {err.message}") from err
            raise

    # -- the worker ------------------------------------------------------------------------

    def start_worker(self) -> None:
        """Start a worker for the feature's workflows and activities on its task queue."""
        if self.worker is not None:
            raise RuntimeError("the feature's worker is already running")
        self.worker = Worker(
            self.client,
            task_queue=self.task_queue,
            workflows=self.feature.workflows,
            activities=self.feature.activities,
            **self.feature.worker_config,  # type: ignore[misc]
        )
        self._worker_run = asyncio.create_task(self.worker.run())

    async def stop_worker(self) -> None:
        """Shut the worker down and wait for it (re-raising what made it fail, if anything)."""
        worker, run = self.worker, self._worker_run
        self.worker, self._worker_run = None, None
        if worker is None or run is None:
            return
        await worker.shutdown()
        await run
