"""The seed corpus: valid requests for every RPC, naming real things from the :class:`World`.

Hand-written seeds cover what Gnomon implements (a completion seed per command type, a start with every
option, real task and page tokens); every other RPC gets a request filled by field name
(:func:`filled_by_name`), which is valid as far as its common fields go.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.command.v1 import Command
from temporalio.api.common.v1 import (
    ActivityType,
    Header,
    Memo,
    Payload,
    Payloads,
    RetryPolicy,
    SearchAttributes,
    WorkflowExecution,
    WorkflowType,
)
from temporalio.api.enums.v1 import (
    CommandType,
    IndexedValueType,
    ParentClosePolicy,
    QueryResultType,
    UpdateWorkflowExecutionLifecycleStage,
    WorkflowIdConflictPolicy,
    WorkflowIdReusePolicy,
    WorkflowTaskFailedCause,
)
from temporalio.api.failure.v1 import ApplicationFailureInfo, Failure
from temporalio.api.filter.v1 import StartTimeFilter, WorkflowExecutionFilter, WorkflowTypeFilter
from temporalio.api.namespace.v1 import NamespaceConfig, UpdateNamespaceInfo
from temporalio.api.operatorservice.v1 import request_response_pb2 as operator_api
from temporalio.api.query.v1 import WorkflowQuery, WorkflowQueryResult
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.update.v1 import Input, Meta, Request, UpdateRef, WaitPolicy
from temporalio.api.workflowservice.v1 import request_response_pb2 as api

from tests.fuzz.rpcs import Rpc, all_rpcs
from tests.fuzz.world import NAMESPACE, TARGET_TYPE, World

Seeds = dict[str, list[Message]]

ACCEPTED = UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED


def json_payloads(*values: bytes) -> Payloads:
    return Payloads(payloads=[Payload(metadata={"encoding": b"json/plain"}, data=v) for v in values])


def keyword_attributes(name: str, value: bytes) -> SearchAttributes:
    return SearchAttributes(
        indexed_fields={name: Payload(metadata={"encoding": b"json/plain", "type": b"Keyword"}, data=value)}
    )


def _request_id() -> str:
    return str(uuid.uuid4())


def _start_fields(world: World, workflow_id: str) -> dict[str, Any]:
    """Every option of a start, with plausible values (shared by Start and SignalWithStart)."""
    return {
        "namespace": NAMESPACE,
        "workflow_id": workflow_id,
        "workflow_type": WorkflowType(name=TARGET_TYPE),
        "task_queue": TaskQueue(name=world.task_queue),
        "input": json_payloads(b'"hello"', b"42"),
        "workflow_execution_timeout": Duration(seconds=3600),
        "workflow_run_timeout": Duration(seconds=1800),
        "workflow_task_timeout": Duration(seconds=10),
        "identity": "fuzzer",
        "request_id": _request_id(),
        "workflow_id_reuse_policy": WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
        "retry_policy": RetryPolicy(initial_interval=Duration(seconds=1), backoff_coefficient=2.0, maximum_attempts=3),
        "memo": Memo(fields={"note": json_payloads(b'"memo"').payloads[0]}),
        "search_attributes": keyword_attributes(world.search_attributes[0], b'"kw"'),
        "header": Header(fields={"trace": json_payloads(b'"t"').payloads[0]}),
    }


def _commands(world: World) -> list[Command]:
    """One command of each type Gnomon handles, with the attributes a real SDK sends."""
    queue = TaskQueue(name=world.task_queue)
    other = world.running[1]
    failure = Failure(message="boom", application_failure_info=ApplicationFailureInfo(type="Fuzz"))
    C = CommandType
    specs: list[tuple[int, str, dict[str, Any]]] = [
        (
            C.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK,
            "schedule_activity_task_command_attributes",
            {
                "activity_id": "a1",
                "activity_type": ActivityType(name="FuzzActivity"),
                "task_queue": queue,
                "input": json_payloads(b"1"),
                "schedule_to_close_timeout": Duration(seconds=600),
                "start_to_close_timeout": Duration(seconds=60),
                "heartbeat_timeout": Duration(seconds=10),
                "retry_policy": RetryPolicy(maximum_attempts=2),
            },
        ),
        (
            C.COMMAND_TYPE_START_TIMER,
            "start_timer_command_attributes",
            {"timer_id": "t1", "start_to_fire_timeout": Duration(seconds=3600)},
        ),
        (
            C.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
            "complete_workflow_execution_command_attributes",
            {"result": json_payloads(b'"done"')},
        ),
        (C.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION, "fail_workflow_execution_command_attributes", {"failure": failure}),
        (
            C.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK,
            "request_cancel_activity_task_command_attributes",
            {"scheduled_event_id": 5},
        ),
        (C.COMMAND_TYPE_CANCEL_TIMER, "cancel_timer_command_attributes", {"timer_id": "t1"}),
        (
            C.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION,
            "cancel_workflow_execution_command_attributes",
            {"details": json_payloads(b"1")},
        ),
        (
            C.COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION,
            "request_cancel_external_workflow_execution_command_attributes",
            {"namespace": NAMESPACE, "workflow_id": other.workflow_id, "run_id": other.run_id, "reason": "fuzz"},
        ),
        (
            C.COMMAND_TYPE_RECORD_MARKER,
            "record_marker_command_attributes",
            {"marker_name": "core_local_activity", "details": {"data": json_payloads(b"{}")}},
        ),
        (
            C.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
            "continue_as_new_workflow_execution_command_attributes",
            {
                "workflow_type": WorkflowType(name=TARGET_TYPE),
                "task_queue": queue,
                "input": json_payloads(b"2"),
                "workflow_run_timeout": Duration(seconds=600),
                "workflow_task_timeout": Duration(seconds=10),
                "backoff_start_interval": Duration(seconds=1),
            },
        ),
        (
            C.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION,
            "start_child_workflow_execution_command_attributes",
            {
                "namespace": NAMESPACE,
                "workflow_id": f"fuzz-{world.seed}-child",
                "workflow_type": WorkflowType(name=TARGET_TYPE),
                "task_queue": queue,
                "input": json_payloads(b"3"),
                "workflow_execution_timeout": Duration(seconds=600),
                "parent_close_policy": ParentClosePolicy.PARENT_CLOSE_POLICY_ABANDON,
                "workflow_id_reuse_policy": WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
            },
        ),
        (
            C.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION,
            "signal_external_workflow_execution_command_attributes",
            {"namespace": NAMESPACE, "execution": other, "signal_name": "fuzz", "input": json_payloads(b"4")},
        ),
        (
            C.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
            "upsert_workflow_search_attributes_command_attributes",
            {"search_attributes": keyword_attributes(world.search_attributes[0], b'"up"')},
        ),
        (
            C.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES,
            "modify_workflow_properties_command_attributes",
            {"upserted_memo": Memo(fields={"m": json_payloads(b"5").payloads[0]})},
        ),
        (C.COMMAND_TYPE_PROTOCOL_MESSAGE, "protocol_message_command_attributes", {"message_id": "m1"}),
    ]
    commands = []
    for command_type, field_name, fields in specs:
        command = Command(command_type=command_type)  # type: ignore[arg-type]
        getattr(command, field_name).CopyFrom(
            type(getattr(command, field_name))(**fields)  # attributes message of that field
        )
        commands.append(command)
    return commands


def _respond_workflow_task_completed(world: World) -> list[Message]:
    commands = _commands(world)
    seeds: list[Message] = []
    for i, command in enumerate(commands):
        token = world.workflow_tokens[i % len(world.workflow_tokens)]
        seeds.append(
            api.RespondWorkflowTaskCompletedRequest(
                namespace=NAMESPACE, task_token=token, commands=[command], identity="fuzzer"
            )
        )
    seeds.append(
        api.RespondWorkflowTaskCompletedRequest(
            namespace=NAMESPACE,
            task_token=world.workflow_tokens[0],
            commands=commands[:2] + [commands[2]],
            identity="fuzzer",
            return_new_workflow_task=True,
            force_create_new_workflow_task=True,
            query_results={"q1": WorkflowQueryResult(result_type=QueryResultType.QUERY_RESULT_TYPE_ANSWERED)},
        )
    )
    return seeds


def _activity_seeds(world: World) -> Seeds:
    seeds: Seeds = {name: [] for name in (
        "RecordActivityTaskHeartbeat", "RespondActivityTaskCompleted", "RespondActivityTaskFailed",
        "RespondActivityTaskCanceled", "RecordActivityTaskHeartbeatById", "RespondActivityTaskCompletedById",
        "RespondActivityTaskFailedById", "RespondActivityTaskCanceledById",
    )}  # fmt: skip
    failure = Failure(message="activity failed", application_failure_info=ApplicationFailureInfo(type="Fuzz"))
    for task in world.activities:
        common = {"namespace": NAMESPACE, "identity": "fuzzer"}
        by_id = {**common, "workflow_id": task.execution.workflow_id, "run_id": task.execution.run_id,
                 "activity_id": task.activity_id}  # fmt: skip
        seeds["RecordActivityTaskHeartbeat"].append(
            api.RecordActivityTaskHeartbeatRequest(task_token=task.token, details=json_payloads(b"1"), **common)
        )
        seeds["RespondActivityTaskCompleted"].append(
            api.RespondActivityTaskCompletedRequest(task_token=task.token, result=json_payloads(b"2"), **common)
        )
        seeds["RespondActivityTaskFailed"].append(
            api.RespondActivityTaskFailedRequest(
                task_token=task.token, failure=failure, last_heartbeat_details=json_payloads(b"3"), **common
            )
        )
        seeds["RespondActivityTaskCanceled"].append(
            api.RespondActivityTaskCanceledRequest(task_token=task.token, details=json_payloads(b"4"), **common)
        )
        seeds["RecordActivityTaskHeartbeatById"].append(
            api.RecordActivityTaskHeartbeatByIdRequest(details=json_payloads(b"5"), **by_id)
        )
        seeds["RespondActivityTaskCompletedById"].append(
            api.RespondActivityTaskCompletedByIdRequest(result=json_payloads(b"6"), **by_id)
        )
        seeds["RespondActivityTaskFailedById"].append(
            api.RespondActivityTaskFailedByIdRequest(failure=failure, **by_id)
        )
        seeds["RespondActivityTaskCanceledById"].append(
            api.RespondActivityTaskCanceledByIdRequest(details=json_payloads(b"7"), **by_id)
        )
    return seeds


def _list_seeds(world: World) -> Seeds:
    tokens = world.page_tokens
    queries = ["", f"WorkflowType = '{TARGET_TYPE}'", "ExecutionStatus = 'Running' ORDER BY StartTime DESC",
               f"WorkflowId IN ('{world.running[0].workflow_id}', 'x') AND StartTime > '2020-01-01T00:00:00Z'",
               f"{world.search_attributes[0]} = 'kw' OR TaskQueue = '{world.task_queue}'"]  # fmt: skip
    window = StartTimeFilter(earliest_time=Timestamp(seconds=0), latest_time=Timestamp(seconds=4_102_444_800))
    seeds: Seeds = {
        "ListWorkflowExecutions": [
            api.ListWorkflowExecutionsRequest(namespace=NAMESPACE, page_size=2, query=q) for q in queries
        ]
        + [
            api.ListWorkflowExecutionsRequest(
                namespace=NAMESPACE, page_size=1, next_page_token=tokens["ListWorkflowExecutions"]
            )
        ],
        "ScanWorkflowExecutions": [
            api.ScanWorkflowExecutionsRequest(namespace=NAMESPACE, page_size=1, query=queries[1]),
            api.ScanWorkflowExecutionsRequest(
                namespace=NAMESPACE, page_size=1, next_page_token=tokens["ScanWorkflowExecutions"]
            ),
        ],
        "CountWorkflowExecutions": [api.CountWorkflowExecutionsRequest(namespace=NAMESPACE, query=q) for q in queries]
        + [api.CountWorkflowExecutionsRequest(namespace=NAMESPACE, query="GROUP BY ExecutionStatus")],
        "ListOpenWorkflowExecutions": [
            api.ListOpenWorkflowExecutionsRequest(
                namespace=NAMESPACE,
                maximum_page_size=1,
                next_page_token=tokens["ListOpenWorkflowExecutions"],
                start_time_filter=window,
                type_filter=WorkflowTypeFilter(name=TARGET_TYPE),
            ),
            api.ListOpenWorkflowExecutionsRequest(
                namespace=NAMESPACE,
                start_time_filter=window,
                execution_filter=WorkflowExecutionFilter(workflow_id=world.running[0].workflow_id),
            ),
        ],  # fmt: skip
        "ListClosedWorkflowExecutions": [
            api.ListClosedWorkflowExecutionsRequest(
                namespace=NAMESPACE,
                maximum_page_size=1,
                next_page_token=tokens["ListClosedWorkflowExecutions"],
                start_time_filter=window,
            ),
        ],  # fmt: skip
        "ListNamespaces": [api.ListNamespacesRequest(page_size=1, next_page_token=tokens["ListNamespaces"])],
        "ListBatchOperations": [
            api.ListBatchOperationsRequest(
                namespace=NAMESPACE, page_size=1, next_page_token=tokens["ListBatchOperations"]
            )
        ],
    }
    closed = world.closed[0]
    seeds["GetWorkflowExecutionHistory"] = [
        api.GetWorkflowExecutionHistoryRequest(
            namespace=NAMESPACE, execution=closed, maximum_page_size=1,
            next_page_token=tokens["GetWorkflowExecutionHistory"],
        ),
        api.GetWorkflowExecutionHistoryRequest(namespace=NAMESPACE, execution=closed, history_event_filter_type=2),
    ]  # fmt: skip
    seeds["GetWorkflowExecutionHistoryReverse"] = [
        api.GetWorkflowExecutionHistoryReverseRequest(
            namespace=NAMESPACE, execution=closed, maximum_page_size=1,
            next_page_token=tokens["GetWorkflowExecutionHistoryReverse"],
        )
    ]  # fmt: skip
    return seeds


def _update_request(world: World) -> api.UpdateWorkflowExecutionRequest:
    execution = world.running[2]
    return api.UpdateWorkflowExecutionRequest(
        namespace=NAMESPACE,
        workflow_execution=execution,
        wait_policy=WaitPolicy(lifecycle_stage=ACCEPTED),
        request=Request(
            meta=Meta(update_id=f"fuzz-update-{uuid.uuid4().hex[:8]}", identity="fuzzer"),
            input=Input(name="fuzz-update", args=json_payloads(b"1"), header=Header()),
        ),
    )


def _workflow_seeds(world: World) -> Seeds:
    running, other = world.running[0], world.running[1]
    start = api.StartWorkflowExecutionRequest(**_start_fields(world, f"fuzz-{world.seed}-started"))
    conflict = api.StartWorkflowExecutionRequest(**_start_fields(world, running.workflow_id))
    conflict.workflow_id_conflict_policy = WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
    delayed = api.StartWorkflowExecutionRequest(**_start_fields(world, f"fuzz-{world.seed}-delayed"))
    delayed.workflow_start_delay.CopyFrom(Duration(seconds=60))
    cron = api.StartWorkflowExecutionRequest(**_start_fields(world, f"fuzz-{world.seed}-cron"))
    cron.cron_schedule = "*/5 * * * *"
    signal_with_start = api.SignalWithStartWorkflowExecutionRequest(
        **_start_fields(world, other.workflow_id), signal_name="fuzz", signal_input=json_payloads(b"1")
    )
    update = _update_request(world)
    multi = api.ExecuteMultiOperationRequest(
        namespace=NAMESPACE,
        operations=[
            api.ExecuteMultiOperationRequest.Operation(
                start_workflow=api.StartWorkflowExecutionRequest(**_start_fields(world, f"fuzz-{world.seed}-multi"))
            ),
            api.ExecuteMultiOperationRequest.Operation(update_workflow=update),
        ],
    )
    multi.operations[
        0
    ].start_workflow.workflow_id_conflict_policy = WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
    multi.operations[1].update_workflow.workflow_execution.CopyFrom(
        WorkflowExecution(workflow_id=f"fuzz-{world.seed}-multi")
    )
    update_execution, update_id = world.updates[0]
    return {
        "StartWorkflowExecution": [start, conflict, delayed, cron],
        "SignalWithStartWorkflowExecution": [signal_with_start],
        "ExecuteMultiOperation": [multi],
        "UpdateWorkflowExecution": [update],
        "PollWorkflowExecutionUpdate": [
            api.PollWorkflowExecutionUpdateRequest(
                namespace=NAMESPACE,
                update_ref=UpdateRef(workflow_execution=update_execution, update_id=update_id),
                identity="fuzzer",
                wait_policy=WaitPolicy(lifecycle_stage=ACCEPTED),
            )
        ],
        "SignalWorkflowExecution": [
            api.SignalWorkflowExecutionRequest(
                namespace=NAMESPACE,
                workflow_execution=running,
                signal_name="fuzz",
                input=json_payloads(b"1"),
                identity="fuzzer",
                request_id=_request_id(),
                header=Header(),
            )
        ],  # fmt: skip
        "RequestCancelWorkflowExecution": [
            api.RequestCancelWorkflowExecutionRequest(
                namespace=NAMESPACE,
                workflow_execution=other,
                identity="fuzzer",
                request_id=_request_id(),
                first_execution_run_id=other.run_id,
                reason="fuzz",
            )
        ],  # fmt: skip
        "TerminateWorkflowExecution": [
            api.TerminateWorkflowExecutionRequest(
                namespace=NAMESPACE,
                workflow_execution=world.running[-1],
                reason="fuzz",
                details=json_payloads(b"1"),
                identity="fuzzer",
            )
        ],  # fmt: skip
        "DeleteWorkflowExecution": [
            api.DeleteWorkflowExecutionRequest(namespace=NAMESPACE, workflow_execution=world.running[-2])
        ],
        "QueryWorkflow": [
            api.QueryWorkflowRequest(
                namespace=NAMESPACE,
                execution=world.closed[1],
                query=WorkflowQuery(query_type="__stack_trace", query_args=json_payloads(b"1")),
                query_reject_condition=1,
            )
        ],  # fmt: skip
        "RespondQueryTaskCompleted": [
            api.RespondQueryTaskCompletedRequest(
                namespace=NAMESPACE,
                task_token=token,
                completed_type=QueryResultType.QUERY_RESULT_TYPE_ANSWERED,
                query_result=json_payloads(b'"answer"'),
            )
            for token in world.query_tokens
        ],  # fmt: skip
        "RespondWorkflowTaskCompleted": _respond_workflow_task_completed(world),
        "RespondWorkflowTaskFailed": [
            api.RespondWorkflowTaskFailedRequest(
                namespace=NAMESPACE,
                task_token=world.workflow_tokens[-1],
                identity="fuzzer",
                cause=WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
                failure=Failure(message="task failed", stack_trace="at fuzz()"),
            )
        ],  # fmt: skip
    }


def _namespace_seeds(world: World) -> Seeds:
    return {
        "RegisterNamespace": [
            api.RegisterNamespaceRequest(
                namespace=f"fuzz-{world.seed}-new-{uuid.uuid4().hex[:6]}",
                description="fuzz",
                owner_email="fuzz@example.com",
                workflow_execution_retention_period=Duration(seconds=86400),
                data={"k": "v"},
            )
        ],  # fmt: skip
        "UpdateNamespace": [
            api.UpdateNamespaceRequest(
                namespace=world.fuzz_namespace,
                update_info=UpdateNamespaceInfo(description="updated", owner_email="o@example.com", data={"a": "b"}),
                config=NamespaceConfig(workflow_execution_retention_ttl=Duration(seconds=172800)),
            )
        ],
        "DescribeNamespace": [
            api.DescribeNamespaceRequest(namespace=NAMESPACE),
            api.DescribeNamespaceRequest(namespace=world.fuzz_namespace),
        ],
        "DeleteNamespace": [operator_api.DeleteNamespaceRequest(namespace=name) for name in world.doomed_namespaces],
        "AddSearchAttributes": [
            operator_api.AddSearchAttributesRequest(
                namespace=NAMESPACE,
                search_attributes={f"FuzzInt{uuid.uuid4().hex[:6]}": IndexedValueType.INDEXED_VALUE_TYPE_INT},
            )
        ],
        "RemoveSearchAttributes": [
            operator_api.RemoveSearchAttributesRequest(namespace=NAMESPACE, search_attributes=["FuzzNotThere"])
        ],
        "StartBatchOperation": [
            _batch(world, "termination_operation"),
            _batch(world, "cancellation_operation"),
            _batch(world, "signal_operation"),
            _batch(world, "deletion_operation"),
        ],
        "DescribeBatchOperation": [
            api.DescribeBatchOperationRequest(namespace=NAMESPACE, job_id=j) for j in world.job_ids
        ],
        "DescribeTaskQueue": [
            api.DescribeTaskQueueRequest(
                namespace=NAMESPACE,
                task_queue=TaskQueue(name=world.task_queue),
                task_queue_type=t,
                report_stats=True,
                report_pollers=True,
            )  # noqa: E501
            for t in (1, 2)
        ],
    }


def _batch(world: World, operation: str) -> api.StartBatchOperationRequest:
    """A batch on the world's batch targets only (a mutant may widen the query: that is its business)."""
    request = api.StartBatchOperationRequest(
        namespace=NAMESPACE,
        job_id=f"fuzz-job-{uuid.uuid4().hex[:8]}",
        reason="fuzz",
        visibility_query="WorkflowType = 'FuzzBatchTarget'",
        max_operations_per_second=10,
    )
    getattr(request, operation).SetInParent()
    if operation == "signal_operation":
        request.signal_operation.signal = "fuzz"
        request.signal_operation.input.CopyFrom(json_payloads(b"1"))
    return request


