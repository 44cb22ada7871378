"""The broker's own books in Chromium (docs/quickbooks/beyond.md#the-brokers-own-books): an admin chooses a bill to
the seller on the Settings card (a missing expense account refused on its field), invoices an order from its page
and sees the bill beside the buyer's invoice; the bookkeeper pays the seller in QuickBooks while the page is open and
the card says "Paid to the seller" by itself; another order voided from its page takes its unpaid bill with it.
Every page is screenshotted at desktop and phone width into test-artifacts/broker/."""

import os
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from qbo_integration.testing import REALM_ID, connect_company, point_settings_at
from tests.browser.conftest import ARTIFACTS
from tests.browser.helpers import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
SHOTS = Path(os.environ.get("BROKER_SHOTS_DIR", ARTIFACTS / "broker"))
LIVE_TIMEOUT = 10_000  # ms: the QuickBooks panel polls every 2 s


@pytest.fixture
def live_qbo(qbo_emulator_server, live_server, settings, admin_user):
    emu = qbo_emulator_server
    point_settings_at(emu, settings)
    connect_company(emu, REALM_ID, user=admin_user)
    emu.configure_webhooks(
        url=f"{live_server.url}/api/quickbooks/webhook",
        format="legacy",
        verifier_token=django_settings.QBO_WEBHOOK_VERIFIER_TOKEN,
        batch_window=0.2,
    )
    return emu


def shoot(page, name: str) -> None:
    """The page as it is now, at desktop and at phone width; nothing may scroll sideways at either."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for viewport, size in VIEWPORTS.items():
        page.set_viewport_size(size)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {viewport} width"
        page.screenshot(path=str(SHOTS / f"{name}-{viewport}.png"), full_page=True)
    page.set_viewport_size(VIEWPORTS["desktop"])


def bills(emu) -> list[dict]:
    return emu.dump(REALM_ID)["entities"]["Bill"]


def test_a_bill_to_the_seller_beside_the_invoice_paid_and_voided(
    page, live_server, live_qbo, admin_user, order_factory, csp_violations
):
    emu = live_qbo
    order, other = order_factory(), order_factory()
    log_in(page, live_server, "ada", "pw-ada-123")

    # Settings: the admin chooses a bill to the seller; without an expense account it is refused on its field.
    page.goto(f"{live_server.url}/settings/quickbooks/")
    card = page.get_by_test_id("broker-books")
    card.get_by_label("A bill to the seller for its proceeds (total less commission)").check()
    card.get_by_role("button", name="Save").click()
    card = page.get_by_test_id("broker-books")
    expect(card.locator(".has-error")).to_contain_text("Choose the expense account the seller bills are booked to.")
    card.scroll_into_view_if_needed()
    shoot(page, "settings-error")
    card.get_by_label("Expense account for seller bills").select_option(label="Purchases (Cost of Goods Sold)")
    card.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("applies to orders invoiced from now on")
    page.get_by_test_id("broker-books").scroll_into_view_if_needed()
    shoot(page, "settings")

    # The order's invoice from its page: the bill to the seller appears beside it.
    page.goto(f"{live_server.url}/orders/{order.pk}/")
    expect(page.get_by_test_id("broker-note")).to_contain_text("made when the order's invoice is created")
    page.locator("#qbo-panel").get_by_role("button", name="Create Invoice in QB").click()
    broker = page.get_by_test_id("order-broker-document")
    expect(broker.get_by_test_id("broker-total")).to_have_text("$448.40", timeout=LIVE_TIMEOUT)
    expect(broker.get_by_test_id("broker-state")).to_have_text("Open: owed to the seller")
    [bill] = bills(emu)
    assert (bill["TotalAmt"], bill["DocNumber"]) == (448.4, order.number)
    shoot(page, "order-bill-open")

    # The bookkeeper pays the seller in QuickBooks; the open page follows by itself.
    page.evaluate("window.__notReloaded = true")
    emu.pay_bill(REALM_ID, bill["Id"])
    expect(broker.get_by_test_id("broker-state")).to_have_text("Paid to the seller", timeout=LIVE_TIMEOUT)
    expect(broker.get_by_test_id("broker-paid")).to_have_text("$448.40")
    assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"
    shoot(page, "order-bill-paid")

    # Another order, invoiced then voided from its page: its unpaid bill is deleted with the invoice.
    page.goto(f"{live_server.url}/orders/{other.pk}/")
    page.locator("#qbo-panel").get_by_role("button", name="Create Invoice in QB").click()
    expect(page.get_by_test_id("broker-total")).to_have_text("$448.40", timeout=LIVE_TIMEOUT)
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#qbo-panel").get_by_role("button", name="Void Invoice").click()
    gone = "Deleted in QuickBooks with the invoice"
    expect(page.get_by_test_id("broker-state")).to_have_text(gone, timeout=LIVE_TIMEOUT)
    assert [b["DocNumber"] for b in bills(emu)] == [order.number]
    shoot(page, "order-bill-deleted")
    assert csp_violations == []
