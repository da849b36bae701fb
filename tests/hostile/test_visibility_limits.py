"""List filters built to exhaust the parser or the database: INVALID_ARGUMENT, never INTERNAL.

A filter within the limits works however it is shaped: long OR chains used to reach SQLite's
parser stack ("parser stack overflow") through one parenthesis per term.
"""

from __future__ import annotations

import pytest
from temporalio.api.workflowservice.v1 import CountWorkflowExecutionsRequest, ListWorkflowExecutionsRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from gnomon.server.visibility.query_parser import MAX_CONDITIONS, MAX_IN_VALUES, MAX_NESTING, MAX_QUERY_LENGTH
from tests.e2e.helpers import NAMESPACE
from tests.support.targets import ON_GNOMON

pytestmark = pytest.mark.skipif(not ON_GNOMON, reason="the limits are Gnomon's own")


async def _list(client: Client, query: str) -> int:
    response = await client.workflow_service.list_workflow_executions(
        ListWorkflowExecutionsRequest(namespace=NAMESPACE, query=query, page_size=5)
    )
    return len(response.executions)


def _or_chain(terms: int) -> str:
    return " OR ".join(f"WorkflowId = 'id-{i}'" for i in range(terms))


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("(" * 400 + "WorkflowId = 'x'" + ")" * 400, "nests"),
        ("NOT " * 5000 + "WorkflowId = 'x'", "nests"),
        ("WorkflowId = " + "(" * 5000 + "'x'" + ")" * 5000, "nests"),
        ("WorkflowId = " + "!" * 5000 + "'x'", "nests"),
        (_or_chain(MAX_CONDITIONS + 1), "conditions"),
        ("WorkflowId IN (" + ", ".join(f"'{i}'" for i in range(MAX_IN_VALUES + 1)) + ")", "IN list"),
        ("WorkflowId = '" + "x" * MAX_QUERY_LENGTH + "'", "too long"),
    ],
    ids=["parentheses", "not", "value-parentheses", "value-bangs", "or-terms", "in-values", "length"],
)
async def test_oversized_filter_is_invalid_argument(client: Client, query: str, problem: str) -> None:
    for call in (
        _list(client, query),
        client.workflow_service.count_workflow_executions(
            CountWorkflowExecutionsRequest(namespace=NAMESPACE, query=query)
        ),
    ):
        with pytest.raises(RPCError) as caught:
            await call
        assert caught.value.status == RPCStatusCode.INVALID_ARGUMENT, caught.value.message
        assert problem in caught.value.message


async def test_filters_at_the_limits_run(client: Client) -> None:
    assert await _list(client, _or_chain(MAX_CONDITIONS)) == 0
    assert await _list(client, "NOT " * (MAX_NESTING - 1) + "WorkflowId = 'x'") >= 0
    nested = "(" * (MAX_NESTING - 1) + "WorkflowId = 'x' OR WorkflowId = 'y'" + ")" * (MAX_NESTING - 1)
    assert await _list(client, nested) == 0
    assert await _list(client, "WorkflowId IN (" + ", ".join(f"'{i}'" for i in range(MAX_IN_VALUES)) + ")") == 0
