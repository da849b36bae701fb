"""Heartbeats: details stored and visible, throttled heartbeats keep an activity alive, and a
heartbeat for a finished, unknown or superseded activity attempt gets NOT_FOUND."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.api.workflowservice.v1 import (
    RecordActivityTaskHeartbeatByIdRequest,
    RecordActivityTaskHeartbeatRequest,
    RespondActivityTaskCompletedRequest,
)
from temporalio.client import Client
from temporalio.service import RPCStatusCode

from tests.e2e.helpers import (
    NAMESPACE,
    decode_all,
    events_of,
    expect_rpc_error,
    history_events,
    one_event,
    unique_id,
    wait_for,
)
from tests.failures.activities import FailureActivities
from tests.failures.helpers import failure_worker, pending_activity
from tests.failures.workflows import ActivityCall, ActivityWorkflow, CancelActivityWorkflow, Retry

E = EventType


def heartbeat(token: bytes, identity: str = "test") -> RecordActivityTaskHeartbeatRequest:
    return RecordActivityTaskHeartbeatRequest(namespace=NAMESPACE, task_token=token, identity=identity)


async def test_heartbeat_details_are_stored_and_described(
    client: Client, task_queue: str, activities: FailureActivities
) -> None:
    wid = unique_id("hb-describe")
    call = ActivityCall("stall", ["checkpoint-7"], start_to_close=30, heartbeat=10)
    async with failure_worker(client, task_queue, activities):
        handle = await client.start_workflow(ActivityWorkflow.run, call, id=wid, task_queue=task_queue)
        info = await pending_activity(client, wid, lambda p: p.heartbeat_details.payloads, what="heartbeat details")
        assert decode_all(client, info.heartbeat_details) == ["checkpoint-7"]
        assert info.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
        assert info.attempt == 1
        assert info.HasField("last_heartbeat_time")
        assert info.last_worker_identity == client.identity
        activities.release.set()
        assert await handle.result() == "released"


async def test_throttled_heartbeats_keep_the_activity_alive(
    client: Client, task_queue: str, activities: FailureActivities
) -> None:
    wid = unique_id("hb-throttle")
    # 200 heartbeats in a burst, then one every 0.1 s for 2 s: with a 1 s heartbeat timeout the
    # SDK throttles them (to 0.8 s); the server must see enough of them to never time the activity out.
    call = ActivityCall("rapid_heartbeats", [200], start_to_close=30, heartbeat=1, retry=Retry(maximum_attempts=1))
    async with failure_worker(client, task_queue, activities):
        handle = await client.start_workflow(ActivityWorkflow.run, call, id=wid, task_queue=task_queue)
        info = await pending_activity(
            client, wid, lambda p: decode_all(client, p.heartbeat_details) == [200], what="the last heartbeat value"
        )
        assert info.attempt == 1
        assert await handle.result() == 200
    events = await history_events(client, wid)
    started = one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_STARTED).activity_task_started_event_attributes
    assert started.attempt == 1
    one_event(events, E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
    assert activities.heartbeats_sent == 200


async def test_heartbeat_for_a_finished_activity_is_not_found(
    client: Client, task_queue: str, activities: FailureActivities
) -> None:
    wid = unique_id("hb-finished")
    call = ActivityCall("capture_token")
    async with failure_worker(client, task_queue, activities):
        # The workflow stays open after its activity completes.
        handle = await client.start_workflow(
            CancelActivityWorkflow.run, args=[call, True], id=wid, task_queue=task_queue
        )

        async def activity_done() -> bool:
            return bool(events_of(await history_events(client, wid), E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED))

        await wait_for(activity_done, what="the activity to complete")
        token = activities.attempts[0].task_token
        service = client.workflow_service
        await expect_rpc_error(service.record_activity_task_heartbeat(heartbeat(token)), RPCStatusCode.NOT_FOUND)
        # Nor can it be completed a second time.
        await expect_rpc_error(
            service.respond_activity_task_completed(
                RespondActivityTaskCompletedRequest(namespace=NAMESPACE, task_token=token, identity="test")
            ),
            RPCStatusCode.NOT_FOUND,
        )
        await handle.signal(CancelActivityWorkflow.finish)
        await handle.result()
    # Once the workflow is closed too.
    await expect_rpc_error(service.record_activity_task_heartbeat(heartbeat(token)), RPCStatusCode.NOT_FOUND)


async def test_heartbeat_by_id_for_an_unknown_activity_is_not_found(
    client: Client, task_queue: str, activities: FailureActivities
) -> None:
    wid = unique_id("hb-unknown")
    call = ActivityCall("stall", [None], start_to_close=30)
    service = client.workflow_service
    async with failure_worker(client, task_queue, activities):
        handle = await client.start_workflow(ActivityWorkflow.run, call, id=wid, task_queue=task_queue)
        await pending_activity(client, wid, lambda p: p.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED)

        def by_id(workflow_id: str, activity_id: str) -> RecordActivityTaskHeartbeatByIdRequest:
            return RecordActivityTaskHeartbeatByIdRequest(
                namespace=NAMESPACE, workflow_id=workflow_id, activity_id=activity_id, identity="test"
            )

        # The running activity's id is "1" (the SDK numbers activities in order).
        resp = await service.record_activity_task_heartbeat_by_id(by_id(wid, "1"))
        assert not resp.cancel_requested
        await expect_rpc_error(
            service.record_activity_task_heartbeat_by_id(by_id(wid, "no-such-activity")), RPCStatusCode.NOT_FOUND
        )
        await expect_rpc_error(
            service.record_activity_task_heartbeat_by_id(by_id(unique_id("no-such-workflow"), "1")),
            RPCStatusCode.NOT_FOUND,
        )
        activities.release.set()
        await handle.result()


async def test_heartbeat_with_the_token_of_a_superseded_attempt_is_not_found(
    client: Client, task_queue: str, activities: FailureActivities
) -> None:
    wid = unique_id("hb-stale")
    # Attempt 1 stalls past its 2 s start-to-close; attempt 2 then runs while attempt 1's token is stale.
    call = ActivityCall("stall", [None], start_to_close=2, retry=Retry(initial_interval=0.1, maximum_attempts=3))
    service = client.workflow_service
    async with failure_worker(client, task_queue, activities):
        handle = await client.start_workflow(ActivityWorkflow.run, call, id=wid, task_queue=task_queue)

        async def second_attempt_running() -> bool:
            return len(activities.attempts) >= 2

        await wait_for(second_attempt_running, what="attempt 2 to start")
        stale, current = activities.attempts[0].task_token, activities.attempts[1].task_token
        await expect_rpc_error(service.record_activity_task_heartbeat(heartbeat(stale)), RPCStatusCode.NOT_FOUND)
        assert not (await service.record_activity_task_heartbeat(heartbeat(current))).cancel_requested
        activities.release.set()
        assert await handle.result() == "released"
