"""Payloads for people: JSON decoded, anything else labelled with its encoding.

Also turns SDK-style user input (a JSON array of arguments typed into a form) back into
``json/plain`` payloads for signals and queries.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from temporalio.api.common.v1 import Payload, Payloads

JSON_ENCODINGS = ("json/plain", "json/protobuf")


@dataclass(frozen=True)
class Encoded:
    """A payload the UI cannot show as JSON: its encoding and its raw bytes."""

    encoding: str
    data: bytes
    message_type: str = ""

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def preview(self) -> str:
        """Text if the bytes are printable UTF-8, otherwise base64."""
        try:
            text = self.data.decode()
        except UnicodeDecodeError:
            return base64.b64encode(self.data).decode()
        return text if text.isprintable() or not text else base64.b64encode(self.data).decode()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"encoding": self.encoding, "data": base64.b64encode(self.data).decode()}
        if self.message_type:
            out["messageType"] = self.message_type
        return out


def decode(payload: Payload) -> Any:
    """A payload's value: JSON decoded, ``None`` for binary/null, else an :class:`Encoded`."""
    encoding = payload.metadata.get("encoding", b"").decode(errors="replace")
    if encoding == "binary/null":
        return None
    if encoding in JSON_ENCODINGS:
        try:
            return json.loads(payload.data)
        except ValueError:
            pass
    message_type = payload.metadata.get("messageType", b"").decode(errors="replace")
    return Encoded(encoding or "unknown", payload.data, message_type)


class Args(list[Any]):
    """The values of a ``Payloads`` (arguments or results), told apart from JSON lists in templates."""


def decode_all(payloads: Payloads | None) -> Args:
    return Args(decode(p) for p in payloads.payloads) if payloads is not None else Args()


def to_json_text(value: Any) -> str:
    """Pretty JSON for display; :class:`Encoded` values (and the like) show their ``to_json``."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=_json_default, sort_keys=False)


def _json_default(value: Any) -> Any:
    if hasattr(value, "to_json"):
        return value.to_json()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def encode_json(value: Any) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(value, separators=(",", ":")).encode())


def parse_args(text: str) -> Payloads | None:
    """Arguments typed into a form, one JSON value per argument (as ``temporal --input`` takes them).

    ``"a" 2`` is two arguments; ``["a", 2]`` is one list. Empty text means no arguments.
    Raises ``ValueError`` with a readable message when the text is not JSON.
    """
    decoder = json.JSONDecoder()
    values: list[Any] = []
    position, text = 0, text.strip()
    while position < len(text):
        try:
            value, end = decoder.raw_decode(text, position)
        except ValueError as error:
            raise ValueError(f"Arguments must be JSON values: {error}") from None
        values.append(value)
        position = end
        while position < len(text) and text[position] in " \t\r\n,":
            position += 1
    return Payloads(payloads=[encode_json(v) for v in values]) if values else None
