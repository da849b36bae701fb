"""The request budget: window granted only as messages need it, within the connection's budget."""

from __future__ import annotations

from gnomon.server.transport import frames as f
from gnomon.server.transport.budget import RequestBudget
from gnomon.server.transport.stream import Stream

KIB = 1024


def arriving(stream_id: int, budget: RequestBudget, message: int) -> Stream:
    """A stream whose first DATA frame (prefix included) has arrived, announcing ``message`` bytes."""
    stream = Stream(stream_id, [], f.DEFAULT_WINDOW, 0.0)
    budget.opened(stream)
    stream.append(b"\x00" + message.to_bytes(4, "big") + bytes(1000))
    stream.recv_window -= 1005
    stream.check_prefix(limit=1 << 30)
    return stream


def test_a_message_is_granted_what_it_still_needs() -> None:
    budget = RequestBudget(1024 * KIB)
    stream = arriving(1, budget, 300 * KIB)
    still_to_come = 5 + 300 * KIB - 1005
    assert budget.grant(stream, lambda: stream) == still_to_come - (f.DEFAULT_WINDOW - 1005)
    assert stream.recv_window == still_to_come  # exactly the rest of the message, no more
    assert budget.arriving == stream.reserved == 5 + 300 * KIB
    assert budget.grant(stream, lambda: stream) == 0  # nothing more is due


def test_a_small_message_needs_no_grant() -> None:
    budget = RequestBudget(1024 * KIB)
    stream = arriving(1, budget, 10 * KIB)
    assert budget.grant(stream, lambda: stream) == 0 and not budget.starved


def test_beyond_the_budget_only_the_oldest_request_proceeds_and_the_rest_wait_their_turn() -> None:
    budget = RequestBudget(256 * KIB)
    first, second, third = (arriving(i, budget, 200 * KIB) for i in (1, 3, 5))
    oldest = lambda: first  # noqa: E731
    assert budget.grant(second, oldest) == 0  # 3 x 64 KiB reserved already, no room for 136 KiB more
    assert budget.grant(third, oldest) == 0
    assert list(budget.starved) == [3, 5]
    assert budget.grant(first, oldest) > 0  # over budget, but the oldest may always finish
    first.complete = True
    budget.arrived(first, 200 * KIB)
    budget.released(first)  # its call ended: budget freed, handed out oldest first
    assert [s.stream_id for s, _ in budget.regrants(lambda: second)] == [3]
    assert list(budget.starved) == [5]


def test_calls_in_progress_filling_the_budget_stop_even_the_oldest() -> None:
    budget = RequestBudget(256 * KIB)
    running = Stream(1, [], f.DEFAULT_WINDOW, 0.0)
    budget.opened(running)
    running.complete = True
    budget.arrived(running, 300 * KIB)
    stream = arriving(3, budget, 200 * KIB)
    assert budget.grant(stream, lambda: stream) == 0  # calls end by themselves and free it
    budget.released(running)
    assert [s for s, _ in budget.regrants(lambda: stream)] == [stream]
    assert budget.arriving == stream.reserved and budget.calls == 0
