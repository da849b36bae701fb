"""Identifiers the server makes up: run ids and request ids.

Run ids are UUIDs (clients parse them as such) of version 7: they begin with the time
in milliseconds. Every table keyed by run id (runs, history, visibility) then inserts
new runs next to each other at the end of its B-tree instead of on a random page. A
commit dirties a few pages rather than one per index per run, and the pages of the runs
in flight stay in SQLite's cache however many closed runs the database holds.
"""

from __future__ import annotations

import os
import random
import time

# Uniqueness, not secrecy, is what these ids need; 74 random bits per millisecond make a
# collision negligible, and a seeded generator avoids a getrandom() syscall per id.
_random = random.Random(os.urandom(32))

_VERSION_7 = 0x7 << 76
_VARIANT_RFC4122 = 0x2 << 62
_RANDOM_LOW = (1 << 62) - 1  # the 62 bits after the variant; 12 more follow the version


def new_id() -> str:
    """A fresh version-7 UUID string, ordered by creation time to the millisecond."""
    bits = _random.getrandbits(74)
    value = (
        (time.time_ns() // 1_000_000) << 80 | _VERSION_7 | (bits >> 62) << 64 | _VARIANT_RFC4122 | (bits & _RANDOM_LOW)
    )
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
