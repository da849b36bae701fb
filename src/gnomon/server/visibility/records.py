"""What visibility stores about a run, and how a stored row becomes a WorkflowExecutionInfo."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from temporalio.api.common.v1 import Memo, Payload, SearchAttributes, WorkflowExecution, WorkflowType
from temporalio.api.workflow.v1 import WorkflowExecutionInfo

from gnomon.server.history.mutable_state import MutableState
from gnomon.server.persistence.interface import VisibilityRecord
from gnomon.server.visibility.query_sql import index_values, micros_to_timestamp, to_micros
from gnomon.server.visibility.search_attributes import SYSTEM_ATTRIBUTES

logger = logging.getLogger(__name__)

# The columns of ``visibility`` in the order list queries select them.
LIST_COLUMNS = (
    "run_id, workflow_id, workflow_type, status, start_time, execution_time, close_time, execution_duration,"
    " history_length, history_size_bytes, state_transition_count, task_queue, parent_workflow_id, parent_run_id,"
    " root_workflow_id, root_run_id, memo, search_attributes"
)
DIVISION = "TemporalNamespaceDivision"


def decode_payload(payload: Payload) -> Any:
    """A search attribute payload's JSON value (None if it is not JSON)."""
    try:
        return json.loads(payload.data)
    except ValueError:
        return None


def visibility_record(ms: MutableState, custom_types: Mapping[str, int]) -> VisibilityRecord:
    """The run's visibility row as of now."""
    started = ms.started
    root = started.root_workflow_execution if started.HasField("root_workflow_execution") else None
    close_micros = to_micros_float(ms.close_time) if ms.close_time is not None else None
    search_rows: list[tuple[str, Any]] = []
    division = None
    shown = ms.visible_search_attributes()
    for name, payload in shown.indexed_fields.items():
        value = decode_payload(payload)
        if name == DIVISION:
            division = value if isinstance(value, str) else None
            continue
        value_type = custom_types.get(name) or SYSTEM_ATTRIBUTES.get(name)
        if value_type is None or value is None:
            continue  # an attribute removed since, or not JSON: it cannot be searched
        try:
            search_rows += [(name, v) for v in index_values(value_type, value)]
        except (TypeError, ValueError):
            logger.warning("search attribute %s has a value of the wrong type", name, extra={"run_id": ms.run_id})
    columns: dict[str, Any] = {
        "namespace_id": ms.namespace_id,
        "run_id": ms.run_id,
        "workflow_id": ms.workflow_id,
        "workflow_type": ms.workflow_type,
        "status": ms.status,
        "start_time": to_micros_float(ms.start_time),
        "execution_time": to_micros_float(ms.execution_time),
        "close_time": close_micros,
        "execution_duration": int((ms.close_time - ms.execution_time) * 1e9) if ms.close_time is not None else None,
        "history_length": ms.next_event_id - 1,
        "history_size_bytes": ms.history_size_bytes,
        "state_transition_count": ms.db_version,
        "task_queue": ms.task_queue,
        "parent_workflow_id": ms.parent.workflow_id if ms.parent else None,
        "parent_run_id": ms.parent.run_id if ms.parent else None,
        "root_workflow_id": root.workflow_id if root else ms.workflow_id,
        "root_run_id": root.run_id if root else ms.run_id,
        "namespace_division": division,
        "memo": ms.memo.SerializeToString(),
        "search_attributes": shown.SerializeToString(),
    }
    return VisibilityRecord(columns=columns, search_rows=search_rows)


def to_micros_float(epoch_seconds: float) -> int:
    return int(round(epoch_seconds * 1_000_000))


def execution_info(row: tuple[Any, ...], parent_namespace_id: str) -> WorkflowExecutionInfo:
    """A WorkflowExecutionInfo from a row selected with :data:`LIST_COLUMNS`."""
    (run_id, workflow_id, workflow_type, status, start, execution, close, duration, length, size, transitions,
     task_queue, parent_workflow_id, parent_run_id, root_workflow_id, root_run_id, memo, search) = row  # fmt: skip
    info = WorkflowExecutionInfo(
        execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id),
        type=WorkflowType(name=workflow_type),
        start_time=micros_to_timestamp(start),
        status=status,
        history_length=length or 0,
        execution_time=micros_to_timestamp(execution),
        task_queue=task_queue,
        history_size_bytes=size or 0,
        state_transition_count=transitions or 0,
        root_execution=WorkflowExecution(workflow_id=root_workflow_id, run_id=root_run_id),
    )
    if close is not None:
        info.close_time.CopyFrom(micros_to_timestamp(close))
        info.execution_duration.FromNanoseconds(duration or 0)
    if parent_workflow_id:
        info.parent_namespace_id = parent_namespace_id
        info.parent_execution.CopyFrom(WorkflowExecution(workflow_id=parent_workflow_id, run_id=parent_run_id or ""))
    if memo:
        info.memo.CopyFrom(Memo.FromString(memo))
    if search:
        info.search_attributes.CopyFrom(SearchAttributes.FromString(search))
    return info


__all__ = ["LIST_COLUMNS", "execution_info", "to_micros", "visibility_record"]
