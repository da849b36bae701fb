"""The UI's pure helpers, without a browser or a server."""

from __future__ import annotations

import json

import pytest
from starlette.datastructures import QueryParams
from temporalio.api.common.v1 import Payload
from temporalio.api.history.v1 import History

from gnomon.ui.history_json import history_json_text
from gnomon.ui.listing import ListParams, and_status, decode_token, encode_token
from gnomon.ui.payloads import Encoded, decode, parse_args
from gnomon.ui.routes.workflow import parse_target
from gnomon.ui.values import human_duration


def test_args_are_one_json_value_each() -> None:
    assert parse_args("") is None
    payloads = parse_args('"a" 2 {"b": [1]}')
    assert payloads is not None
    assert [json.loads(p.data) for p in payloads.payloads] == ["a", 2, {"b": [1]}]
    assert [json.loads(p.data) for p in parse_args("[1, 2]").payloads] == [[1, 2]]  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="JSON"):
        parse_args("{oops")


def test_payloads_decode_json_and_label_the_rest() -> None:
    assert decode(Payload(metadata={"encoding": b"json/plain"}, data=b'{"a": 1}')) == {"a": 1}
    assert decode(Payload(metadata={"encoding": b"binary/null"})) is None
    raw = decode(Payload(metadata={"encoding": b"binary/protobuf", "messageType": b"x.Y"}, data=b"\x08\x01"))
    assert isinstance(raw, Encoded) and raw.encoding == "binary/protobuf" and raw.message_type == "x.Y"


def test_list_links_keep_the_view_and_reset_paging_on_new_filters() -> None:
    params = ListParams.from_query_params(QueryParams("query=A&status=Running&cols=X,Y&token=t2&trail=t1&size=7"))
    assert params.page == 3 and params.page_size == 7 and params.columns == ["X", "Y"]
    assert params.effective_query() == "(A) AND ExecutionStatus = 'Running'"
    assert params.link(status="Failed")["token"] == "" and params.link(status="Failed")["cols"] == "X,Y"
    assert params.previous_link() == params.link(token="t1", trail="")
    assert params.next_link(b"n")["trail"] == "t1.t2"
    assert and_status("", "Failed") == "ExecutionStatus = 'Failed'"
    assert decode_token(encode_token(b'[1, "x"]')) == b'[1, "x"]'


def test_workflow_ids_with_slashes_route_to_their_run() -> None:
    run = "0a1b2c3d-0000-4000-8000-000000000000"
    target = parse_target(f"orders/2024/{run}/pending", ("pending", "history"))
    assert (target.workflow_id, target.run_id, target.action) == ("orders/2024", run, "pending")
    assert parse_target(f"a/{run}", ("history",)).action == "history"
    assert parse_target("just/an/id", ("history",)).run_id == ""


def test_durations_read_like_people_write_them() -> None:
    assert [human_duration(s) for s in (0.25, 3.5, 65, 90061)] == ["250ms", "3.5s", "1m 5s", "1d 1h 1m"]


def test_history_json_is_written_the_way_go_writes_it() -> None:
    history = History()
    attributes = history.events.add(event_id=1).workflow_execution_started_event_attributes
    attributes.search_attributes.indexed_fields["Z"].metadata["type"] = b"Keyword"
    attributes.search_attributes.indexed_fields["A"].metadata["encoding"] = b"json/plain"
    attributes.retry_policy.backoff_coefficient = 2
    text = history_json_text(history)
    assert text.endswith("}\n") and '"eventId": "1"' in text and '"backoffCoefficient": 2\n' in text
    assert text.index('"A"') < text.index('"Z"')  # map keys sorted
