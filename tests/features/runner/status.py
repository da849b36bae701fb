"""The status table, ``tests/features/status.toml``: per case and language, its status on each server.

Each entry has ``reference`` and ``gnomon`` (``pass``, ``fail`` or ``skip``) and a
``reason``, required whenever the two differ or either is not ``pass``. The table is
regenerated from a run (``python -m tests.features.runner --write-status``): statuses
come from the run, and a hand-written reason is kept while its entry's statuses stay the
same; a new or changed entry gets the run's message marked ``unreviewed:`` until someone
writes the diagnosis.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from tests.features.runner.execute import CaseResult

STATUS_PATH = Path(__file__).resolve().parents[1] / "status.toml"
STATUSES = ("pass", "fail", "skip")
SERVERS = ("reference", "gnomon")
UNREVIEWED = "unreviewed: "
REASON_CHARS = 300

HEADER = """\
# The temporalio/features cases (Python and TypeScript) and their status on the reference
# Temporal dev server and on Gnomon; read by tests/features/test_features.py, which fails
# when a case's status on Gnomon (or on the reference, with GNOMON_FEATURES_REFERENCE=1)
# differs from this table, either way.
#
# Regenerate from a run: python -m tests.features.runner --write-status [--server both]
# A reason is required where the statuses differ or are not both "pass"; it is kept across
# regenerations while the entry's statuses stay the same. "unreviewed:" marks a reason
# copied from a run's message that nobody has diagnosed yet. `flaky = true` (with a reason)
# marks a case whose outcome on Gnomon depends on timing: pass and fail are both accepted.
"""


@dataclass(frozen=True)
class Entry:
    reference: str
    gnomon: str
    reason: str = ""
    flaky: bool = False

    def status(self, server: str) -> str:
        return self.reference if server == "reference" else self.gnomon

    def accepts(self, server: str, got: str) -> bool:
        """Whether ``got`` on ``server`` is what the table records (either outcome, for a flaky case on Gnomon)."""
        if self.flaky and server == "gnomon" and got in ("pass", "fail"):
            return True
        return got == self.status(server)

    @property
    def needs_reason(self) -> bool:
        return self.flaky or not (self.reference == self.gnomon == "pass")


@dataclass
class StatusTable:
    features_commit: str
    entries: dict[tuple[str, str], Entry]

    def get(self, key: str, language: str) -> Entry | None:
        return self.entries.get((key, language))

    def problems(self) -> list[str]:
        """What is wrong with the table itself: unknown statuses, missing reasons."""
        found = []
        for (key, language), entry in sorted(self.entries.items()):
            for server in SERVERS:
                if entry.status(server) not in STATUSES:
                    found.append(f"{key} ({language}): {server} = {entry.status(server)!r}, not one of {STATUSES}")
            if entry.needs_reason and not entry.reason.strip():
                found.append(f"{key} ({language}): reference={entry.reference} gnomon={entry.gnomon} needs a reason")
        return found


def load(path: Path = STATUS_PATH) -> StatusTable:
    data = tomllib.loads(path.read_text())
    commit = data.pop("features_commit")
    entries = {
        (key, language): Entry(
            fields["reference"], fields["gnomon"], fields.get("reason", ""), bool(fields.get("flaky", False))
        )
        for key, languages in data.items()
        for language, fields in languages.items()
    }
    return StatusTable(commit, entries)


def _short(message: str) -> str:
    line = next((line.strip() for line in message.splitlines() if line.strip()), "no message")
    return line if len(line) <= REASON_CHARS else line[: REASON_CHARS - 3] + "..."


def merge(table: StatusTable | None, results: list[CaseResult], features_commit: str, *, prune: bool) -> StatusTable:
    """``table`` with the statuses of ``results``; servers not in ``results`` keep their recorded status.

    With ``prune``, entries for cases that ``results`` do not cover are dropped (a full run).
    """
    old = dict(table.entries) if table else {}
    run: dict[tuple[str, str], dict[str, CaseResult]] = {}
    for result in results:
        run.setdefault((result.case.key, result.case.language), {})[result.server] = result
    entries: dict[tuple[str, str], Entry] = {} if prune else dict(old)
    for ident, by_server in run.items():
        before = old.get(ident)
        statuses = {
            server: by_server[server].outcome.status if server in by_server else _recorded(before, server)
            for server in SERVERS
        }
        entry = Entry(statuses["reference"], statuses["gnomon"], flaky=before.flaky if before else False)
        unchanged = before is not None and (before.reference, before.gnomon) == (entry.reference, entry.gnomon)
        if before is not None and (before.flaky or unchanged):
            entry = replace(entry, reason=before.reason)
        elif entry.needs_reason:
            telling = next(
                (r for s in ("gnomon", "reference") if (r := by_server.get(s)) and r.outcome.status != "pass"), None
            )
            detail = _short(telling.outcome.message) if telling else "statuses changed"
            entry = replace(entry, reason=UNREVIEWED + detail)
        entries[ident] = entry
    return StatusTable(features_commit, entries)


def _recorded(entry: Entry | None, server: str) -> str:
    """A server's recorded status, for a case that this run did not run there (never run: "fail")."""
    return entry.status(server) if entry else "fail"


def _quoted(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid TOML basic string


def dump(table: StatusTable) -> str:
    lines = [HEADER, f"features_commit = {_quoted(table.features_commit)}", ""]
    for (key, language), entry in sorted(table.entries.items()):
        lines.append(f"[{_quoted(key)}.{language}]")
        lines.append(f"reference = {_quoted(entry.reference)}")
        lines.append(f"gnomon = {_quoted(entry.gnomon)}")
        if entry.flaky:
            lines.append("flaky = true")
        if entry.reason:
            lines.append(f"reason = {_quoted(entry.reason)}")
        lines.append("")
    return "\n".join(lines)


def write(table: StatusTable, path: Path = STATUS_PATH) -> None:
    path.write_text(dump(table))
