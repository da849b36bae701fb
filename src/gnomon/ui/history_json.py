"""A history as JSON, byte for byte what ``temporal workflow show -o json`` prints.

The CLI writes Go's protojson: camelCase names, int64 as strings, two-space indent, map
keys sorted, integral doubles without ``.0``, and a final newline. Python's
``MessageToDict`` gives the same structure; :func:`go_protojson` fixes the rest.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from temporalio.api.history.v1 import History

from gnomon.ui.payloads import to_json_text


def history_json_text(history: History) -> str:
    """The history as ``temporal workflow show -o json`` prints it (protojson, camelCase, 2 spaces)."""
    return to_json_text(go_protojson(history, MessageToDict(history))) + "\n"


def go_protojson(message: Message | None, value: Any) -> Any:
    """``MessageToDict`` output as Go's protojson writes it: map keys sorted, ``2`` not ``2.0``."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, dict) or message is None:
        return value
    out = dict(value)
    for fd, field_value in message.ListFields():
        if fd.json_name not in out:
            continue
        if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
            value_fd = fd.message_type.fields_by_name["value"]
            out[fd.json_name] = {
                k: go_protojson(field_value[k] if value_fd.message_type else None, v)
                for k, v in sorted(out[fd.json_name].items())
            }
        elif fd.is_repeated:
            items = field_value if fd.message_type is not None else [None] * len(field_value)
            out[fd.json_name] = [go_protojson(m, v) for m, v in zip(items, out[fd.json_name], strict=True)]
        else:
            out[fd.json_name] = go_protojson(field_value if fd.message_type is not None else None, out[fd.json_name])
    return out
