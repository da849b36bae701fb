"""Mutable state survives serialization unchanged (it is what a restart reloads)."""

from __future__ import annotations

from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.history.v1 import WorkflowExecutionStartedEventAttributes

from gnomon.server import codec
from gnomon.server.history.mutable_state import ActivityInfo, MutableState, TimerInfo, WorkflowTaskInfo


def test_mutable_state_round_trip() -> None:
    started = WorkflowExecutionStartedEventAttributes(identity="me")
    ms = MutableState("ns", "default", "wf", "run", "Type", "tq", "req", started, 1.5, 2.5)
    ms.workflow_task = WorkflowTaskInfo(scheduled_event_id=2, attempt=1, task_queue="tq", sticky=False,
                                        timeout=10.0, scheduled_time=1.5)  # fmt: skip
    scheduled = ms.new_event(started)
    ms.activities[5] = ActivityInfo(5, "a1", scheduled, "tq", 1.0, 1.0, 0.0, 10.0, 0.0, 0.0,
                                    heartbeat_details=Payloads(payloads=[Payload(data=b"x")]))  # fmt: skip
    ms.timers["t"] = TimerInfo("t", 7, 99.5)
    ms.add_event(started)  # pending events are not part of the persisted state

    restored = codec.loads(MutableState, codec.dumps(ms))

    assert restored.started == started
    assert restored.workflow_task == ms.workflow_task
    assert restored.activities[5] == ms.activities[5]
    assert restored.timers == ms.timers
    assert restored.pending_events == []
    assert restored.next_event_id == ms.next_event_id
