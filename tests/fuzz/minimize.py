"""Shrink a request that provokes a defect to the fields that matter, for a one-line reproduction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator

from google.protobuf import text_format
from google.protobuf.message import Message

from tests.fuzz.calls import decodes
from tests.fuzz.rpcs import Rpc

#: Resends a minimisation may spend on one finding.
MAX_ATTEMPTS = 60
SHORT_STRING = 24

#: Sends a request's bytes and says whether the same defect came back.
Reproduces = Callable[[bytes], Awaitable[bool]]


def _edits(message: Message) -> Iterator[Callable[[], None]]:
    """Candidate simplifications of ``message``, outermost first (each applied in place)."""
    for fd, _ in list(message.ListFields()):
        yield lambda fd=fd: message.ClearField(fd.name)
    for fd, value in list(message.ListFields()):
        if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
            continue
        if fd.is_repeated:
            if len(value) > 1:
                yield lambda value=value: value.__delitem__(slice(1, None))
            if fd.message_type is not None and len(value):
                yield from _edits(value[0])
        elif fd.message_type is not None:
            yield from _edits(value)
        elif isinstance(value, str | bytes) and len(value) > SHORT_STRING:
            yield lambda fd=fd, value=value: setattr(message, fd.name, value[:SHORT_STRING])


async def minimise(rpc: Rpc, data: bytes, reproduces: Reproduces) -> str:
    """The smallest request found that still ``reproduces``, as one line of text (or hex if it does not parse)."""
    if not decodes(rpc, data):
        return f"{rpc.name} bytes (unparsable) {data[:300].hex()}{'...' if len(data) > 300 else ''}"
    best = rpc.request_type.FromString(data)
    attempts = 0
    if not await reproduces(data):
        return f"{rpc.name} (not reproduced alone: depends on server state) {_one_line(best)}"
    improved = True
    while improved and attempts < MAX_ATTEMPTS:
        improved = False
        for index in range(len(list(_edits(best)))):
            if attempts >= MAX_ATTEMPTS:
                break
            candidate = type(best)()
            candidate.CopyFrom(best)
            list(_edits(candidate))[index]()  # the same edit, on the copy
            attempts += 1
            if await reproduces(candidate.SerializeToString()):
                best, improved = candidate, True
                break
    return f"{rpc.name} {_one_line(best)}"


def _one_line(message: Message) -> str:
    text = text_format.MessageToString(message, as_one_line=True, as_utf8=True)
    return text if len(text) <= 800 else text[:800] + " ..."
