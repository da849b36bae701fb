"""Dynamic config: the reference server's named settings, given at start-up.

``temporal server start-dev --dynamic-config-value KEY=VALUE`` sets one of the reference's
settings (VALUE is JSON); ``gnomon server start`` takes the same flag, so one command line
configures either server. Gnomon knows only the settings in :data:`SETTINGS` (with the
reference's names and defaults); other keys are accepted and ignored, as a command line
written for the reference may carry settings that mean nothing here. Values apply to every
namespace (the reference can also scope them per namespace; Gnomon cannot yet).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T", int, bool, str)


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One named setting with the reference's key and default."""

    key: str
    default: T
    description: str


HISTORY_COUNT_SUGGEST_CONTINUE_AS_NEW = Setting(
    "limit.historyCount.suggestContinueAsNew",
    4 * 1024,
    "history length (events) from which workflow tasks suggest continue-as-new",
)
HISTORY_SIZE_SUGGEST_CONTINUE_AS_NEW = Setting(
    "limit.historySize.suggestContinueAsNew",
    4 * 1024 * 1024,
    "history size (bytes) from which workflow tasks suggest continue-as-new",
)

SETTINGS: dict[str, Setting[Any]] = {
    s.key: s for s in (HISTORY_COUNT_SUGGEST_CONTINUE_AS_NEW, HISTORY_SIZE_SUGGEST_CONTINUE_AS_NEW)
}


class DynamicConfigError(ValueError):
    """A value that cannot be used for its setting, or a KEY=VALUE pair that does not parse."""


class DynamicConfig:
    """The values given for settings; every other setting has its default."""

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        self._values: dict[str, Any] = {}
        #: Keys given that Gnomon has no use for.
        self.ignored: list[str] = []
        for key, value in (values or {}).items():
            setting = SETTINGS.get(key)
            if setting is None:
                self.ignored.append(key)
                continue
            # bool is an int to Python, but not a valid value for a number setting.
            if type(value) is not type(setting.default):
                expected = type(setting.default).__name__
                raise DynamicConfigError(f"dynamic config {key} must be {expected}, not {json.dumps(value)}")
            self._values[key] = value

    @classmethod
    def parse(cls, pairs: Iterable[str]) -> DynamicConfig:
        """From ``KEY=VALUE`` strings, VALUE in JSON (as ``temporal server start-dev`` takes them)."""
        values: dict[str, Any] = {}
        for pair in pairs:
            key, sep, text = pair.partition("=")
            if not sep or not key:
                raise DynamicConfigError(f"dynamic config {pair!r} is not KEY=VALUE")
            try:
                values[key] = json.loads(text)
            except ValueError:
                raise DynamicConfigError(f"dynamic config {key}: {text!r} is not a JSON value") from None
        return cls(values)

    def get(self, setting: Setting[T]) -> T:
        """The setting's value: as given, else its default."""
        value: T = self._values.get(setting.key, setting.default)
        return value
