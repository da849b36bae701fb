"""Namespaces, search attributes and task queues pages, and namespace isolation."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from playwright.async_api import expect

from tests.ui.helpers import snap
from tests.ui.seed import Seeded


async def test_create_and_edit_a_namespace(page: Any, screenshots: Path) -> None:
    name = f"ui-ns-{uuid.uuid4().hex[:6]}"
    await page.goto("/namespaces")
    await page.get_by_role("button", name="New namespace").click()
    await page.locator("[data-namespace-name]").fill(name)
    await page.locator("dialog#create-namespace input[name=description]").fill("made in the UI")
    await page.locator("[data-namespace-create]").click()
    await expect(page.locator("[data-flash]")).to_contain_text(f"Created namespace {name}")
    row = page.locator(f"tr[data-namespace='{name}']")
    await expect(row).to_contain_text("made in the UI")
    await expect(row).to_contain_text("3d")

    await row.get_by_role("link", name="Edit").click()
    await page.locator("[data-description]").fill("edited in the UI")
    await page.locator("[data-retention]").fill("7")
    await page.locator("[data-save]").click()
    await expect(page.locator("[data-flash]")).to_contain_text(f"Saved namespace {name}")
    await expect(row).to_contain_text("edited in the UI")
    await expect(row).to_contain_text("7d")
    await snap(page, screenshots, "namespaces")

    await page.get_by_role("button", name="New namespace").click()
    await page.locator("[data-namespace-name]").fill(name)
    await page.locator("[data-namespace-create]").click()
    await expect(page.locator(".flash-bad")).to_contain_text("already")


async def test_add_a_search_attribute_in_one_namespace_only(page: Any, screenshots: Path) -> None:
    attribute = f"UiAttr{uuid.uuid4().hex[:6]}"
    await page.goto("/namespaces/default/search-attributes")
    await expect(page.locator("table").nth(1)).to_contain_text("WorkflowType")  # system attributes
    await page.get_by_role("button", name="Add attribute").click()
    await page.locator("[data-attribute-name]").fill(attribute)
    await page.locator("[data-attribute-type]").select_option("Int")
    await page.locator("[data-attribute-add]").click()
    await expect(page.locator("[data-flash]")).to_contain_text(f"Added search attribute {attribute} (Int)")
    await expect(page.locator(f"tr[data-attribute='{attribute}']")).to_contain_text("Int")
    await snap(page, screenshots, "search-attributes")

    other = f"ui-iso-{uuid.uuid4().hex[:6]}"
    await page.goto("/namespaces")
    await page.get_by_role("button", name="New namespace").click()
    await page.locator("[data-namespace-name]").fill(other)
    await page.locator("[data-namespace-create]").click()
    await page.goto(f"/namespaces/{other}/search-attributes")
    await expect(page.locator("tr[data-attribute='CustomKeywordField']")).to_have_count(1)
    await expect(page.locator(f"tr[data-attribute='{attribute}']")).to_have_count(0)


async def test_workflows_stay_in_their_namespace(page: Any, seeded: Seeded) -> None:
    other = f"ui-iso-{uuid.uuid4().hex[:6]}"
    await page.goto("/namespaces")
    await page.get_by_role("button", name="New namespace").click()
    await page.locator("[data-namespace-name]").fill(other)
    await page.locator("[data-namespace-create]").click()
    response = await page.goto(f"/namespaces/{other}/workflows/{seeded.orders[0]}")
    assert response.status == 404
    await page.goto("/namespaces/default/search-attributes")
    await page.locator("#ns-select").select_option(other)  # the switcher keeps the section
    await page.wait_for_url(f"**/namespaces/{other}/search-attributes")
    response = await page.goto(f"/namespaces/default/workflows/{seeded.orders[0]}")
    assert response.status == 200


async def test_task_queue_pollers(page: Any, seeded: Seeded, screenshots: Path) -> None:
    await page.goto("/namespaces/default/task-queues")
    listed = page.locator("tr", has_text=seeded.task_queue)
    await expect(listed.locator(".badge").first).to_have_text("1")  # one workflow poller: the test worker
    await snap(page, screenshots, "task-queues")
    await listed.get_by_role("link", name=seeded.task_queue).click()
    await expect(page.locator("h1")).to_have_text(seeded.task_queue)
    rows = page.locator("table.grid tbody tr")
    await expect(rows.filter(has_text="Workflow")).not_to_have_count(0)
    await expect(rows.filter(has_text="Activity")).not_to_have_count(0)
    stamp = rows.first.locator("time")
    assert (await stamp.get_attribute("title")).endswith("UTC")
    await snap(page, screenshots, "task-queue")

    await page.goto("/namespaces/default/task-queues/nobody-polls-this")
    await expect(page.locator(".empty h3")).to_have_text("No workers are polling this queue")


async def test_unknown_namespace(page: Any) -> None:
    response = await page.goto("/namespaces/no-such-namespace/workflows")
    assert response.status == 404
    await expect(page.locator(".empty")).to_contain_text("no-such-namespace")
