"""Whether a search attribute's value fits its type, and the reference's limits on their sizes.

The reference decodes every value a start, a signal-with-start or an upsert sets (JSON in
the payload) as its attribute's type, and refuses the request when it does not fit, or when
a value or all of them together are too large. The words of each message are its own.
"""

from __future__ import annotations

import json
from typing import Any

from temporalio.api.common.v1 import Payload, SearchAttributes
from temporalio.api.enums.v1 import IndexedValueType

from gnomon.server.visibility.query_sql import parse_rfc3339_micros

T = IndexedValueType

# The reference's defaults: limit.numberOfSearchAttributes... , limit.searchAttributesSize...
MAX_ATTRIBUTES = 100
MAX_VALUE_BYTES = 2 * 1024
MAX_TOTAL_BYTES = 40 * 1024


def is_unset(payload: Payload) -> bool:
    """An empty value removes the attribute (an upsert's way to unset it)."""
    return payload.data in (b"", b"null", b"[]")


def value_problem(name: str, type_name: str, value_type: int, payload: Payload) -> str | None:
    """Why the value does not fit the type (the reference's message), or None."""
    if is_unset(payload):
        return None
    try:
        value = json.loads(payload.data)
    except (ValueError, UnicodeDecodeError):
        shown: Any = f"value from <{payload.data[:100]!r}>"
    else:
        if _fits(value_type, value):
            return None
        shown = _go_format(value)
    return f"invalid value for search attribute {name} of type {type_name}: {shown}"


def size_problem(attributes: SearchAttributes) -> str | None:
    """Why the attributes are too many or too large (the reference's messages), or None."""
    if len(attributes.indexed_fields) > MAX_ATTRIBUTES:
        return f"number of search attributes {len(attributes.indexed_fields)} exceeds limit {MAX_ATTRIBUTES}"
    for name, payload in attributes.indexed_fields.items():
        if len(payload.data) > MAX_VALUE_BYTES:
            return f"search attribute {name} value size {len(payload.data)} exceeds size limit {MAX_VALUE_BYTES}"
    total = attributes.ByteSize()
    if total > MAX_TOTAL_BYTES:
        return f"total size of search attributes {total} exceeds size limit {MAX_TOTAL_BYTES}"
    return None


def _fits(value_type: int, value: Any) -> bool:
    if value_type == T.INDEXED_VALUE_TYPE_KEYWORD_LIST:
        items = value if isinstance(value, list) else [value]
        return all(isinstance(item, str) for item in items)
    if isinstance(value, list):
        # Old SDKs wrap a single value in a list; the reference decodes that as the value.
        if len(value) != 1:
            return False
        value = value[0]
    if value_type in (T.INDEXED_VALUE_TYPE_KEYWORD, T.INDEXED_VALUE_TYPE_TEXT):
        return isinstance(value, str)
    if value_type == T.INDEXED_VALUE_TYPE_INT:
        return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63
    if value_type == T.INDEXED_VALUE_TYPE_DOUBLE:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if value_type == T.INDEXED_VALUE_TYPE_BOOL:
        return isinstance(value, bool)
    if value_type == T.INDEXED_VALUE_TYPE_DATETIME:
        return isinstance(value, str) and parse_rfc3339_micros(value) is not None
    return True


def _go_format(value: Any) -> str:
    """A decoded JSON value as Go's %v prints it (the reference's messages show values so)."""
    if isinstance(value, list):
        return "[" + " ".join(_go_format(item) for item in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go_format(v)}" for k, v in sorted(value.items())) + "]"
    if value is None:
        return "<nil>"
    return str(value)[:200]
