"""The outcome of one feature run, as the per-feature processes report it (a small JSON file)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

#: What a feature process writes, and the word the status table uses for it.
OUTCOMES = {"passed": "pass", "failed": "fail", "skipped": "skip"}


@dataclass(frozen=True)
class Outcome:
    """``status`` is ``pass``, ``fail`` or ``skip``; ``message`` says why for the latter two."""

    status: str
    message: str = ""


def write_result(path: Path, outcome: str, message: str) -> None:
    """Write a feature process's outcome (``passed``, ``failed`` or ``skipped``) for the runner to read."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    path.write_text(json.dumps({"outcome": outcome, "message": message}))


def read_result(path: Path) -> Outcome | None:
    """The outcome a feature process wrote, or None if it wrote none (it crashed or was killed)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return Outcome(OUTCOMES[data["outcome"]], data.get("message", ""))
