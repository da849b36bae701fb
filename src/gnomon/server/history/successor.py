"""Runs that follow a closing run in the same chain: retries and cron runs.

(Continue-as-new builds its successor from the command; see commands.py.) The new run
is committed in the same transaction that closes its predecessor, and the workflow id's
current-run pointer moves to it there too.
"""

from __future__ import annotations

from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import ContinueAsNewInitiator, RetryState
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import WorkflowExecutionStartedEventAttributes

from gnomon.server.history import cron, retry
from gnomon.server.history.engine import HistoryEngine, Transition
from gnomon.server.history.mutable_state import MutableState
from gnomon.server.history.runs import new_run
from gnomon.server.ids import new_id
from gnomon.server.persistence.interface import CurrentChange
from gnomon.server.protoutil import copy_fields


def retry_backoff(engine: HistoryEngine, ms: MutableState, failure: Failure | None) -> tuple[float | None, int]:
    """The delay before a retry of this failed or timed-out run, or None, with the retry state."""
    if not ms.started.HasField("retry_policy"):
        return None, RetryState.RETRY_STATE_RETRY_POLICY_NOT_SET
    policy = retry.with_defaults(ms.started.retry_policy)
    return retry.next_backoff(
        policy, ms.started.attempt, failure, now=engine.now(), expiration=ms.execution_expiration_time
    )


def cron_backoff(engine: HistoryEngine, ms: MutableState) -> float | None:
    """Seconds until the next cron run, or None for a workflow without a cron schedule."""
    if not ms.started.cron_schedule:
        return None
    return cron.parse(ms.started.cron_schedule).backoff(engine.now())


def retry_or_cron(engine: HistoryEngine, tx: Transition, failure: Failure | None) -> tuple[int, str]:
    """After a failure or timeout: start a retry if the policy allows, else the next cron run.

    Returns the retry state to record and the successor's run id ("" if there is none).
    """
    delay, state = retry_backoff(engine, tx.ms, failure)
    if delay is not None:
        initiator, backoff = ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_RETRY, delay
    else:
        next_cron = cron_backoff(engine, tx.ms)
        if next_cron is None:
            return state, ""
        initiator, backoff = ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE, next_cron
    return state, start_successor(engine, tx, initiator=initiator, backoff=backoff, failure=failure)


def start_successor(
    engine: HistoryEngine,
    tx: Transition,
    *,
    initiator: int,
    backoff: float,
    failure: Failure | None = None,
    last_completion_result: Payloads | None = None,
) -> str:
    """Append the next retry or cron run of the chain to the transition; returns its run id."""
    ms = tx.ms
    attrs = WorkflowExecutionStartedEventAttributes(
        continued_execution_run_id=ms.run_id,
        initiator=initiator,  # type: ignore[arg-type]
        first_execution_run_id=ms.started.first_execution_run_id,
        attempt=ms.started.attempt + 1 if initiator == ContinueAsNewInitiator.CONTINUE_AS_NEW_INITIATOR_RETRY else 1,
        prev_auto_reset_points=ms.auto_reset_points,
    )
    copy_fields(
        attrs, ms.started, "workflow_type", "task_queue", "input", "workflow_execution_timeout",
        "workflow_run_timeout", "workflow_task_timeout", "header", "retry_policy", "cron_schedule",
        "parent_workflow_namespace", "parent_workflow_namespace_id", "parent_workflow_execution",
        "parent_initiated_event_id", "root_workflow_execution",
    )  # fmt: skip
    if attrs.HasField("input") and not attrs.input.payloads:
        attrs.ClearField("input")  # the reference does not carry an empty input over
    if ms.memo.fields:
        attrs.memo.CopyFrom(ms.memo)
    if ms.search_attributes.indexed_fields:
        attrs.search_attributes.CopyFrom(ms.search_attributes)
    if failure is not None:
        attrs.continued_failure.CopyFrom(failure)
    result = last_completion_result or (
        ms.started.last_completion_result if ms.started.HasField("last_completion_result") else None
    )
    if result is not None:
        attrs.last_completion_result.CopyFrom(result)
    return append_successor(engine, tx, attrs, backoff)


def append_successor(
    engine: HistoryEngine,
    tx: Transition,
    attrs: WorkflowExecutionStartedEventAttributes,
    backoff: float,
    run_id: str = "",
) -> str:
    """Create the run that ``attrs`` describe as the closing run's successor; returns its id."""
    ms = tx.ms
    run_id = run_id or new_id()
    successor = new_run(
        engine,
        namespace_id=ms.namespace_id,
        namespace=ms.namespace,
        workflow_id=ms.workflow_id,
        run_id=run_id,
        request_id=new_id(),
        attrs=attrs,
        backoff=backoff,
        execution_expiration_time=ms.execution_expiration_time,
    )
    # The parent hears about the chain's last run, not this one.
    ms.parent_notified = True
    ms.result_run_id = run_id
    change = CurrentChange(expected_run_id=ms.run_id, start_request_id=successor.start_request_id)
    tx.new_runs.append((successor, change))
    return run_id
