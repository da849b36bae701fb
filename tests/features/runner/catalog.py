"""The features of a checkout, per language, with what each asks of the run.

A feature is a directory ``features/<area>/<name>/`` holding ``feature.py`` (Python) or
``feature.ts`` (TypeScript). Its optional ``config.json`` may ask for an HTTP CONNECT
proxy (``expectUnauthedProxyCount``/``expectAuthedProxyCount``: tunnels it must open) or
define ``runVariants``: runs against a server started with extra dynamic config, checked
to report the given namespace capabilities first. A variant is its own case, keyed
``area/name#variant``.

The server's dynamic config comes from ``dockerfiles/dynamicconfig/docker.yaml``, as the
official runner passes it to the dev server.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LANGUAGES = {"python": "feature.py", "typescript": "feature.ts"}
#: Recorded histories a language's cases would be compared with (none exist for Python or
#: TypeScript at the pinned commit; a case that has one fails until a check is written).
HISTORY_PREFIXES = {"python": "history.py.", "typescript": "history.ts."}


@dataclass(frozen=True)
class Variant:
    """A named way to run a feature: dynamic config for its server, capabilities it must report."""

    name: str
    dynamic_config: dict[str, Any] = field(default_factory=dict)
    expect_capabilities: dict[str, bool] = field(default_factory=dict)


@dataclass(frozen=True)
class FeatureCase:
    """One feature (in one variant, if it has several) in one language."""

    language: str
    rel_dir: str
    variant: Variant | None = None
    unauthed_proxy_tunnels: int = 0
    authed_proxy_tunnels: int = 0
    has_history: bool = False

    @property
    def key(self) -> str:
        """``area/name`` or ``area/name#variant``: the case's name in the status table."""
        return f"{self.rel_dir}#{self.variant.name}" if self.variant else self.rel_dir

    @property
    def area(self) -> str:
        return self.rel_dir.split("/", 1)[0]

    @property
    def needs_proxy(self) -> bool:
        return bool(self.unauthed_proxy_tunnels or self.authed_proxy_tunnels)


def _config(feature_dir: Path) -> dict[str, Any]:
    path = feature_dir / "config.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _has_history(feature_dir: Path, language: str) -> bool:
    history = feature_dir / "history"
    return history.is_dir() and any(p.name.startswith(HISTORY_PREFIXES[language]) for p in history.iterdir())


def discover(root: Path, languages: tuple[str, ...] = tuple(LANGUAGES)) -> list[FeatureCase]:
    """Every case of ``languages`` in the checkout at ``root``, sorted by language then key."""
    features_dir = root / "features"
    cases: list[FeatureCase] = []
    for language in languages:
        for path in sorted(features_dir.glob(f"*/*/{LANGUAGES[language]}")):
            feature_dir = path.parent
            rel_dir = feature_dir.relative_to(features_dir).as_posix()
            config = _config(feature_dir)
            common: dict[str, Any] = dict(
                language=language,
                rel_dir=rel_dir,
                unauthed_proxy_tunnels=int(config.get("expectUnauthedProxyCount", 0)),
                authed_proxy_tunnels=int(config.get("expectAuthedProxyCount", 0)),
                has_history=_has_history(feature_dir, language),
            )
            variants = config.get("runVariants") or []
            if not variants:
                cases.append(FeatureCase(**common))
            for raw in variants:
                variant = Variant(
                    name=raw["name"],
                    dynamic_config=dict(raw.get("dynamicConfig") or {}),
                    expect_capabilities=dict(raw.get("expectNamespaceCapabilities") or {}),
                )
                cases.append(FeatureCase(**common, variant=variant))
    return cases


_KEY = re.compile(r"^([A-Za-z0-9_.]+):\s*$")
_VALUE = re.compile(r"^\s*-\s*value:\s*(.+?)\s*$")


def dynamic_config(root: Path) -> dict[str, Any]:
    """``dockerfiles/dynamicconfig/docker.yaml`` of the checkout as key -> value.

    The file is a flat list of ``key:`` / ``- value: V`` / ``constraints: {}`` entries with
    JSON-like scalar values; constrained entries do not occur, and this reads no others.
    """
    path = root / "dockerfiles" / "dynamicconfig" / "docker.yaml"
    values: dict[str, Any] = {}
    key: str | None = None
    for line in path.read_text().splitlines() if path.exists() else []:
        if match := _KEY.match(line):
            key = match.group(1)
        elif (match := _VALUE.match(line)) and key is not None:
            text = match.group(1)
            try:
                values[key] = json.loads(text)
            except ValueError:
                values[key] = text
    return values


def dynamic_config_args(values: dict[str, Any]) -> list[str]:
    """``--dynamic-config-value key=json`` arguments for ``temporal server start-dev``, sorted by key."""
    args: list[str] = []
    for key in sorted(values):
        args += ["--dynamic-config-value", f"{key}={json.dumps(values[key])}"]
    return args
