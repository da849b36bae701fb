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
    kind: str  # "INTERNAL", "UNKNOWN", "hung: ..." as calls.problem() names it (a prefix)
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
        "(CallContext has none): INTERNAL instead of UNIMPLEMENTED",
    ),
    KnownFinding(
        "RegisterNamespace",
        "INTERNAL",
        r"too large to convert to C int",
        "a retention Duration of 2**63-1 seconds overflows (OverflowError in namespace_rpcs.RegisterNamespace)",
    ),
)


def known(rpc: str, kind: str, details: str) -> KnownFinding | None:
    """The known finding that explains this answer, if any."""
    return next((k for k in KNOWN_FINDINGS if k.matches(rpc, kind, details)), None)
