"""Generate ``docs/compatibility.md`` from the status table and the RPCs Gnomon implements.

Which RPCs are implemented is read from the servicer classes themselves:

* ``WorkflowService``: every RPC of the generated base class that Gnomon does not define
  is replaced by a stub made in ``gnomon.server.frontend.service._unimplemented`` (it
  answers UNIMPLEMENTED "X is not implemented by Gnomon yet."); an RPC is implemented iff
  its method is not such a stub.
* ``OperatorService``: an RPC is implemented iff the class overrides the generated base's method.

Each RPC and each feature directory is filed under an API area; the doc lists per area
what works, what differs from the reference (with the table's reasons) and what is not
implemented yet. ``tests/features/test_compatibility_doc.py`` fails when the checked-in
doc is not what this module generates.
"""

from __future__ import annotations

import re
import tomllib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from temporalio.api.operatorservice.v1 import service_pb2 as operator_service
from temporalio.api.workflowservice.v1 import service_pb2 as workflow_service

from gnomon.server.frontend import WorkflowService
from gnomon.server.frontend.operator import OperatorService
from gnomon.server.transport.services import implements
from tests.features.runner import status
from tests.features.runner.catalog import LANGUAGES

ROOT = Path(__file__).resolve().parents[3]
DOC_PATH = ROOT / "docs" / "compatibility.md"
DIFFERENCES_PATH = Path(__file__).resolve().parent.parent / "differences.toml"

#: API areas, in the doc's order.
AREAS = [
    "Namespaces and cluster", "Workflow lifecycle", "Signals and queries", "Workflow updates", "Workflow tasks",
    "Activities", "Activity operator commands", "Standalone activities", "Child workflows",
    "Payloads and data conversion", "Client connectivity", "Workers and task queues",
    "Visibility and search attributes", "Batch operations", "Schedules", "Worker versioning and deployments", "Nexus",
    "Workflow rules",
]  # fmt: skip
#: Which area an RPC belongs to: the first rule whose pattern its name matches, else FALLBACK_AREA.
RPC_RULES: list[tuple[str, str]] = [
    ("Nexus", r"Nexus"),
    ("Schedules", r"Schedule"),
    ("Batch operations", r"BatchOperation"),
    ("Worker versioning and deployments", r"BuildId|Versioning|Deployment|TaskReachability"),
    ("Workflow rules", r"WorkflowRule"),
    ("Namespaces and cluster", r"Namespace|Cluster|GetSystemInfo"),
    ("Signals and queries", r"^(SignalWorkflowExecution|SignalWithStartWorkflowExecution|QueryWorkflow)$"),
    ("Workflow updates", r"^(UpdateWorkflowExecution|PollWorkflowExecutionUpdate|ExecuteMultiOperation)$"),
    ("Workflow tasks", r"^(PollWorkflowTaskQueue|RespondWorkflowTask\w+|RespondQueryTaskCompleted)$|Sticky"),
    ("Activities", r"^(PollActivityTaskQueue|RecordActivityTaskHeartbeat\w*|RespondActivityTask\w+)$"),
    ("Standalone activities", r"ActivityExecution"),
    ("Activity operator commands", r"^((Pause|Unpause|Reset)Activity|UpdateActivityOptions)$"),
    ("Workers and task queues", r"Worker(Heartbeat|Config)?s?$|TaskQueue(Partitions|Config)?$"),
    ("Visibility and search attributes", r"WorkflowExecutions$|SearchAttributes$"),
]
FALLBACK_AREA = "Workflow lifecycle"

#: Feature directories (``features/<area>/``) by API area.
FEATURE_AREAS = {
    "activity": "Activities",
    "eager_activity": "Activities",
    "child_workflow": "Child workflows",
    "client": "Client connectivity",
    "continue_as_new": "Workflow lifecycle",
    "data_converter": "Payloads and data conversion",
    "query": "Signals and queries",
    "signal": "Signals and queries",
    "schedule": "Schedules",
    "update": "Workflow updates",
    "worker_shutdown": "Workers and task queues",
}

SERVICES = (
    (workflow_service.DESCRIPTOR.services_by_name["WorkflowService"], WorkflowService),
    (operator_service.DESCRIPTOR.services_by_name["OperatorService"], OperatorService),
)


@dataclass(frozen=True)
class Rpc:
    service: str
    name: str
    implemented: bool


def rpc_area(name: str) -> str:
    for area, pattern in RPC_RULES:
        if re.search(pattern, name):
            return area
    return FALLBACK_AREA


def rpcs() -> list[Rpc]:
    """Every RPC of the services Gnomon serves, and whether Gnomon implements it.

    The rule is the transport's (``gnomon.server.transport.services``): an RPC is served by the
    implementation's method of its name; without one it answers UNIMPLEMENTED.
    """
    return [
        Rpc(service.name, method.name, implements(implementation, method.name))
        for service, implementation in SERVICES
        for method in service.methods
    ]


def _feature_area(key: str) -> str:
    directory = key.split("/", 1)[0]
    return FEATURE_AREAS.get(directory, directory)


