"""The invoice flow in Chromium against the live QuickBooks emulator: create, edit, update, void."""

import pytest
from playwright.sync_api import expect

from orders.models import Order
from qbo_integration.testing import REALM_ID, point_settings_at, store_connection
from tests.browser.helpers import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def live_qbo(qbo_emulator_server, live_server, settings):
    point_settings_at(qbo_emulator_server, settings)
    store_connection(qbo_emulator_server)
    return qbo_emulator_server


def test_it_creates_updates_and_voids_the_invoice(
    page, live_server, live_qbo, staff_user, order_factory, csp_violations
):
    order = order_factory(notes="Deliver to dock 4")
    page.on("dialog", lambda dialog: dialog.accept())  # hx-confirm: "… cannot be undone"
    log_in(page, live_server)
    page.goto(f"{live_server.url}/orders/{order.pk}/")
    panel = page.locator("#qbo-panel")
    expect(panel.get_by_role("button", name="Update QB Invoice")).to_have_count(0)

    # Create Invoice in QB: the QuickBooks number appears in place.
    panel.get_by_role("button", name="Create Invoice in QB").click()
    expect(page.get_by_test_id("qbo-outcome")).to_contain_text(f"Invoice #{order.number} created in QuickBooks.")
    expect(page.get_by_test_id("qbo-doc")).to_have_text(f"Invoice #{order.number}")
    expect(panel.get_by_role("button", name="Create Invoice in QB")).to_have_count(0)
    # The header follows without a reload: status badge, and Delete gone (posted orders cannot be deleted).
    expect(page.get_by_test_id("status-badge")).to_have_text("Posted to QuickBooks")
    expect(page.locator("#order-actions").get_by_text("Delete")).to_have_count(0)
    (invoice,) = live_qbo.dump(REALM_ID)["entities"]["Invoice"]
    assert invoice["DocNumber"] == order.number and invoice["TotalAmt"] == 472.0

    # Edit the order: the page says QuickBooks is out of date.
    page.goto(f"{live_server.url}/orders/{order.pk}/edit/")
    page.fill("#id_lines-0-quantity", "12")
    page.get_by_role("button", name="Save order").click()
    expect(page).to_have_url(f"{live_server.url}/orders/{order.pk}/")
    expect(page.get_by_test_id("out-of-date")).to_contain_text("QuickBooks is out of date")

    # Update QB Invoice: same Id and number, new total; the notice goes away.
    page.locator("#qbo-panel").get_by_role("button", name="Update QB Invoice").click()
    expect(page.get_by_test_id("qbo-outcome")).to_contain_text(f"QuickBooks invoice #{order.number} updated.")
    expect(page.get_by_test_id("out-of-date")).to_have_count(0)
    expect(page.get_by_test_id("qbo-total")).to_have_text("$537.00")
    (invoice,) = live_qbo.dump(REALM_ID)["entities"]["Invoice"]
    assert invoice["TotalAmt"] == 537.0 and invoice["SyncToken"] == "1"

    # Void Invoice, behind the confirmation: the order is cancelled.
    page.locator("#qbo-panel").get_by_role("button", name="Void Invoice").click()
    expect(page.get_by_test_id("qbo-outcome")).to_contain_text("voided in QuickBooks; the order is cancelled")
    page.goto(f"{live_server.url}/orders/{order.pk}/?tab=activity")
    expect(page.locator("h1")).to_contain_text("Cancelled")
    log = page.get_by_test_id("activity-log")
    expect(log).to_contain_text(f"Invoice #{order.number} created in QuickBooks by Sam Staff.")
    expect(log).to_contain_text(f"Invoice #{order.number} updated in QuickBooks by Sam Staff.")
    expect(log).to_contain_text(f"Invoice #{order.number} voided in QuickBooks by Sam Staff.")
    expect(page.locator("#qbo-panel button")).to_have_count(0)
    assert Order.objects.get(pk=order.pk).status == "cancelled"
    assert csp_violations == []


def test_a_click_whose_try_fails_is_finished_by_the_worker_and_the_panel_follows(
    page, live_server, live_qbo, staff_user, order_factory, csp_violations
):
    """The click makes one try and never waits in the request; QuickBooks answers 503, so the job is queued. The
    worker's retry creates the invoice, and the open page shows it by itself: no reload, no second click."""
    from datetime import timedelta

    from django.utils import timezone

    from qbo_integration import tasks
    from qbo_integration.models import QboSyncJob

    order = order_factory()
    live_qbo.add_fault("503", method="POST", path="/invoice$", count=1)
    log_in(page, live_server)
    page.goto(f"{live_server.url}/orders/{order.pk}/")
    page.evaluate("window.__notReloaded = true")
    panel = page.locator("#qbo-panel")

    panel.get_by_role("button", name="Create Invoice in QB").click()

    expect(page.get_by_test_id("qbo-outcome")).to_contain_text("Queued — retrying at")
    job = QboSyncJob.objects.get(order=order)
    assert (job.state, job.attempts) == ("pending", 1)
    assert live_qbo.count_requests(method="POST", subpath="invoice") == 1
    expect(page.get_by_test_id("status-badge")).to_have_text("Draft")

    QboSyncJob.objects.filter(pk=job.pk).update(not_before=timezone.now() - timedelta(seconds=1))
    assert tasks.qbo_drain_due_jobs() == 1  # what the worker does when the retry is due

    expect(page.get_by_test_id("qbo-doc")).to_have_text(f"Invoice #{order.number}")
    expect(page.get_by_test_id("qbo-outcome")).to_have_count(0)  # the queued notice gave way to the outcome
    expect(page.get_by_test_id("status-badge")).to_have_text("Posted to QuickBooks")
    expect(panel.get_by_role("button", name="Void Invoice")).to_have_count(1)
    assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"
    (invoice,) = live_qbo.dump(REALM_ID)["entities"]["Invoice"]
    assert invoice["DocNumber"] == order.number
    assert QboSyncJob.objects.get(pk=job.pk).state == "done"
    assert csp_violations == []
