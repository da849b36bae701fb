"""Turn workflow histories into plain structures that two correct servers produce identically.

The approach is *keep everything, then remove by name*: each event goes through
``MessageToDict`` (so every field the proto defines and the server set is present), and
only the fields listed below are dropped or rewritten, each for a stated reason. A field a
server sets that is not in these lists therefore shows up as a difference instead of being
silently ignored.

Normalisations, in the order they are applied:

1. ``DROPPED_EVENT_FIELDS``: top-level ``HistoryEvent`` fields that are server bookkeeping.
2. ``DROPPED_FIELDS``: fields dropped at any depth inside event attributes.
3. ``EMPTY_DROPPED_FIELDS``: fields dropped at any depth only when present but empty.
4. ``SET_FIELDS``: lists whose order is meaningless get sorted.
5. ``TOKENIZED_FIELDS``: server-generated opaque ids (run ids, namespace ids) replaced by
   ``<kind-N>`` tokens numbered by first appearance across all histories of one scenario
   run, so "this event names the same run as that one" is still checked.
6. ``TIMING_DURATIONS``: durations computed from wall-clock time become ``<nonzero>`` unless
   they are zero (so "no delay" and "some delay" still differ).
7. Sticky task queues: their generated name becomes ``<sticky>`` (kind and normal name kept).
8. Absolute timestamps (any RFC 3339 string) become ``<timestamp>``: presence is kept.
9. The per-run workflow id and task queue (unique so reruns never collide) become
   ``{workflow_id}`` / ``{task_queue}`` wherever they occur inside a string, and run ids
   already tokenised (step 5) become their token inside strings too.
10. Payloads are decoded for readability only (lossless: metadata and data to text).

Kept on purpose although they look variable: ``identity`` (client and worker run in one
test process, so they share one identity and a server must record it as sent), build ids
in ``worker_version`` and deployment fields (the SDK derives its default build id from the
loaded code, the same for both servers in one test process; the SDK reads them back),
``sdk_metadata`` (the same SDK talks to both servers), failure ``stack_trace`` (same code,
same lines), event ``version`` and ``worker_may_ignore`` (constant on a local namespace).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.json_format import MessageToDict
from temporalio.api.history.v1 import History, HistoryEvent
from temporalio.client import WorkflowHistory

Json = Any  # what MessageToDict / json.loads produce

DROPPED_EVENT_FIELDS: dict[str, str] = {
    "event_time": "wall-clock time of the write",
    "task_id": "server-internal task sequence number; its values depend on the whole server's activity",
}

DROPPED_FIELDS: dict[str, str] = {
    "request_id": "random uuid generated per request by the client or the server",
    "history_size_bytes": "depends on the byte size of generated ids and on the server's storage encoding",
}

EMPTY_DROPPED_FIELDS: dict[str, str] = {
    "header": "an empty Header carries nothing, and SDKs read absent and empty alike",
}

SET_FIELDS: dict[str, str] = {
    "core_used_flags": "the SDK core sends its flags from a hash set, in arbitrary order",
    "lang_used_flags": "the SDK sends its flags from a set, in arbitrary order",
}

TOKENIZED_FIELDS: dict[str, str] = {
    "run_id": "run",
    "new_execution_run_id": "run",
    "continued_execution_run_id": "run",
    "first_execution_run_id": "run",
    "original_execution_run_id": "run",
    "namespace_id": "namespace",
    "parent_workflow_namespace_id": "namespace",
}

TIMING_DURATIONS: dict[str, str] = {
    "first_workflow_task_backoff": (
        "after a continue-as-new the reference delays the new run's first task by"
        " ContinueAsNewMinBackoff: history.workflowIdReuseMinimalInterval (1s) minus the previous run's age"
    ),
}

STICKY_KIND = "TASK_QUEUE_KIND_STICKY"
STICKY_NAME = "<sticky>"
TIMESTAMP = "<timestamp>"
ZERO_DURATION = "0s"
NONZERO_DURATION = "<nonzero>"
_TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_EVENT_TYPE_PREFIX = "EVENT_TYPE_"


@dataclass
class Normalizer:
    """Normalises the histories of one scenario run; share one instance across those histories
    so tokens for run and namespace ids are consistent between them."""

    workflow_id: str
    task_queue: str
    _tokens: dict[tuple[str, str], str] = field(default_factory=dict)

    def history(self, history: WorkflowHistory | History) -> list[Json]:
        """One normalised dict per event, in history order."""
        return [self.event(event) for event in history.events]

    def event(self, event: HistoryEvent) -> Json:
        """One event as a dict with everything but the legitimately variable parts."""
        raw = MessageToDict(event, preserving_proto_field_name=True)
        for name in DROPPED_EVENT_FIELDS:
            raw.pop(name, None)
        raw["event_type"] = raw.get("event_type", "").removeprefix(_EVENT_TYPE_PREFIX)
        return self._value(raw)

    def observations(self, value: Json) -> Json:
        """Client-side observations get the same id substitutions as history."""
        return self._value(value)

    # ------------------------------------------------------------------ internals

    def _value(self, value: Json) -> Json:
        if isinstance(value, dict):
            return self._dict(value)
        if isinstance(value, list):
            return [self._value(item) for item in value]
        if isinstance(value, str):
            return self._string(value)
        return value

    def _dict(self, value: dict[str, Json]) -> dict[str, Json]:
        if _is_payload(value):
            return _decode_payload(value)
        out: dict[str, Json] = {}
        for key, item in value.items():
            if key in DROPPED_FIELDS:
                continue
            if key in EMPTY_DROPPED_FIELDS and item in ({}, []):
                continue
            if key in TOKENIZED_FIELDS and isinstance(item, str):
                out[key] = self._token(TOKENIZED_FIELDS[key], item)
            elif key in TIMING_DURATIONS and isinstance(item, str) and item != ZERO_DURATION:
                out[key] = NONZERO_DURATION
            elif key in SET_FIELDS and isinstance(item, list):
                out[key] = sorted(self._value(item))
            else:
                out[key] = self._value(item)
        if out.get("kind") == STICKY_KIND and "name" in out:
            out["name"] = STICKY_NAME
        return out

    def _string(self, value: str) -> str:
        if _TIMESTAMP_RE.match(value):
            return TIMESTAMP
        # Run ids already tokenised also appear inside SDK-written text (e.g. the reason of a
        # RequestCancelExternalWorkflowExecution command): give them the same token there.
        for (kind, raw), token in self._tokens.items():
            if kind == "run" and raw and raw in value:
                value = value.replace(raw, token)
        # Longest first, in case one id contains the other.
        for literal, placeholder in sorted(
            ((self.workflow_id, "{workflow_id}"), (self.task_queue, "{task_queue}")), key=lambda p: -len(p[0])
        ):
            value = value.replace(literal, placeholder)
        return value

    def _token(self, kind: str, value: str) -> str:
        if not value:
            return value
        key = (kind, value)
        if key not in self._tokens:
            count = sum(1 for k, _ in self._tokens if k == kind)
            self._tokens[key] = f"<{kind}-{count + 1}>"
        return self._tokens[key]


def _is_payload(value: dict[str, Json]) -> bool:
    """A ``temporal.api.common.v1.Payload`` as MessageToDict renders it."""
    return isinstance(value.get("metadata"), dict) and set(value) <= {"metadata", "data", "external_payloads"}


def _decode_payload(value: dict[str, Json]) -> dict[str, Json]:
    """Base64 metadata values and data to text where they are UTF-8 (cosmetic, lossless)."""
    out = dict(value)
    out["metadata"] = {key: _b64_text(item) for key, item in value["metadata"].items()}
    if "data" in value:
        out["data"] = _without_marker_times(_b64_text(value["data"]))
    return out


# A local activity's marker payload carries the worker's wall-clock times of the attempt.
_MARKER_TIME_KEYS = ("complete_time", "original_schedule_time")


def _without_marker_times(text: str) -> str:
    """The payload text with a local activity marker's wall-clock times replaced by a placeholder."""
    try:
        data = json.loads(text)
    except ValueError:
        return text
    if not isinstance(data, dict) or not any(key in data for key in _MARKER_TIME_KEYS):
        return text
    for key in _MARKER_TIME_KEYS:
        if data.get(key) is not None:
            data[key] = TIMESTAMP
    return json.dumps(data, sort_keys=True)


def _b64_text(value: str) -> str:
    """Decoded UTF-8 text, or the base64 string unchanged when it is not text."""
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return value
