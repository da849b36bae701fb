"""Work one run does on another: starting children, reporting a child's close to its
parent, signalling or cancelling other workflows, and applying parent close policies.

Each piece is derived from the initiating run's committed state (a child initiated but
not started, a signal initiated but not delivered...), so after a crash the same work is
simply done again; request ids make the repeat harmless.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from google.protobuf.message import Message
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import (
    CancelExternalWorkflowExecutionFailedCause,
    EventType,
    ParentClosePolicy,
    SignalExternalWorkflowExecutionFailedCause,
    StartChildWorkflowExecutionFailedCause,
)
from temporalio.api.history.v1 import (
    ChildWorkflowExecutionCanceledEventAttributes,
    ChildWorkflowExecutionCompletedEventAttributes,
    ChildWorkflowExecutionFailedEventAttributes,
    ChildWorkflowExecutionStartedEventAttributes,
    ChildWorkflowExecutionTerminatedEventAttributes,
    ChildWorkflowExecutionTimedOutEventAttributes,
    ExternalWorkflowExecutionCancelRequestedEventAttributes,
    ExternalWorkflowExecutionSignaledEventAttributes,
    HistoryEvent,
    RequestCancelExternalWorkflowExecutionFailedEventAttributes,
    SignalExternalWorkflowExecutionFailedEventAttributes,
    StartChildWorkflowExecutionFailedEventAttributes,
    WorkflowExecutionStartedEventAttributes,
)

from gnomon.server.errors import AlreadyExistsError, NotFoundError
from gnomon.server.history.engine import CrossRunWork, HistoryEngine, RunContext
from gnomon.server.history.events import read_events
from gnomon.server.history.lifecycle import (
    SignalInput,
    StartOptions,
    request_cancel,
    signal_workflow,
    start_workflow,
    terminate,
)
from gnomon.server.history.mutable_state import ExternalRequestInfo, MutableState, attributes_field_of_type
from gnomon.server.history.wants import Wants
from gnomon.server.history.workflow_task import schedule_workflow_task
from gnomon.server.ids import new_id
from gnomon.server.protoutil import copy_fields

logger = logging.getLogger(__name__)

PARENT_WAIT_SECONDS = 30.0
# The identity the reference records on what the server does on a workflow's behalf.
SERVER_IDENTITY = "history-service"


def derive(engine: HistoryEngine, ms: MutableState, wants: Wants) -> None:
    """The work this run owes other runs: until it is done, the run is found again at start-up."""
    del engine
    if ms.is_open:
        for initiated_id, child in ms.children.items():
            if not child.started_event_id:
                wants.cross_run(f"child:{initiated_id}", _start_child_work(initiated_id))
        for initiated_id in ms.signals_out:
            wants.cross_run(f"signal:{initiated_id}", _external_work(_SIGNAL, initiated_id))
        for initiated_id in ms.cancels_out:
            wants.cross_run(f"cancel:{initiated_id}", _external_work(_CANCEL, initiated_id))
        return
    if ms.parent is not None and not ms.parent_notified:
        wants.cross_run("notify-parent", _notify_parent)
    if not ms.parent_close_policy_applied and any(
        c.parent_close_policy != ParentClosePolicy.PARENT_CLOSE_POLICY_ABANDON for c in ms.children.values()
    ):
        wants.cross_run("parent-close-policy", _apply_parent_close_policy)


# -- children ------------------------------------------------------------------------------


def _start_child_work(initiated_id: int) -> CrossRunWork:
    async def work(engine: HistoryEngine, ctx: RunContext) -> None:
        child = ctx.ms.children.get(initiated_id)
        if child is None or child.started_event_id:
            return
        parent = ctx.ms
        init = child.initiated_event.start_child_workflow_execution_initiated_event_attributes
        attrs = WorkflowExecutionStartedEventAttributes(
            parent_workflow_namespace=parent.namespace,
            parent_workflow_namespace_id=parent.namespace_id,
            parent_workflow_execution=WorkflowExecution(workflow_id=parent.workflow_id, run_id=parent.run_id),
            parent_initiated_event_id=initiated_id,
        )
        copy_fields(
            attrs, init, "workflow_type", "task_queue", "input", "workflow_execution_timeout", "workflow_run_timeout",
            "workflow_task_timeout", "header", "memo", "search_attributes", "cron_schedule", "priority",
        )  # fmt: skip
        if init.HasField("retry_policy"):
            attrs.retry_policy.CopyFrom(init.retry_policy)
        root = parent.started.root_workflow_execution if parent.started.HasField("root_workflow_execution") else None
        attrs.root_workflow_execution.CopyFrom(
            root or WorkflowExecution(workflow_id=parent.workflow_id, run_id=parent.run_id)
        )
        options = StartOptions(
            namespace_id=child.namespace_id,
            namespace=child.namespace,
            workflow_id=child.workflow_id,
            request_id=child.create_request_id,
            reuse_policy=init.workflow_id_reuse_policy,
            # The summary and details the parent's command gave its initiated event.
            user_metadata=child.initiated_event.user_metadata
            if child.initiated_event.HasField("user_metadata")
            else None,
        )

        try:
            outcome = await start_workflow(engine, options, attrs, run_id=new_id())
        except AlreadyExistsError:
            await _child_start_failed(engine, ctx, initiated_id)
            return
        async with engine.transition(ctx) as tx:
            info = tx.ms.children.get(initiated_id)
            if not tx.ms.is_open or info is None or info.started_event_id:
                return
            event = tx.ms.add_or_buffer_event(
                ChildWorkflowExecutionStartedEventAttributes(
                    namespace=child.namespace,
                    namespace_id=child.namespace_id,
                    initiated_event_id=initiated_id,
                    workflow_execution=WorkflowExecution(workflow_id=child.workflow_id, run_id=outcome.run_id),
                    workflow_type=init.workflow_type,
                    header=init.header,
                )
            )
            info.run_id = outcome.run_id
            # A buffered event has no id yet; any non-zero value marks the child started.
            info.started_event_id = event.event_id or -1
            tx.dirty = True
            schedule_workflow_task(engine, tx.ms)

    return work


async def _child_start_failed(engine: HistoryEngine, ctx: RunContext, initiated_id: int) -> None:
    async with engine.transition(ctx) as tx:
        child = tx.ms.children.pop(initiated_id, None)
        if not tx.ms.is_open or child is None:
            return
        init = child.initiated_event.start_child_workflow_execution_initiated_event_attributes
        tx.ms.add_or_buffer_event(
            StartChildWorkflowExecutionFailedEventAttributes(
                namespace=child.namespace,
                namespace_id=child.namespace_id,
                workflow_id=child.workflow_id,
                workflow_type=init.workflow_type,
                cause=StartChildWorkflowExecutionFailedCause.START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_WORKFLOW_ALREADY_EXISTS,
                control=init.control,
                initiated_event_id=initiated_id,
            )
        )
        schedule_workflow_task(engine, tx.ms)


_CHILD_CLOSE_EVENTS: dict[int, type[Message]] = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: ChildWorkflowExecutionCompletedEventAttributes,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: ChildWorkflowExecutionFailedEventAttributes,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: ChildWorkflowExecutionCanceledEventAttributes,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: ChildWorkflowExecutionTimedOutEventAttributes,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: ChildWorkflowExecutionTerminatedEventAttributes,
}


def _child_close_attributes(close: HistoryEvent) -> Message | None:
    cls = _CHILD_CLOSE_EVENTS.get(close.event_type)
    if cls is None:
        return None
    attrs = cls()
    source = getattr(close, attributes_field_of_type(close.event_type))
    for name in ("result", "failure", "details", "retry_state"):
        if name in cls.DESCRIPTOR.fields_by_name and name in source.DESCRIPTOR.fields_by_name:
            value = getattr(source, name)
            if isinstance(value, Message):
                if source.HasField(name):
                    getattr(attrs, name).CopyFrom(value)
            else:
                setattr(attrs, name, value)
    return attrs


async def _notify_parent(engine: HistoryEngine, ctx: RunContext) -> None:
    """Tell the parent this child closed (the first run of the chain is what it started)."""
    ms = ctx.ms
    parent_info = ms.parent
    assert parent_info is not None
    close = (await read_events(engine.persistence, ms.namespace_id, ms.run_id, ms.close_event_id))[:1]
    attrs = _child_close_attributes(close[0]) if close else None
    parent = await engine.context_or_none(parent_info.namespace_id, parent_info.run_id)
    deadline = asyncio.get_running_loop().time() + PARENT_WAIT_SECONDS
    while parent is not None and attrs is not None:
        async with engine.transition(parent) as tx:
            child = tx.ms.children.get(parent_info.initiated_event_id)
            if not tx.ms.is_open or child is None:
                break
            if child.started_event_id:
                for name, value in (
                    ("namespace", ms.namespace),
                    ("namespace_id", ms.namespace_id),
                    ("initiated_event_id", child.initiated_event_id),
                    ("started_event_id", child.started_event_id),
                ):
                    setattr(attrs, name, value)
                attrs.workflow_execution.CopyFrom(WorkflowExecution(workflow_id=child.workflow_id, run_id=child.run_id))  # type: ignore[attr-defined]
                attrs.workflow_type.name = child.workflow_type  # type: ignore[attr-defined]
                tx.ms.add_or_buffer_event(attrs)
                del tx.ms.children[child.initiated_event_id]
                schedule_workflow_task(engine, tx.ms)
                break
        # The parent has not recorded the child's start yet (that work is in flight).
        if asyncio.get_running_loop().time() > deadline:
            logger.warning("parent never recorded child start", extra={"run_id": ms.run_id})
            break
        await asyncio.sleep(0.05)
    async with engine.transition(ctx) as tx:
        tx.ms.parent_notified = True
        tx.dirty = True


async def _apply_parent_close_policy(engine: HistoryEngine, ctx: RunContext) -> None:
    for child in list(ctx.ms.children.values()):
        if child.parent_close_policy == ParentClosePolicy.PARENT_CLOSE_POLICY_ABANDON or not child.run_id:
            continue
        try:
            target = await engine.resolve(child.namespace_id, child.workflow_id, "")
            if child.run_id not in (target.ms.run_id, target.ms.started.first_execution_run_id):
                continue  # the id now belongs to an unrelated workflow
            if child.parent_close_policy == ParentClosePolicy.PARENT_CLOSE_POLICY_TERMINATE:
                await terminate(engine, target, reason="by parent close policy", details=None, identity=SERVER_IDENTITY)
            else:
                parent = WorkflowExecution(workflow_id=ctx.ms.workflow_id, run_id=ctx.ms.run_id)
                await request_cancel(
                    engine, target, reason="", identity=SERVER_IDENTITY, request_id="", external=parent
                )
        except NotFoundError:
            continue  # already closed or gone
    async with engine.transition(ctx) as tx:
        tx.ms.parent_close_policy_applied = True
        tx.dirty = True


# -- signals and cancellations to other workflows -----------------------------------------


@dataclass(frozen=True)
class _ExternalKind:
    """What differs between signalling and cancelling another workflow."""

    pending: Callable[[MutableState], dict[int, ExternalRequestInfo]]
    initiated: Callable[[HistoryEvent], Message]
    deliver: Callable[[HistoryEngine, RunContext, RunContext, ExternalRequestInfo, Message], Awaitable[None]]
    delivered_event: Callable[[Message, int], Message]
    failed_event: type[Message]
    failed_cause: int


async def _deliver_signal(
    engine: HistoryEngine, ctx: RunContext, target: RunContext, request: ExternalRequestInfo, init: Message
) -> None:
    await signal_workflow(
        engine,
        target,
        SignalInput(
            name=init.signal_name,  # type: ignore[attr-defined]
            input=init.input if init.HasField("input") else None,  # type: ignore[attr-defined]
            identity="",
            request_id=request.request_id,
            header=init.header if init.HasField("header") else None,  # type: ignore[attr-defined]
            external=WorkflowExecution(workflow_id=ctx.ms.workflow_id, run_id=ctx.ms.run_id),
        ),
    )


async def _deliver_cancel(
    engine: HistoryEngine, ctx: RunContext, target: RunContext, request: ExternalRequestInfo, init: Message
) -> None:
    await request_cancel(
        engine,
        target,
        reason=init.reason,  # type: ignore[attr-defined]
        identity=SERVER_IDENTITY,
        request_id=request.request_id,
        external_initiated_event_id=request.initiated_event_id,
        external=WorkflowExecution(workflow_id=ctx.ms.workflow_id, run_id=ctx.ms.run_id),
    )


_SIGNAL = _ExternalKind(
    pending=lambda ms: ms.signals_out,
    initiated=lambda event: event.signal_external_workflow_execution_initiated_event_attributes,
    deliver=_deliver_signal,
    delivered_event=lambda init, initiated_id: ExternalWorkflowExecutionSignaledEventAttributes(
        initiated_event_id=initiated_id,
        namespace=init.namespace,  # type: ignore[attr-defined]
        namespace_id=init.namespace_id,  # type: ignore[attr-defined]
        workflow_execution=init.workflow_execution,  # type: ignore[attr-defined]
        control=init.control,  # type: ignore[attr-defined]
    ),
    failed_event=SignalExternalWorkflowExecutionFailedEventAttributes,
    failed_cause=SignalExternalWorkflowExecutionFailedCause.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND,
)
_CANCEL = _ExternalKind(
    pending=lambda ms: ms.cancels_out,
    initiated=lambda event: event.request_cancel_external_workflow_execution_initiated_event_attributes,
    deliver=_deliver_cancel,
    delivered_event=lambda init, initiated_id: ExternalWorkflowExecutionCancelRequestedEventAttributes(
        initiated_event_id=initiated_id,
        namespace=init.namespace,  # type: ignore[attr-defined]
        namespace_id=init.namespace_id,  # type: ignore[attr-defined]
        workflow_execution=init.workflow_execution,  # type: ignore[attr-defined]
    ),
    failed_event=RequestCancelExternalWorkflowExecutionFailedEventAttributes,
    failed_cause=CancelExternalWorkflowExecutionFailedCause.CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND,
)


def _external_work(kind: _ExternalKind, initiated_id: int) -> CrossRunWork:
    """Deliver a signal or cancel request to another workflow, then record how it went."""

    async def work(engine: HistoryEngine, ctx: RunContext) -> None:
        request = kind.pending(ctx.ms).get(initiated_id)
        if request is None:
            return
        init = kind.initiated(request.initiated_event)
        target_exec = init.workflow_execution  # type: ignore[attr-defined]
        delivered = True
        try:
            target = await engine.resolve(init.namespace_id, target_exec.workflow_id, target_exec.run_id)  # type: ignore[attr-defined]
            await kind.deliver(engine, ctx, target, request, init)
        except NotFoundError:
            delivered = False
        async with engine.transition(ctx) as tx:
            if kind.pending(tx.ms).pop(initiated_id, None) is None or not tx.ms.is_open:
                return
            if delivered:
                attrs = kind.delivered_event(init, initiated_id)
            else:
                attrs = kind.failed_event(
                    cause=kind.failed_cause,  # type: ignore[call-arg]
                    namespace=init.namespace,  # type: ignore[attr-defined]
                    namespace_id=init.namespace_id,  # type: ignore[attr-defined]
                    workflow_execution=target_exec,
                    initiated_event_id=initiated_id,
                    control=init.control,  # type: ignore[attr-defined]
                )
            tx.ms.add_or_buffer_event(attrs)
            schedule_workflow_task(engine, tx.ms)

    return work
