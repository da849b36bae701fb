"""One mutant from one seed request: a stack of protobuf-level and byte-level mutations.

Everything is drawn from the RNG it is given, so ``(seed, index)`` names a mutant: the runner seeds one
RNG per request from both, and a run is reproducible whatever the interleaving of the calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from random import Random

from google.protobuf.message import EncodeError, Message

from tests.fuzz.byte_mutations import BYTE_MUTATIONS
from tests.fuzz.proto_mutations import MAX_REQUEST_BYTES, ValuePool, mutate_field, patch_invalid_utf8

#: Share of mutants that get byte-level damage after their protobuf-level mutations.
BYTE_LEVEL_SHARE = 0.15
#: Share of mutants sent unchanged (a valid request must keep working among the hostile ones).
UNCHANGED_SHARE = 0.03


@dataclass(frozen=True)
class Mutant:
    """A request to send: its bytes and what was done to the seed."""

    data: bytes
    description: str


def request_rng(seed: int, index: int) -> Random:
    """The RNG of request ``index`` of the run with ``seed`` (string seeds hash deterministically)."""
    return Random(f"{seed}:{index}")


def mutate(rng: Random, seed_request: Message, pool: ValuePool) -> Mutant:
    """A mutant of ``seed_request`` (which is left unchanged), at most :data:`MAX_REQUEST_BYTES` long."""
    if rng.random() < UNCHANGED_SHARE:
        return Mutant(seed_request.SerializeToString(), "unchanged seed")
    for _ in range(5):
        message = type(seed_request)()
        message.CopyFrom(seed_request)
        steps: list[str] = []
        invalid_utf8 = False
        proto_steps = rng.choice([0, 1, 1, 1, 2, 3]) if rng.random() >= 0.15 else 0
        for _ in range(proto_steps):
            mutation = mutate_field(rng, message, pool)
            steps.append(mutation.description)
            invalid_utf8 = invalid_utf8 or mutation.invalid_utf8
        try:
            data = message.SerializeToString()
        except EncodeError:
            continue  # nested past the serializer's own depth limit; nest_deeply does that on the wire
        if len(data) > MAX_REQUEST_BYTES:
            continue  # too big: not what this fuzzer tests; draw again
        if invalid_utf8:
            data = patch_invalid_utf8(rng, data)
        if not proto_steps or rng.random() < BYTE_LEVEL_SHARE:
            for _ in range(rng.choice([1, 1, 1, 2, 3])):
                mutation_fn = rng.choice(BYTE_MUTATIONS)
                if len(data) > MAX_REQUEST_BYTES:
                    break
                data, what = mutation_fn(rng, data)
                steps.append(f"bytes: {what}")
        if len(data) <= MAX_REQUEST_BYTES:
            return Mutant(data, "; ".join(steps))
    return Mutant(seed_request.SerializeToString(), "unchanged seed (every draw was too big)")
