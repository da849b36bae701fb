"""Process-wide counters that workflows reach through the sandbox (imported passed-through).

A workflow that must fail its first N workflow tasks and then succeed needs state that
survives the SDK re-running it from scratch on each attempt; that state lives here, keyed
by something unique to the test (the workflow id). It is deliberately *not* workflow state:
it models "the worker was broken, then fixed".
"""

from __future__ import annotations

import threading

_lock = threading.Lock()
_counters: dict[str, int] = {}


def bump(key: str) -> int:
    """Increment ``key``'s counter and return the new value (1 on first call)."""
    with _lock:
        _counters[key] = _counters.get(key, 0) + 1
        return _counters[key]
