"""Namespace and cluster RPCs: GetSystemInfo, GetClusterInfo, Register/Describe/List/UpdateNamespace."""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from datetime import timedelta

import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.enums.v1 import IndexedValueType, NamespaceState
from temporalio.api.namespace.v1 import NamespaceConfig, UpdateNamespaceInfo
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    DescribeNamespaceResponse,
    GetClusterInfoRequest,
    GetSystemInfoRequest,
    ListNamespacesRequest,
    RegisterNamespaceRequest,
    UpdateNamespaceRequest,
)
from temporalio.client import Client
from temporalio.service import RPCStatusCode

from tests.e2e.helpers import NAMESPACE, expect_rpc_error, normalized, unique_id

#: Capabilities the SDKs look at, all true on the reference server.
REQUIRED_CAPABILITIES = [
    "signal_and_query_header",
    "internal_error_differentiation",
    "activity_failure_include_heartbeat",
    "encoded_failure_attributes",
    "upsert_memo",
    "eager_workflow_start",
    "sdk_metadata",
    # SDKs then send their build id as a version stamp, which the server records on events.
    "build_id_based_versioning",
]
#: True on the reference, but the features behind them (schedules; counts grouped by
#: status) are not built in Gnomon yet, so Gnomon must not claim them.
NOT_YET_CAPABILITIES = ["supports_schedules", "count_group_by_execution_status"]


def _days(n: int) -> Duration:
    return Duration(seconds=int(timedelta(days=n).total_seconds()))


async def _register(client: Client, name: str, *, retention_days: int = 2, description: str = "") -> None:
    await client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=name,
            description=description,
            owner_email="owner@example.com",
            workflow_execution_retention_period=_days(retention_days),
        )
    )


async def _describe(client: Client, name: str) -> DescribeNamespaceResponse:
    return await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=name))


async def test_get_system_info_reports_sdk_capabilities(client: Client) -> None:
    info = await client.workflow_service.get_system_info(GetSystemInfoRequest())
    assert info.server_version, "server_version must be set"
    missing = [cap for cap in REQUIRED_CAPABILITIES if not getattr(info.capabilities, cap)]
    assert not missing, f"capabilities not advertised: {missing}"
    if os.environ.get("GNOMON_TEST_TARGET", "gnomon") == "gnomon":
        claimed = [cap for cap in NOT_YET_CAPABILITIES if getattr(info.capabilities, cap)]
        assert not claimed, f"Gnomon claims capabilities it does not have: {claimed}"


async def test_get_cluster_info(client: Client) -> None:
    info = await client.workflow_service.get_cluster_info(GetClusterInfoRequest())
    assert info.cluster_id
    assert info.cluster_name
    assert info.server_version
    assert info.history_shard_count >= 1


async def test_default_namespace_is_registered(client: Client) -> None:
    resp = await _describe(client, NAMESPACE)
    assert resp.namespace_info.name == NAMESPACE
    assert resp.namespace_info.state == NamespaceState.NAMESPACE_STATE_REGISTERED
    assert resp.namespace_info.id
    assert resp.config.workflow_execution_retention_ttl.seconds > 0


async def test_register_then_describe_by_name_and_id(client: Client) -> None:
    name = unique_id("ns")
    await _register(client, name, retention_days=3, description="an e2e namespace")

    by_name = await _describe(client, name)
    info = by_name.namespace_info
    assert info.name == name
    assert info.state == NamespaceState.NAMESPACE_STATE_REGISTERED
    assert info.description == "an e2e namespace"
    assert info.owner_email == "owner@example.com"
    assert info.id
    assert by_name.config.workflow_execution_retention_ttl.seconds == 3 * 86400

    by_id = await client.workflow_service.describe_namespace(DescribeNamespaceRequest(id=info.id))
    assert by_id.namespace_info.name == name


async def test_list_namespaces_pages_through_all(client: Client) -> None:
    names = {unique_id("ns-list") for _ in range(3)}
    for name in names:
        await _register(client, name)

    seen: list[str] = []
    token = b""
    pages = 0
    while True:
        resp = await client.workflow_service.list_namespaces(ListNamespacesRequest(page_size=2, next_page_token=token))
        pages += 1
        assert len(resp.namespaces) <= 2
        seen += [ns.namespace_info.name for ns in resp.namespaces]
        token = resp.next_page_token
        if not token:
            break
        assert pages < 1000, "ListNamespaces never stopped paging"
    assert pages >= 2
    assert NAMESPACE in seen
    assert names <= set(seen)
    assert len(seen) == len(set(seen)), f"a namespace was listed twice: {seen}"


