"""The fuzzer's own parts: wire round trips, reproducible mutants, the verdict on each answer."""

from __future__ import annotations

import grpc
from temporalio.api.common.v1 import Payload, WorkflowExecution
from temporalio.api.workflowservice.v1 import SignalWorkflowExecutionRequest

from tests.fuzz import wire
from tests.fuzz.byte_mutations import lie_about_a_length
from tests.fuzz.calls import UNPARSABLE_PREFIX, Answer, problem
from tests.fuzz.known import KnownFinding
from tests.fuzz.mutator import mutate, request_rng
from tests.fuzz.proto_mutations import ValuePool
from tests.fuzz.rpcs import all_rpcs, rpc_named

REQUEST = SignalWorkflowExecutionRequest(
    namespace="default",
    workflow_execution=WorkflowExecution(workflow_id="w", run_id="r"),
    signal_name="s",
    input={"payloads": [Payload(metadata={"encoding": b"json/plain"}, data=b"1")]},
)


def test_wire_parse_and_encode_round_trip() -> None:
    data = REQUEST.SerializeToString()
    assert wire.encode(wire.parse(data)) == data


def test_a_lying_length_is_the_only_change() -> None:
    data = REQUEST.SerializeToString()
    for index in range(50):
        mutated, _ = lie_about_a_length(request_rng(1, index), data)
        assert mutated != data
        assert len(mutated) - len(data) in range(-10, 11), "only a length prefix changes"


def test_mutants_are_reproducible_from_seed_and_index() -> None:
    pool = ValuePool(strings=["x"], blobs=[b"y"])
    first = [mutate(request_rng(7, i), REQUEST, pool) for i in range(30)]
    again = [mutate(request_rng(7, i), REQUEST, pool) for i in range(30)]
    assert first == again
    assert len({m.data for m in first}) > 20


def test_internal_is_a_defect_unless_the_bytes_do_not_parse() -> None:
    rpc = rpc_named("SignalWorkflowExecution")
    internal = Answer(grpc.StatusCode.INTERNAL, f"{UNPARSABLE_PREFIX}: bad wire", 0.01, 30.0)
    assert problem(rpc, b"\x0a\xff", internal) is None
    assert problem(rpc, REQUEST.SerializeToString(), internal) == "INTERNAL"
    assert problem(rpc, b"", Answer(grpc.StatusCode.UNKNOWN, "", 0.01, 30.0)) == "UNKNOWN"
    assert problem(rpc, b"", Answer(grpc.StatusCode.NOT_FOUND, "", 0.01, 30.0)) is None
    assert problem(rpc, b"", Answer(grpc.StatusCode.DEADLINE_EXCEEDED, "", 30.0, 30.0)) is not None
    assert (
        problem(rpc_named("PollWorkflowTaskQueue"), b"", Answer(grpc.StatusCode.DEADLINE_EXCEEDED, "", 2.5, 2.5))
        is None
    )


def test_every_rpc_of_both_services_is_fuzzed() -> None:
    names = {r.name for r in all_rpcs()}
    assert {"StartWorkflowExecution", "CreateSchedule", "AddSearchAttributes", "ListClusters"} <= names
    assert rpc_named("StartWorkflowExecution").implemented and not rpc_named("CreateSchedule").implemented


def test_the_allow_list_matches_only_what_it_names() -> None:
    example = KnownFinding("ListClusters", "INTERNAL", r"^internal error$", "an example")
    assert example.matches("ListClusters", "INTERNAL", "internal error")
    assert not example.matches("StartWorkflowExecution", "INTERNAL", "internal error")
    assert not example.matches("ListClusters", "UNKNOWN", "internal error")
