"""Known findings: defects the fuzzer found that are not fixed yet, tolerated (but reported) by the short run.

Each entry names the RPC, the status, a pattern of the server's message and the defect in one line. A
fix makes its entry unnecessary: delete it, and the test then fails if the defect comes back. Anything
not listed here fails the test with a reproduction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class KnownFinding:
    """One open defect: which answers it explains, and what it is."""

    rpc: str  # a regular expression matched against the whole method name
    kind: str  # a prefix of what calls.problem() says: "INTERNAL", "UNKNOWN", "hung", "unreadable answer"...
    details: str  # a regular expression searched in the server's message
    description: str

    def matches(self, rpc: str, kind: str, details: str) -> bool:
        return (
            bool(re.fullmatch(self.rpc, rpc)) and kind.startswith(self.kind) and bool(re.search(self.details, details))
        )


KNOWN_FINDINGS: tuple[KnownFinding, ...] = (
    KnownFinding(
        "AddOrUpdateRemoteCluster|RemoveRemoteCluster|ListClusters|GetNexusEndpoint|CreateNexusEndpoint"
        "|UpdateNexusEndpoint|DeleteNexusEndpoint|ListNexusEndpoints",
        "INTERNAL",
        r"^internal error$",
        "OperatorService methods Gnomon lacks reach grpc's generated stub, which calls context.set_code "
        "(CallContext has none): INTERNAL instead of UNIMPLEMENTED. Repro: OperatorService/ListClusters {}",
    ),
    KnownFinding(
        "RegisterNamespace",
        "INTERNAL",
        r"too large to convert to C int",
        "a retention Duration of 2**63-1 seconds overflows (OverflowError at namespace_rpcs.py:60). "
        "Repro: RegisterNamespace workflow_execution_retention_period { seconds: 9223372036854775807 }",
    ),
    KnownFinding(
        "RespondWorkflowTaskCompleted",
        "INTERNAL",
        r"^internal error: '?[a-z_]+'?$",
        "a command whose attributes are another command's (command_type SCHEDULE_ACTIVITY_TASK with "
        "start_timer_command_attributes) reaches the handler: AttributeError/KeyError in history/commands.py",
    ),
    KnownFinding(
        "RespondWorkflowTaskCompleted",
        "INTERNAL",
        r"Enum CommandType has no name defined",
        "an unknown command_type (-1) fails while the 'unknown command' error message is built "
        "(CommandType.Name raises ValueError, history/commands.py:129)",
    ),
    KnownFinding(
        "DeleteNamespace",
        "INTERNAL",
        r"^internal error: '[^']*'$",
        "two concurrent DeleteNamespace calls for one namespace: the second's `del self._by_name[name]` "
        "raises KeyError (namespaces.py:116)",
    ),
    KnownFinding(
        ".*",
        "unreadable answer",
        r"received metadata size exceeds hard limit|Frame size \d+ is larger than max frame size",
        "error messages echo unbounded request fields (DescribeNamespace id of 20,000 chars) into grpc-message, "
        "past the client's 16 KiB metadata limit; at 1.5M chars the transport writes one 9 MB HEADERS frame "
        "(over the peer's SETTINGS_MAX_FRAME_SIZE), which kills the connection and every call in flight on it",
    ),
)


def known(rpc: str, kind: str, details: str) -> KnownFinding | None:
    """The known finding that explains this answer, if any."""
    return next((k for k in KNOWN_FINDINGS if k.matches(rpc, kind, details)), None)
