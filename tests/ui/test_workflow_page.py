"""The workflow detail page in a real browser, on workflows run by the official SDK."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

from playwright.async_api import expect
from temporalio.client import Client, WorkflowExecutionStatus

from tests.support.servers import temporal_binary
from tests.ui.conftest import UiServer
from tests.ui.helpers import eventually, open_workflow, snap, workflow_path
from tests.ui.seed import Seeded
from tests.ui.workflows import ApprovalWorkflow, FlakyWorkflow


async def test_result_input_and_history(page: Any, seeded: Seeded, screenshots: Path) -> None:
    await open_workflow(page, seeded.orders[0])
    await expect(page.locator(".wf-title .badge")).to_have_text("Completed")
    result = page.locator("[data-result] pre.json")
    await expect(result).to_contain_text('"status": "shipped"')
    assert json.loads(await result.inner_text())["parcel"] == f"parcel-{seeded.orders[0]}"
    await expect(page.locator(".io-card").first).to_contain_text(seeded.orders[0])

    events = page.locator("details.event")
    await expect(events).to_have_count(22)
    types = await page.locator("details.event").evaluate_all("els => els.map(e => e.dataset.eventType)")
    assert types[0] == "WorkflowExecutionStarted" and types[-1] == "WorkflowExecutionCompleted"
    assert types.count("ActivityTaskCompleted") == 2 and "TimerFired" in types

    scheduled = page.locator("details.event[data-event-type=ActivityTaskScheduled]").first
    await scheduled.locator("summary").click()
    await expect(scheduled.locator("table.kv")).to_contain_text("Activity type name")
    await expect(scheduled.locator("table.kv")).to_contain_text("charge")
    await expect(scheduled.locator("table.kv")).to_contain_text("Start to close timeout")

    stamp = page.locator(".summary-grid time").first
    assert (await stamp.get_attribute("title")).endswith("UTC")
    assert "UTC" not in await stamp.inner_text()  # shown in the browser's (New York) time
    await snap(page, screenshots, "workflow-detail")


async def test_compact_view_and_kind_filters(page: Any, seeded: Seeded, screenshots: Path) -> None:
    await open_workflow(page, seeded.orders[1])
    await page.get_by_role("link", name="Compact").click()
    rows = page.locator(".compact details.event")
    await expect(rows).to_have_count(5)  # started, timer, two activities, completed
    charge = page.locator(".compact details.event[data-kind=activity]").first
    await expect(charge).to_contain_text("charge")
    await expect(charge).to_contain_text("Completed")
    await charge.locator("summary").click()
    await expect(charge.locator(".sub-event")).to_have_count(3)  # scheduled, started, completed
    await snap(page, screenshots, "history-compact")

    await page.get_by_role("link", name="All events").click()
    await page.locator("[data-kind-filter=timer]").click()
    await expect(page.locator("details.event")).to_have_count(2)
    kinds = await page.locator("details.event").evaluate_all("els => els.map(e => e.dataset.kind)")
    assert set(kinds) == {"timer"}
    assert "kinds=timer" in page.url  # a shareable link
    await page.locator("[data-kind-filter=activity]").click()
    await expect(page.locator("details.event")).to_have_count(8)


async def test_timeline_shows_activities_timer_and_pending_retries(
    page: Any, seeded: Seeded, screenshots: Path
) -> None:
    await open_workflow(page, seeded.orders[2])
    timeline = page.locator("[data-timeline]")
    await expect(timeline.locator("[data-timeline-row=activity]")).to_have_count(2)
    await expect(timeline.locator("[data-timeline-row=timer]")).to_have_count(1)
    await expect(timeline.locator("[data-timeline-row=activity]").first).to_contain_text("charge")
    await timeline.screenshot(path=str(screenshots / "timeline.png"))

    await open_workflow(page, seeded.flaky)
    pending = page.locator("[data-timeline] [data-timeline-row=activity][data-pending]")
    await expect(pending).to_have_count(1)
    await expect(pending.locator(".tl-note")).to_contain_text("attempt")
    await snap(page, screenshots, "workflow-running-retrying")


async def test_pending_activity_details(page: Any, seeded: Seeded, screenshots: Path) -> None:
    await open_workflow(page, seeded.flaky, "pending")
    card = page.locator("[data-pending-activity]")
    await expect(card).to_have_count(1)
    await expect(card).to_contain_text("flaky")
    await expect(card).to_contain_text("WarehouseDown")
    await expect(card).to_contain_text("warehouse for o-3 is offline")
    await expect(card).to_contain_text('"progress"')  # heartbeat details, decoded
    await expect(card.locator(".chip")).to_contain_text("attempt")
    await snap(page, screenshots, "pending-activities")


async def test_failure_with_type_and_stack_trace(page: Any, seeded: Seeded) -> None:
    await open_workflow(page, seeded.failing)
    failure = page.locator(".io-card .failure")
    await expect(failure.locator(".failure-type").first).to_have_text("PaymentError")
    await expect(failure.locator(".failure-message").first).to_have_text("card declined for o-1")
    await expect(failure).to_contain_text('"code": 51')
    await failure.locator("details.stack summary").first.click()
    await expect(failure.locator("details.stack pre").first).to_contain_text("workflows.py")


async def test_parent_children_and_run_chain(page: Any, seeded: Seeded) -> None:
    await open_workflow(page, seeded.parent)
    child = page.locator(".children a")
    await expect(child).to_have_text(f"{seeded.parent}-child")
    await child.click()
    await expect(page.locator(".wf-title h1")).to_have_text(f"{seeded.parent}-child")
    await expect(page.locator(".summary-grid")).to_contain_text(seeded.parent)

    await open_workflow(page, seeded.loop)
    chain = page.locator(".chain li")
    await expect(chain).to_have_count(3)  # two continued-as-new runs, then this one
    await expect(chain.last).to_have_text("This run")
    await chain.nth(1).locator("a").click()
    await expect(page.locator(".io-card").first).to_contain_text("1")
    await expect(page.locator(".io-card").nth(1)).to_contain_text("Continued in")


async def test_call_stack_and_query(page: Any, seeded: Seeded, screenshots: Path) -> None:
    await open_workflow(page, seeded.approval, "stack")
    await expect(page.locator("[data-stack-trace]")).to_contain_text("Stack for")
    await expect(page.locator("[data-stack-trace]")).to_contain_text(seeded.approval)
    await page.get_by_role("link", name="Queries").click()
    await page.locator("[data-fill-query=status]").click()
    await page.locator("[data-run-query]").click()
    await expect(page.locator("[data-query-result]")).to_contain_text('"state": "waiting"')
    await snap(page, screenshots, "query")
    await page.locator("[data-query-name]").fill("no_such_query")
    await page.locator("[data-run-query]").click()
    await expect(page.locator("[data-query-error]")).to_be_visible()


async def test_signal_from_the_ui(page: Any, ui_client: Client, action_queue: str, screenshots: Path) -> None:
    workflow_id = f"ui/signal/{uuid.uuid4().hex[:6]}"  # slashes in ids survive links and routes
    handle = await ui_client.start_workflow(ApprovalWorkflow.run, "refund #9", id=workflow_id, task_queue=action_queue)
    await open_workflow(page, workflow_id)
    await page.get_by_role("button", name="Signal").click()
    await page.locator("[data-signal-name]").fill("approve")
    await page.locator("[data-signal-args]").fill('"alice"')
    await snap(page, screenshots, "signal-dialog")
    await page.locator("[data-signal-send]").click()
    await expect(page.locator("[data-flash]")).to_contain_text("Sent signal approve")
    assert await handle.result() == "refund #9 approved by alice"
    await page.reload()
    signaled = page.locator("details.event[data-event-type=WorkflowExecutionSignaled]")
    await expect(signaled).to_contain_text("approve")
    await expect(signaled).to_contain_text("alice")
    await expect(signaled).to_contain_text("gnomon-ui")  # the identity the UI signs with
    await expect(page.locator(".wf-title .badge")).to_have_text("Completed")


async def test_terminate_from_the_ui(page: Any, ui_client: Client, action_queue: str) -> None:
    workflow_id = f"ui-terminate-{uuid.uuid4().hex[:6]}"
    handle = await ui_client.start_workflow(FlakyWorkflow.run, "o-9", id=workflow_id, task_queue=action_queue)
    await open_workflow(page, workflow_id)
    await page.get_by_role("button", name="Terminate").click()
    await page.locator("[data-terminate-reason]").fill("stuck in retries")
    await page.locator("[data-terminate-confirm]").click()
    await expect(page.locator("[data-flash]")).to_contain_text("Terminated the workflow")
    await expect(page.locator(".wf-title .badge")).to_have_text("Terminated")
    last = page.locator("details.event").last
    await expect(last).to_have_attribute("data-event-type", "WorkflowExecutionTerminated")
    await expect(last).to_contain_text("stuck in retries")
    assert (await handle.describe()).status == WorkflowExecutionStatus.TERMINATED


async def test_cancel_from_the_ui(page: Any, ui_client: Client, action_queue: str) -> None:
    workflow_id = f"ui-cancel-{uuid.uuid4().hex[:6]}"
    handle = await ui_client.start_workflow(ApprovalWorkflow.run, "x", id=workflow_id, task_queue=action_queue)
    await open_workflow(page, workflow_id)
    await page.get_by_role("button", name="Request cancellation").click()
    await page.locator("[data-cancel-confirm]").click()
    await expect(page.locator("[data-flash]")).to_contain_text("Requested cancellation")

    async def canceled() -> bool:
        return (await handle.describe()).status == WorkflowExecutionStatus.CANCELED

    await eventually(canceled, "the workflow to be canceled")
    await page.reload()
    await expect(page.locator("details.event[data-event-type=WorkflowExecutionCancelRequested]")).to_have_count(1)


async def test_a_running_workflow_page_refreshes_itself(page: Any, ui_client: Client, action_queue: str) -> None:
    workflow_id = f"ui-live-{uuid.uuid4().hex[:6]}"
    handle = await ui_client.start_workflow(ApprovalWorkflow.run, "r", id=workflow_id, task_queue=action_queue)
    await open_workflow(page, workflow_id)
    await expect(page.locator(".wf-title .badge")).to_have_text("Running")
    await handle.signal(ApprovalWorkflow.approve, "sdk")
    await expect(page.locator(".wf-title .badge")).to_have_text("Completed", timeout=15_000)  # no reload
    await expect(page.locator("[data-result]")).to_contain_text("r approved by sdk")
    await expect(page.get_by_role("button", name="Terminate")).to_have_count(0)  # closed: no more actions


async def test_download_is_what_the_cli_prints(page: Any, seeded: Seeded, ui_server: UiServer) -> None:
    base = await open_workflow(page, seeded.orders[0])
    async with page.expect_download() as info:
        await page.get_by_role("link", name="Download JSON").click()
    download = await info.value
    downloaded = Path(await download.path()).read_text()
    run_id = base.rsplit("/", 1)[1]
    cli = subprocess.run(
        [temporal_binary(), "workflow", "show", "-o", "json", "--address", ui_server.address,
         "--namespace", "default", "-w", seeded.orders[0], "-r", run_id],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert downloaded == cli.stdout
    assert download.suggested_filename.endswith(".json")


async def test_unknown_workflow_is_a_clear_404(page: Any) -> None:
    response = await page.goto(workflow_path("no-such-workflow"))
    assert response.status == 404
    await expect(page.locator(".empty h3")).to_have_text("Not found")
    await expect(page.locator(".empty")).to_contain_text("no-such-workflow")
