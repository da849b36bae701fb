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


KNOWN_FINDINGS: tuple[KnownFinding, ...] = ()


def known(rpc: str, kind: str, details: str) -> KnownFinding | None:
    """The known finding that explains this answer, if any."""
    return next((k for k in KNOWN_FINDINGS if k.matches(rpc, kind, details)), None)
