"""Search attribute definitions: the system ones, and each namespace's custom ones.

A start or an upsert may only use attributes that are defined; custom ones are added
with the OperatorService. Like the reference dev server, every namespace starts with a
few predefined custom attributes (CustomKeywordField, CustomIntField...).
"""

from __future__ import annotations

from temporalio.api.common.v1 import SearchAttributes
from temporalio.api.enums.v1 import IndexedValueType

from gnomon.server.errors import AlreadyExistsError, InvalidArgumentError
from gnomon.server.persistence import Persistence
from gnomon.server.visibility.search_attribute_values import MAX_ATTRIBUTES, size_problem, value_problem

T = IndexedValueType

SYSTEM_ATTRIBUTES: dict[str, int] = {
    "WorkflowId": T.INDEXED_VALUE_TYPE_KEYWORD,
    "RunId": T.INDEXED_VALUE_TYPE_KEYWORD,
    "WorkflowType": T.INDEXED_VALUE_TYPE_KEYWORD,
    "ExecutionStatus": T.INDEXED_VALUE_TYPE_KEYWORD,
    "StartTime": T.INDEXED_VALUE_TYPE_DATETIME,
    "CloseTime": T.INDEXED_VALUE_TYPE_DATETIME,
    "ExecutionTime": T.INDEXED_VALUE_TYPE_DATETIME,
    "ExecutionDuration": T.INDEXED_VALUE_TYPE_INT,
    "HistoryLength": T.INDEXED_VALUE_TYPE_INT,
    "HistorySizeBytes": T.INDEXED_VALUE_TYPE_INT,
    "StateTransitionCount": T.INDEXED_VALUE_TYPE_INT,
    "TaskQueue": T.INDEXED_VALUE_TYPE_KEYWORD,
    "ParentWorkflowId": T.INDEXED_VALUE_TYPE_KEYWORD,
    "ParentRunId": T.INDEXED_VALUE_TYPE_KEYWORD,
    "RootWorkflowId": T.INDEXED_VALUE_TYPE_KEYWORD,
    "RootRunId": T.INDEXED_VALUE_TYPE_KEYWORD,
    "TemporalChangeVersion": T.INDEXED_VALUE_TYPE_KEYWORD_LIST,
    "BinaryChecksums": T.INDEXED_VALUE_TYPE_KEYWORD_LIST,
    "BuildIds": T.INDEXED_VALUE_TYPE_KEYWORD_LIST,
    "BatcherUser": T.INDEXED_VALUE_TYPE_KEYWORD,
    "TemporalNamespaceDivision": T.INDEXED_VALUE_TYPE_KEYWORD,
    "TemporalScheduledStartTime": T.INDEXED_VALUE_TYPE_DATETIME,
    "TemporalScheduledById": T.INDEXED_VALUE_TYPE_KEYWORD,
    "TemporalSchedulePaused": T.INDEXED_VALUE_TYPE_BOOL,
}

# System attributes a workflow may set itself (the reference's "predefined white list"): the
# SDKs' patch markers among them. Every other system attribute is the server's alone.
WRITABLE_SYSTEM_ATTRIBUTES = frozenset(
    {
        "TemporalChangeVersion", "BinaryChecksums", "BuildIds", "BatcherNamespace", "BatcherUser",
        "TemporalScheduledStartTime", "TemporalScheduledById", "TemporalSchedulePaused", "TemporalNamespaceDivision",
        "TemporalPauseInfo", "TemporalReportedProblems",
    }
)  # fmt: skip

# What `temporal server start-dev` predefines in every namespace.
PREDEFINED_CUSTOM: dict[str, int] = {
    "CustomKeywordField": T.INDEXED_VALUE_TYPE_KEYWORD,
    "CustomStringField": T.INDEXED_VALUE_TYPE_TEXT,
    "CustomTextField": T.INDEXED_VALUE_TYPE_TEXT,
    "CustomIntField": T.INDEXED_VALUE_TYPE_INT,
    "CustomDatetimeField": T.INDEXED_VALUE_TYPE_DATETIME,
    "CustomDoubleField": T.INDEXED_VALUE_TYPE_DOUBLE,
    "CustomBoolField": T.INDEXED_VALUE_TYPE_BOOL,
}


