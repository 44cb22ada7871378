"""Push all pending in Chromium, at desktop and phone width: the list before the click, then the progress that
updates by itself (htmx polling, no reload) up to each order's outcome, coloured, with its reason and a link."""

import pytest
from django.core.management import call_command
from django_q.conf import Conf
from playwright.sync_api import expect

from orders.services import order_update
from qbo_integration.bulk.push import bulk_push_run
from qbo_integration.models import BulkPush
from qbo_integration.testing import REALM_ID, point_settings_at, store_connection
from tests.browser.conftest import ARTIFACTS
from tests.browser.helpers import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GREEN, RED, AMBER = "rgb(30, 123, 74)", "rgb(179, 38, 30)", "rgb(168, 106, 0)"  # --ok, --bad, --warn in app.css


@pytest.mark.parametrize("width, height", [(1280, 800), (390, 844)], ids=["desktop", "phone"])
def test_push_all_pending_shows_the_list_then_each_outcome_without_a_reload(
    page,
    live_server,
    settings,
    qbo_emulator_server,
    staff_user,
    order_factory,
    monkeypatch,
    csp_violations,
    width,
    height,
):
    emu = qbo_emulator_server
    point_settings_at(emu, settings)
    store_connection(emu)
    settings.QBO_BULK_RETRY_DELAYS = (0, 0, 0, 0, 0)
    paid, fine = order_factory(ready_to_push=True), order_factory(ready_to_push=True)
    call_command("push_pending")
    for order in (paid, fine):
        order.refresh_from_db()
        order_update(order_id=order.pk, fields={"notes": "re-weighed"}, lines=None, by=staff_user)
    emu.record_payment(REALM_ID, paid.qbo_doc_id)  # its update will be refused: paid in QuickBooks
    draft = order_factory(ready_to_push=True)
    emu.add_fault("503", method="POST", path="/batch$", body=r'"Invoice": \{', count=6)  # the draft's batch, every try
    monkeypatch.setattr(Conf, "SYNC", False)  # the push waits in the queue until this test runs it, as a worker would

    page.set_viewport_size({"width": width, "height": height})
    log_in(page, live_server)
    page.goto(f"{live_server.url}/settings/quickbooks/push/")
    area = page.get_by_test_id("bulk-area")
    expect(page.get_by_test_id("pending-count")).to_have_text("3 orders pending.")
    preview = page.get_by_test_id("bulk-preview")
    expect(preview.locator("tbody tr")).to_have_count(3)
    expect(preview.locator("tr", has_text=draft.number)).to_contain_text("Create invoice")
    expect(preview.locator("tr", has_text=fine.number)).to_contain_text(f"Update invoice #{fine.qbo_doc_number}")
    expect(preview.locator("tr", has_text=fine.number)).to_contain_text("$472.00")
    page.screenshot(path=str(ARTIFACTS / f"bulk-{width}-before.png"), full_page=True)

    page.evaluate("window.stillTheSamePage = true")
    page.get_by_test_id("bulk-push").click()
    expect(page.get_by_test_id("bulk-progress")).to_have_attribute("data-state", "queued")
    bulk_push_run(bulk_id=BulkPush.objects.get(state="queued").pk)  # the worker's part

    expect(page.get_by_test_id("bulk-progress")).to_have_attribute("data-state", "done", timeout=15_000)
    assert page.evaluate("window.stillTheSamePage") is True  # it updated itself: no reload
    expect(area).not_to_contain_text("orders pending")
    expect(area).not_to_contain_text("Starting")
    expect(page.get_by_test_id("bulk-status")).to_contain_text("1 of 3 pushed in batch requests")
    expect(page.get_by_test_id("bulk-message")).to_have_css("color", RED)
    failed = page.get_by_test_id("bulk-outcome-failed")
    expect(failed).to_contain_text("QuickBooks shows this invoice as paid")
    expect(failed.locator(".badge")).to_have_css("color", RED)
    retrying = page.get_by_test_id("bulk-outcome-retrying")
    expect(retrying).to_contain_text("on its own at")
    expect(retrying.locator(".badge")).to_have_css("color", AMBER)
    page.get_by_test_id("bulk-pushed").locator("summary").click()
    done = page.get_by_test_id("bulk-outcome-done")
    expect(done).to_contain_text(fine.number)
    expect(done).to_have_css("border-left-color", GREEN)
    for row in (failed, retrying, done):
        assert row.locator("a").first.is_visible()
    box = area.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width  # nothing of the push runs off the screen
    page.screenshot(path=str(ARTIFACTS / f"bulk-{width}-after.png"), full_page=True)

    failed.locator("a").first.click()
    expect(page).to_have_url(f"{live_server.url}/orders/{paid.pk}/")
    assert csp_violations == []