async def test_update_namespace_description_and_retention(client: Client) -> None:
    name = unique_id("ns-upd")
    await _register(client, name, retention_days=2, description="before")

    resp = await client.workflow_service.update_namespace(
        UpdateNamespaceRequest(
            namespace=name,
            update_info=UpdateNamespaceInfo(description="after", owner_email="new@example.com"),
            config=NamespaceConfig(workflow_execution_retention_ttl=_days(5)),
        )
    )
    assert resp.namespace_info.description == "after"
    assert resp.config.workflow_execution_retention_ttl.seconds == 5 * 86400

    described = await _describe(client, name)
    assert described.namespace_info.description == "after"
    assert described.namespace_info.owner_email == "new@example.com"
    assert described.config.workflow_execution_retention_ttl.seconds == 5 * 86400
    assert described.namespace_info.state == NamespaceState.NAMESPACE_STATE_REGISTERED


async def test_describe_unknown_namespace_is_not_found(client: Client) -> None:
    name = unique_id("no-such-ns")
    err = await expect_rpc_error(_describe(client, name), RPCStatusCode.NOT_FOUND)
    assert name in err.message


async def test_register_existing_namespace_is_already_exists(client: Client) -> None:
    name = unique_id("ns-dup")
    await _register(client, name, description="first")
    err = await expect_rpc_error(_register(client, name, description="second"), RPCStatusCode.ALREADY_EXISTS)
    assert err.message
    # The failed registration changed nothing.
    assert (await _describe(client, name)).namespace_info.description == "first"


async def test_register_default_namespace_again_is_already_exists(client: Client) -> None:
    await expect_rpc_error(_register(client, NAMESPACE), RPCStatusCode.ALREADY_EXISTS)


async def test_register_without_name_is_invalid(client: Client) -> None:
    err = await expect_rpc_error(
        client.workflow_service.register_namespace(
            RegisterNamespaceRequest(workflow_execution_retention_period=_days(1))
        ),
        RPCStatusCode.INVALID_ARGUMENT,
    )
    assert "namespace" in normalized(err.message)


async def test_register_without_retention_is_invalid(client: Client) -> None:
    name = unique_id("ns-noret")
    err = await expect_rpc_error(
        client.workflow_service.register_namespace(RegisterNamespaceRequest(namespace=name)),
        RPCStatusCode.INVALID_ARGUMENT,
    )
    assert "retention" in normalized(err.message), err.message
    await expect_rpc_error(_describe(client, name), RPCStatusCode.NOT_FOUND)


async def test_describe_unknown_namespace_id_is_not_found(client: Client) -> None:
    await expect_rpc_error(
        client.workflow_service.describe_namespace(DescribeNamespaceRequest(id=str(uuid.uuid4()))),
        RPCStatusCode.NOT_FOUND,
    )


async def test_update_unknown_namespace_is_not_found(client: Client) -> None:
    await expect_rpc_error(
        client.workflow_service.update_namespace(
            UpdateNamespaceRequest(namespace=unique_id("no-such-ns"), update_info=UpdateNamespaceInfo(description="x"))
        ),
        RPCStatusCode.NOT_FOUND,
    )


async def test_custom_search_attributes_are_listed(client: Client, search_attributes: Mapping[str, object]) -> None:
    """OperatorService.AddSearchAttributes (done by the fixture) shows up in ListSearchAttributes."""
    resp = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=NAMESPACE))
    for name, value_type in search_attributes.items():
        assert resp.custom_attributes[name] == value_type
    assert resp.system_attributes["WorkflowId"] == IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
    assert resp.system_attributes["ExecutionStatus"] == IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD


@pytest.mark.parametrize("rpc", ["describe", "update"])
async def test_namespace_rpcs_need_a_namespace(client: Client, rpc: str) -> None:
    call = (
        client.workflow_service.describe_namespace(DescribeNamespaceRequest())
        if rpc == "describe"
        else client.workflow_service.update_namespace(UpdateNamespaceRequest())
    )
    await expect_rpc_error(call, RPCStatusCode.INVALID_ARGUMENT)
