"""Tracebacks out of a Gnomon server log, grouped by where they were raised."""

from __future__ import annotations

import re
from collections import Counter

_ENTRY = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ ", re.MULTILINE)
_FRAME = re.compile(r'^\s*File "([^"]+)", line (\d+), in (\S+)', re.MULTILINE)


def tracebacks(log: str) -> Counter[str]:
    """``"<header> | <deepest Gnomon frame> | <exception>"`` for each logged traceback, counted."""
    found: Counter[str] = Counter()
    starts = [m.start() for m in _ENTRY.finditer(log)] + [len(log)]
    for begin, end in zip(starts, starts[1:], strict=False):
        entry = log[begin:end].rstrip()
        if "Traceback (most recent call last)" not in entry:
            continue
        header = entry.splitlines()[0][24:].strip()
        frames = [m for m in _FRAME.finditer(entry) if "/gnomon/" in m.group(1)]
        where = ""
        if frames:
            deepest = frames[-1]
            where = f"{deepest.group(1).split('/src/')[-1]}:{deepest.group(2)} in {deepest.group(3)}"
        found[f"{header} | {where} | {_exception_line(entry)[:200]}"] += 1
    return found


def _exception_line(entry: str) -> str:
    """The line naming the exception: the first unindented one after the last frame."""
    lines = entry.splitlines()
    last_frame = max((i for i, line in enumerate(lines) if line.lstrip().startswith('File "')), default=0)
    return next((line for line in lines[last_frame + 1 :] if line and not line[0].isspace()), "?")
