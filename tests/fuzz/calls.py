"""Raw unary calls (bytes in, bytes out: the client validates nothing) and how each answer is judged."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from random import Random

import grpc
from google.protobuf.message import DecodeError

from tests.fuzz.rpcs import Rpc

#: Deadline of an RPC that answers at once.
PROMPT_DEADLINE = 30.0
#: Deadlines of RPCs that may wait (long polls, updates, queries): below 2 s a task poll is refused.
WAITING_DEADLINES = (1.0, 2.5)
#: A call whose answer comes this much later than its deadline is hung, whatever it answers.
HANG_MARGIN = 10.0
#: The message Gnomon's transport gives for bytes that are not the request type (as gRPC servers do, INTERNAL).
UNPARSABLE_PREFIX = "cannot parse request"
#: How grpcio's core starts the message of a status it made up itself because it could not read the server's.
CLIENT_GAVE_UP = "Stream removed"
CHANNEL_OPTIONS = [("grpc.max_send_message_length", 64 << 20), ("grpc.max_receive_message_length", 64 << 20)]


@dataclass(frozen=True)
class Answer:
    """What the server answered one call, and how long it took."""

    code: grpc.StatusCode
    details: str
    elapsed: float
    deadline: float


async def call(channel: grpc.aio.Channel, rpc: Rpc, data: bytes, deadline: float) -> Answer:
    """Send ``data`` as ``rpc``'s request; never raises for a status."""
    method = channel.unary_unary(rpc.path, request_serializer=None, response_deserializer=None)
    began = time.monotonic()
    try:
        await method(data, timeout=deadline)
    except grpc.aio.AioRpcError as error:
        return Answer(error.code(), error.details() or "", time.monotonic() - began, deadline)
    return Answer(grpc.StatusCode.OK, "", time.monotonic() - began, deadline)


def deadline_for(rpc: Rpc, rng: Random) -> float:
    return rng.choice(WAITING_DEADLINES) if rpc.waits else PROMPT_DEADLINE


def decodes(rpc: Rpc, data: bytes) -> bool:
    """Whether ``data`` parses as ``rpc``'s request type (with the protobuf runtime the server uses)."""
    try:
        rpc.request_type.FromString(data)
    except DecodeError:
        return False
    return True


def label(rpc: Rpc, data: bytes, answer: Answer) -> str:
    """The status-distribution label: the code, with INTERNAL for unparsable bytes told apart."""
    if answer.code == grpc.StatusCode.INTERNAL and _unparsable(rpc, data, answer):
        return "INTERNAL (unparsable request)"
    return answer.code.name


def _unparsable(rpc: Rpc, data: bytes, answer: Answer) -> bool:
    # The reference (grpc-go) answers bytes that do not parse with INTERNAL "grpc: error unmarshalling
    # request", and so does grpcio: that is gRPC's convention, not a server fault.
    return answer.details.startswith(UNPARSABLE_PREFIX) and not decodes(rpc, data)


def problem(rpc: Rpc, data: bytes, answer: Answer) -> str | None:
    """Why this answer is a defect, or None if it is a proper answer to whatever was sent."""
    if answer.details.startswith(CLIENT_GAVE_UP) and answer.code != grpc.StatusCode.DEADLINE_EXCEEDED:
        # Not the server's status: the client could not read the answer (or the connection broke under it).
        return "unreadable answer"
    if answer.elapsed > answer.deadline + HANG_MARGIN:
        return f"hung: answered after {answer.elapsed:.1f}s with a {answer.deadline}s deadline"
    if answer.code == grpc.StatusCode.UNKNOWN:
        return "UNKNOWN"
    if answer.code == grpc.StatusCode.INTERNAL and not _unparsable(rpc, data, answer):
        return "INTERNAL"
    if answer.code == grpc.StatusCode.DEADLINE_EXCEEDED and not rpc.waits:
        return f"no answer within {answer.deadline}s"
    return None


def signature(rpc: Rpc, kind: str, details: str) -> str:
    """Groups answers that are one defect: the RPC, the kind, and the message without ids and numbers."""
    shape = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}|0x[0-9a-f]+|\d+", "#", details)
    # A broken connection fails every call on it, whatever its RPC: one finding, not one per RPC.
    name = "*" if details.startswith(CLIENT_GAVE_UP) else rpc.name
    return f"{name} {kind}: {shape[:120]}"