def type_name(value_type: int) -> str:
    """'Keyword' for INDEXED_VALUE_TYPE_KEYWORD...: the name payload metadata uses."""
    words = T.Name(value_type).removeprefix("INDEXED_VALUE_TYPE_").split("_")  # type: ignore[arg-type]
    return "".join(word.capitalize() for word in words)


class SearchAttributeRegistry:
    """Custom search attribute definitions per namespace, cached, persisted on change."""

    def __init__(self, persistence: Persistence) -> None:
        self._persistence = persistence
        self._custom: dict[str, dict[str, int]] = {}

    async def load(self) -> None:
        self._custom = await self._persistence.list_search_attributes()

    async def ensure_predefined(self, namespace_id: str) -> None:
        """Give a namespace the predefined custom attributes (once, when it is created)."""
        if namespace_id not in self._custom:
            await self.add(namespace_id, PREDEFINED_CUSTOM)

    def custom(self, namespace_id: str) -> dict[str, int]:
        return dict(self._custom.get(namespace_id, {}))

    async def add(self, namespace_id: str, attributes: dict[str, int]) -> None:
        current = self._custom.get(namespace_id, {})
        for name, value_type in attributes.items():
            if not name:
                raise InvalidArgumentError("Search attribute name is empty.")
            if value_type not in T.values() or value_type == T.INDEXED_VALUE_TYPE_UNSPECIFIED:
                raise InvalidArgumentError(f"Unknown search attribute type {value_type} for {name}.")
            if name in SYSTEM_ATTRIBUTES:
                raise InvalidArgumentError(f"Search attribute {name} is reserved by system.")
            if name in current and current[name] != value_type:
                raise AlreadyExistsError(f"Search attribute {name} already exists with another type.")
        await self._persistence.save_search_attributes(namespace_id, attributes, [])
        self._custom.setdefault(namespace_id, {}).update(attributes)

    async def remove(self, namespace_id: str, names: list[str]) -> None:
        # Like the reference, removing an attribute that is not there is not an error.
        current = self._custom.get(namespace_id, {})
        await self._persistence.save_search_attributes(namespace_id, {}, names)
        for name in names:
            current.pop(name, None)

    def forget(self, namespace_id: str) -> None:
        """Drop a deleted namespace's definitions from memory (storage went with the namespace)."""
        self._custom.pop(namespace_id, None)

    def annotate(self, namespace_id: str, attributes: SearchAttributes) -> None:
        """Record each value's type in its payload's metadata, as the reference stores them."""
        custom = self._custom.get(namespace_id, {})
        for name, payload in attributes.indexed_fields.items():
            value_type = custom.get(name) or SYSTEM_ATTRIBUTES.get(name)
            if value_type and b"type" not in payload.metadata:
                payload.metadata["type"] = type_name(value_type).encode()

    def validate(self, namespace_id: str, attributes: SearchAttributes, namespace: str) -> None:
        """INVALID_ARGUMENT, in the reference's words, for attributes a start or an upsert may not set.

        One that is not defined (or is a system one), a value that does not fit its type, too
        many attributes, or values too large (see :mod:`.search_attribute_values`).
        """
        if len(attributes.indexed_fields) > MAX_ATTRIBUTES:
            raise InvalidArgumentError(size_problem(attributes) or "too many search attributes")
        custom = self._custom.get(namespace_id, {})
        for name, payload in attributes.indexed_fields.items():
            value_type = custom.get(name)
            if name in SYSTEM_ATTRIBUTES:
                if name not in WRITABLE_SYSTEM_ATTRIBUTES:
                    raise InvalidArgumentError(f"{name} attribute can't be set in SearchAttributes")
                value_type = SYSTEM_ATTRIBUTES[name]
            if value_type is None:
                raise InvalidArgumentError(f"Namespace {namespace} has no mapping defined for search attribute {name}")
            problem = value_problem(name, type_name(value_type), value_type, payload)
            if problem is not None:
                raise InvalidArgumentError(problem)
        problem = size_problem(attributes)
        if problem is not None:
            raise InvalidArgumentError(problem)