def filled_by_name(rpc: Rpc, world: World) -> Message:
    """A request whose common fields (namespace, execution, task queue, ids) hold real values."""
    request = rpc.request_type()
    execution = world.running[0]
    by_name: dict[str, Callable[[], Any]] = {
        "namespace": lambda: NAMESPACE,
        "workflow_id": lambda: execution.workflow_id,
        "run_id": lambda: execution.run_id,
        "identity": lambda: "fuzzer",
        "request_id": _request_id,
        "job_id": lambda: world.job_ids[0],
        "activity_id": lambda: world.activities[0].activity_id,
        "task_token": lambda: world.workflow_tokens[0],
        "schedule_id": lambda: f"fuzz-{world.seed}-schedule",
        "query": lambda: f"WorkflowType = '{TARGET_TYPE}'",
        "reason": lambda: "fuzz",
    }
    for fd in request.DESCRIPTOR.fields:
        if fd.message_type is not None and fd.message_type.full_name == WorkflowExecution.DESCRIPTOR.full_name:
            getattr(request, fd.name).CopyFrom(execution)
        elif fd.message_type is not None and fd.message_type.full_name == TaskQueue.DESCRIPTOR.full_name:
            getattr(request, fd.name).CopyFrom(TaskQueue(name=world.task_queue))
        elif fd.name == "task_queue" and fd.type == fd.TYPE_STRING:
            request.task_queue = world.task_queue  # type: ignore[attr-defined]
        elif fd.name in by_name and fd.type == fd.TYPE_STRING and not fd.is_repeated:
            setattr(request, fd.name, by_name[fd.name]())
        elif fd.name == "task_token" and fd.type == fd.TYPE_BYTES:
            request.task_token = by_name["task_token"]()  # type: ignore[attr-defined]
    return request


def build_seeds(world: World) -> Seeds:
    """At least one seed for every RPC of :func:`all_rpcs`, built from the world as it is now."""
    seeds: Seeds = {}
    for part in (_workflow_seeds, _activity_seeds, _list_seeds, _namespace_seeds):
        seeds.update(part(world))
    for rpc in all_rpcs():
        if not seeds.get(rpc.name):
            seeds[rpc.name] = [filled_by_name(rpc, world)]
    for rpc in all_rpcs():
        assert all(isinstance(s, rpc.request_type) for s in seeds[rpc.name]), rpc.name
    return seeds
