"""The workflows list in a real browser: query, status counts, columns, paging, live refresh, bulk actions."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from playwright.async_api import expect
from temporalio.client import Client, WorkflowExecutionStatus

from tests.ui.helpers import eventually, list_path, snap
from tests.ui.seed import SEEDED_COUNTS, Seeded
from tests.ui.workflows import ApprovalWorkflow

ROWS = "tr[data-row]"


async def row_ids(page: Any) -> list[str]:
    return await page.locator(ROWS).evaluate_all("rows => rows.map(r => r.dataset.workflowId)")


async def count_of(page: Any, status: str) -> int:
    text = await page.locator(f"[data-status-filter={status}] .count").inner_text()
    return int(text.replace(",", ""))


async def test_query_status_counts_and_filters(page: Any, seeded: Seeded, screenshots: Path) -> None:
    query = f"TaskQueue = '{seeded.task_queue}'"
    await page.goto(list_path(query=query))
    await expect(page.locator(ROWS)).to_have_count(sum(SEEDED_COUNTS.values()))
    await page.locator("[data-columns] summary").click()  # add a search attribute column
    await page.get_by_label("CustomKeywordField").check()
    await page.get_by_role("button", name="Apply").click()
    await expect(page.locator("th.sa-col")).to_have_text("CustomKeywordField")
    assert "CustomKeywordField" in page.url  # the link keeps the columns
    for status, expected in SEEDED_COUNTS.items():
        assert await count_of(page, status) == expected, status
    await expect(page.locator(".subtitle")).to_contain_text(f"{sum(SEEDED_COUNTS.values())} workflows")
    statuses = await page.locator(f"{ROWS} .badge").all_inner_texts()
    assert statuses[: SEEDED_COUNTS["Running"]] == ["Running"] * SEEDED_COUNTS["Running"]  # running first
    vip = page.locator(ROWS, has_text=seeded.orders[0])
    await expect(vip.locator("td.sa-col")).to_have_text("vip")  # a search attribute column
    await snap(page, screenshots, "workflows-list")

    await page.locator("[data-status-filter=Failed]").click()
    await expect(page.locator(ROWS)).to_have_count(1)
    assert await row_ids(page) == [seeded.failing]
    assert "status=Failed" in page.url

    box = page.get_by_label("Visibility query")
    await box.fill(f"{query} AND WorkflowType = 'OrderWorkflow'")
    await box.press("Enter")
    await expect(page.locator(ROWS)).to_have_count(0)  # still filtered to Failed: no order failed
    await expect(page.locator(".empty h3")).to_have_text("No workflows match")
    await page.locator(".status-tab", has_text="All").click()
    await expect(page.locator(ROWS)).to_have_count(len(seeded.orders) + 1)  # the orders and the parent's child
    assert await count_of(page, "Completed") == len(seeded.orders) + 1

    await page.locator(ROWS, has_text=seeded.orders[1]).get_by_role("link", name=seeded.orders[1]).click()
    await expect(page.locator(".wf-title h1")).to_have_text(seeded.orders[1])


async def test_a_bad_query_says_what_is_wrong(page: Any) -> None:
    await page.goto(list_path(query="WorkflowType = "))
    await expect(page.locator(".alert-bad")).to_contain_text("could not run")
    await expect(page.get_by_label("Visibility query")).to_have_value("WorkflowType =")


async def test_pages_follow_tokens_and_links_are_shareable(page: Any, seeded: Seeded, browser: Any) -> None:
    total = sum(SEEDED_COUNTS.values())
    await page.goto(list_path(query=f"TaskQueue = '{seeded.task_queue}'", size="4"))
    first = await row_ids(page)
    assert len(first) == 4
    await page.locator("[data-page=next]").click()
    second = await row_ids(page)
    assert len(second) == 4 and not set(first) & set(second)
    second_url = page.url
    await page.locator("[data-page=next]").click()
    third = await row_ids(page)
    assert len(third) == total - 8
    await expect(page.locator("[data-page=next]")).to_have_count(0)
    await page.locator("[data-page=previous]").click()
    assert await row_ids(page) == second
    await page.locator("[data-page=previous]").click()
    assert await row_ids(page) == first

    other = await page.context.new_page()  # the same link shows the same page
    await other.goto(second_url)
    assert await row_ids(other) == second
    await other.close()


async def test_live_refresh_shows_new_runs(page: Any, ui_client: Client, action_queue: str) -> None:
    tag = uuid.uuid4().hex[:6]
    first = await ui_client.start_workflow(ApprovalWorkflow.run, "a", id=f"live-{tag}-1", task_queue=action_queue)
    await page.goto(list_path(query=f"WorkflowId STARTS_WITH 'live-{tag}'"))
    await expect(page.locator(ROWS)).to_have_count(1)
    await expect(page.locator("[data-live-toggle]")).to_have_class("live-toggle on")
    await ui_client.start_workflow(ApprovalWorkflow.run, "b", id=f"live-{tag}-2", task_queue=action_queue)
    await expect(page.locator(ROWS)).to_have_count(2, timeout=15_000)  # no reload: the page refreshes itself
    await first.signal(ApprovalWorkflow.approve, "sdk")
    badge = page.locator(ROWS, has_text=f"live-{tag}-1").locator(".badge")
    await expect(badge).to_have_text("Completed", timeout=15_000)


async def test_bulk_terminate_everything_a_query_matches(
    page: Any, ui_client: Client, action_queue: str, screenshots: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    handles = [
        await ui_client.start_workflow(ApprovalWorkflow.run, str(i), id=f"bulk-{tag}-{i}", task_queue=action_queue)
        for i in range(5)
    ]
    bystander = await ui_client.start_workflow(ApprovalWorkflow.run, "x", id=f"keep-{tag}", task_queue=action_queue)
    await page.goto(list_path(query=f"WorkflowId STARTS_WITH 'bulk-{tag}'", size="2"))
    await expect(page.locator(ROWS)).to_have_count(2)
    await page.locator("[data-check-all]").check()
    await expect(page.locator("[data-selected-label]")).to_have_text("2 selected")
    await page.locator("[data-select-query]").click()  # "Select all 5 running workflows matching this query"
    await expect(page.locator("[data-selected-label]")).to_contain_text("All 5 running workflows")
    await page.locator("[data-bulk-open=terminate]").click()
    dialog = page.locator("[data-bulk-dialog]")
    await expect(dialog.locator("[data-bulk-title]")).to_have_text("Terminate all 5 workflows?")
    await dialog.locator("input[name=reason]").fill("cleaning up the bulk test")
    await snap(page, screenshots, "bulk-terminate-dialog")
    await dialog.locator("[data-bulk-confirm]").click()
    await expect(page.locator("[data-flash]")).to_contain_text("Terminated 5 workflows")
    assert await count_of(page, "Terminated") == 5
    assert await count_of(page, "Running") == 0
    for handle in handles:
        assert (await handle.describe()).status == WorkflowExecutionStatus.TERMINATED
    assert (await bystander.describe()).status == WorkflowExecutionStatus.RUNNING
    await bystander.terminate("done")


async def test_bulk_signal_selected_rows(page: Any, ui_client: Client, action_queue: str) -> None:
    tag = uuid.uuid4().hex[:6]
    chosen = await ui_client.start_workflow(ApprovalWorkflow.run, "a", id=f"sig-{tag}-1", task_queue=action_queue)
    other = await ui_client.start_workflow(ApprovalWorkflow.run, "b", id=f"sig-{tag}-2", task_queue=action_queue)
    await page.goto(list_path(query=f"WorkflowId STARTS_WITH 'sig-{tag}'"))
    await page.locator(ROWS, has_text=f"sig-{tag}-1").locator("[data-row-check]").check()
    await page.locator("[data-bulk-open=signal]").click()
    dialog = page.locator("[data-bulk-dialog]")
    await expect(dialog.locator("[data-bulk-title]")).to_have_text("Signal 1 workflow?")
    await dialog.locator("input[name=signal_name]").fill("approve")
    await dialog.locator("textarea[name=signal_input]").fill('"bulk"')
    await dialog.locator("[data-bulk-confirm]").click()
    await expect(page.locator("[data-flash]")).to_contain_text("Signalled 1 workflow")
    assert await chosen.result() == "a approved by bulk"

    async def still_running() -> bool:
        return (await other.describe()).status == WorkflowExecutionStatus.RUNNING

    await eventually(still_running, "the unselected workflow to be left alone")
    await other.terminate("done")


async def test_empty_namespace_explains_how_to_start(page: Any, browser: Any) -> None:
    name = f"ui-empty-{uuid.uuid4().hex[:6]}"
    await page.goto("/namespaces")
    await page.get_by_role("button", name="New namespace").click()
    await page.locator("[data-namespace-name]").fill(name)
    await page.locator("[data-namespace-create]").click()
    await page.goto(f"/namespaces/{name}/workflows")
    await expect(page.locator(".empty h3")).to_have_text(f"No workflows in {name} yet")
    await expect(page.locator(".hint-code")).to_contain_text("temporal workflow start")
