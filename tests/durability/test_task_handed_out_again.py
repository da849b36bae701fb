"""After a crash, a workflow task handed out again is a new start: the old start's answer is refused.

Handing out a task is written with the run's next change, not at once (see engine.py); after a
kill -9 before that change, the same attempt goes out again with the same event ids. The
worker that had it before the crash must not be able to complete the new start, which may
carry what the old one did not (here: an update, which its completion would not answer, and
which the server would then reject on its behalf).
"""

from __future__ import annotations

import asyncio

import pytest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from tests.durability.crashable import CrashableServer
from tests.e2e.test_update_protocol import _answer, _complete, _poll, _send_update, _start
from tests.support.updates import wait_until_admitted

pytestmark = pytest.mark.timeout(60)


async def test_the_old_start_of_a_task_cannot_complete_the_new_one(
    crashable_server: CrashableServer, task_queue: str
) -> None:
    crashable = crashable_server
    client = await Client.connect(crashable.address)
    workflow_id = await _start(client, task_queue)
    before_crash = await _poll(client, task_queue)  # handed out; not yet written
    crashable.crash()
    await crashable.restart_after(0)
    client = await Client.connect(crashable.address)
    waiting = _send_update(client, workflow_id, "after-crash")
    await wait_until_admitted(client, workflow_id, "after-crash")
    after_crash = await _poll(client, task_queue)
    assert (after_crash.started_event_id, after_crash.attempt) == (before_crash.started_event_id, before_crash.attempt)
    assert [m.protocol_instance_id for m in after_crash.messages] == ["after-crash"]

    # The old start's completion knows nothing of the update: it is refused, and rejects nothing.
    with pytest.raises(RPCError) as caught:
        await _complete(client, before_crash.task_token)
    assert caught.value.status == RPCStatusCode.NOT_FOUND
    assert not waiting.done()

    result = client.data_converter.payload_converter.to_payloads(["answered"])[0]
    await _complete(client, after_crash.task_token, messages=_answer(after_crash.messages[0], result))
    outcome = (await asyncio.wait_for(waiting, 15)).outcome
    assert client.data_converter.payload_converter.from_payloads(outcome.success.payloads) == ["answered"]
