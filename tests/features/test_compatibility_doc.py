"""``docs/compatibility.md`` is generated from the status table and Gnomon's servicers; it must be current."""

from __future__ import annotations

from tests.features.runner import compat, status


def test_compatibility_doc_is_generated_from_the_table_and_the_servicers() -> None:
    want = compat.generate(status.load())
    have = compat.DOC_PATH.read_text() if compat.DOC_PATH.exists() else ""
    assert have == want, (
        f"{compat.DOC_PATH} is stale (the status table or the RPCs Gnomon implements changed); "
        "regenerate it: python -m tests.features.runner --write-doc"
    )


def test_every_rpc_is_filed_under_an_area_and_the_stubs_are_recognised() -> None:
    found = compat.rpcs()
    by_name = {(r.service, r.name): r for r in found}
    # One RPC Gnomon implements and one it answers UNIMPLEMENTED for, on each service.
    assert by_name[("WorkflowService", "StartWorkflowExecution")].implemented
    assert not by_name[("WorkflowService", "CreateSchedule")].implemented
    assert by_name[("OperatorService", "AddSearchAttributes")].implemented
    assert not by_name[("OperatorService", "CreateNexusEndpoint")].implemented
    assert {compat.rpc_area(r.name) for r in found} <= set(compat.AREAS)