def _names(items: list[Rpc]) -> str:
    return ", ".join(f"`{r.name}`" if r.service == "WorkflowService" else f"`{r.service}.{r.name}`" for r in items)


def _case_line(key: str, languages: list[str], entry: status.Entry) -> str:
    where = ", ".join(languages)
    gnomon = "pass or fail (timing-dependent)" if entry.flaky else entry.gnomon
    return f"- `{key}` ({where}): reference {entry.reference}, Gnomon {gnomon}. {entry.reason}".rstrip()


def _summary(table: status.StatusTable) -> list[str]:
    lines = ["| language | cases | pass on the reference | pass on Gnomon |", "| --- | --- | --- | --- |"]
    for language in LANGUAGES:
        entries = [e for (_, lang), e in table.entries.items() if lang == language]
        lines.append(
            f"| {language} | {len(entries)} | {sum(e.reference == 'pass' for e in entries)} "
            f"| {sum(e.gnomon == 'pass' for e in entries)} |"
        )
    return lines


def _grouped(entries: list[tuple[str, str, status.Entry]]) -> list[tuple[str, list[str], status.Entry]]:
    """Cases with the same statuses and reason in several languages, on one line."""
    groups: dict[tuple[str, status.Entry], list[str]] = defaultdict(list)
    for key, language, entry in entries:
        groups[(key, entry)].append(language)
    return [(key, languages, entry) for (key, entry), languages in sorted(groups.items(), key=lambda g: g[0][0])]


def generate(table: status.StatusTable) -> str:
    """The text of ``docs/compatibility.md`` for ``table`` and the servicers as they are."""
    by_area: dict[str, list[tuple[str, str, status.Entry]]] = defaultdict(list)
    for (key, language), entry in sorted(table.entries.items()):
        by_area[_feature_area(key)].append((key, language, entry))
    decided = decided_differences()
    rpc_by_area: dict[str, list[Rpc]] = defaultdict(list)
    for rpc in rpcs():
        rpc_by_area[rpc_area(rpc.name)].append(rpc)
    areas = AREAS + sorted(set(by_area) - set(AREAS))

    out = [
        "# Compatibility with Temporal",
        "",
        "<!-- Generated by `python -m tests.features.runner --write-doc` from tests/features/status.toml and",
        "     Gnomon's servicer classes; tests/features/test_compatibility_doc.py fails when this file is stale. -->",
        "",
        "What Gnomon does per area of Temporal's API, measured with Temporal's cross-SDK feature suite",
        f"(temporalio/features at `{table.features_commit[:12]}`, Python and TypeScript SDKs), run against",
        "Gnomon and the reference dev server by `tests/features/` (see its README), and from the list of",
        "gRPC methods Gnomon implements. A method Gnomon does not implement answers `UNIMPLEMENTED`",
        '("X is not implemented by Gnomon yet.").',
        "",
        *_summary(table),
        "",
    ]
    for area in areas:
        cases = by_area.get(area, [])
        area_rpcs = rpc_by_area.get(area, [])
        if not cases and not area_rpcs and not decided.get(area):
            continue
        out += [f"## {area}", ""]
        works = [(k, langs, e) for k, langs, e in _grouped(cases) if e.gnomon == "pass" and e.reference == "pass"]
        differs = [(k, langs, e) for k, langs, e in _grouped(cases) if (k, langs, e) not in works]
        implemented = [r for r in area_rpcs if r.implemented]
        missing = [r for r in area_rpcs if not r.implemented]
        if works:
            listed = ", ".join(f"`{k}` ({', '.join(ls)})" for k, ls, _ in works)
            out += [f"Works (passes on both servers): {listed}.", ""]
        if differs or decided.get(area):
            out.append("Behaves differently, or is not run:")
            out.append("")
            out += [_case_line(k, ls, e) for k, ls, e in differs]
            out += [f"- {text}" for text in decided.get(area, [])]
            out.append("")
        if implemented:
            out += [f"Implemented: {_names(implemented)}.", ""]
        if missing:
            out += [f"Not implemented yet: {_names(missing)}.", ""]
    return "\n".join(out).rstrip() + "\n"


def decided_differences() -> dict[str, list[str]]:
    """The deliberate differences of ``differences.toml``, by area."""
    data = tomllib.loads(DIFFERENCES_PATH.read_text())
    by_area: dict[str, list[str]] = defaultdict(list)
    for entry in data.get("difference", []):
        if entry["area"] not in AREAS:
            raise ValueError(f"{DIFFERENCES_PATH.name}: unknown area {entry['area']!r}")
        by_area[entry["area"]].append(" ".join(entry["text"].split()))
    return by_area


def write_doc(table: status.StatusTable | None = None) -> None:
    """Regenerate ``docs/compatibility.md`` (from the checked-in table unless one is given)."""
    DOC_PATH.parent.mkdir(parents=True, exist_ok=True)
    DOC_PATH.write_text(generate(table or status.load()))
