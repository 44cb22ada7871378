"""Stock in Chromium (docs/quickbooks/beyond.md#stock): an admin chooses the stock accounts in Settings, creates a
product that tracks stock and syncs it; staff type an order asking for more than is on hand (the form warns as they
type, the order page after the save), invoice it, and watch the line's quantity on hand follow QuickBooks — the
invoice's sale, then a bookkeeper's count — without a reload. A Simple Start company's card says why there is no
stock. Every page is screenshotted at desktop and phone width into test-artifacts/stock/."""

import os
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from conftest import make_account
from products.models import Product
from qbo_integration.testing import REALM_ID, connect_company, point_settings_at
from tests.browser.conftest import ARTIFACTS
from tests.browser.helpers import log_in
from tests.browser.test_money_flow import VIEWPORTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("STOCK_SHOTS_DIR", ARTIFACTS / "stock"))
LIVE_TIMEOUT = 10_000  # ms: the QuickBooks panel polls every 2 s
SIMPLE_START = "9130350000000010"


def shoot(page, name: str) -> None:
    """The page as it is now, at desktop and at phone width; nothing may scroll sideways at either."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for viewport, size in VIEWPORTS.items():
        page.set_viewport_size(size)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {viewport} width"
        page.screenshot(path=str(SHOTS / f"{name}-{viewport}.png"), full_page=True)
    page.set_viewport_size(VIEWPORTS["desktop"])


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


def test_stock_from_settings_to_the_order_page(page, live_server, live_qbo, admin_user, staff_user, csp_violations):
    seller, buyer = make_account("Green Valley Farms", "GVF"), make_account("Harbor Fresh Market", "HFM")
    log_in(page, live_server, "ada", "pw-ada-123")

    # Settings: the usual accounts are offered first; the admin saves them.
    page.goto(f"{live_server.url}/settings/quickbooks/")
    card = page.get_by_test_id("stock-settings")
    expect(card.get_by_label("Inventory asset account")).to_have_value(
        next(a["Id"] for a in live_qbo.dump(REALM_ID)["entities"]["Account"] if a["Name"] == "Inventory Asset")
    )
    card.scroll_into_view_if_needed()
    shoot(page, "settings-stock")
    card.get_by_role("button", name="Save stock accounts").click()
    expect(page.locator(".messages")).to_contain_text("Stock accounts saved")

    # A product that tracks stock; the starting quantity is required with it.
    page.goto(f"{live_server.url}/products/new/")
    page.get_by_label("Name").fill("Honeycrisp Apples")
    page.get_by_label("Unit price").fill("40.00")
    page.get_by_label("Track stock in QuickBooks").check()
    page.get_by_role("button", name="Save product").click()
    expect(page.locator(".has-error").first).to_contain_text("Enter the quantity on hand when tracking starts")
    page.get_by_label("Starting quantity").fill("120")
    page.get_by_label("Stock as of").fill("2026-10-01")
    shoot(page, "product-form")
    page.get_by_role("button", name="Save product").click()
    expect(page.get_by_test_id("stock-tracking")).to_contain_text("starting with 120 case")
    page.get_by_test_id("qbo-sync").click()
    expect(page.get_by_test_id("qbo-sync-outcome")).to_contain_text("Synced to QuickBooks")
    page.reload()
    expect(page.get_by_test_id("qty-on-hand")).to_contain_text("120 case")
    shoot(page, "product-page")
    product = Product.objects.get()
    item = next(i for i in live_qbo.dump(REALM_ID)["entities"]["Item"] if i["Id"] == product.qbo_item_id)
    assert (item["Type"], float(item["QtyOnHand"])) == ("Inventory", 120)

    # The order form: the quantity on hand by the line, and a warning as the lines ask for more.
    page.goto(f"{live_server.url}/orders/new/")
    page.get_by_label("Seller").select_option(str(seller.pk))
    page.get_by_label("Buyer").select_option(str(buyer.pk))
    page.get_by_role("combobox", name="Line 1 product").select_option(label="Honeycrisp Apples")
    first = page.locator(".line-row").first
    expect(first.get_by_test_id("line-stock")).to_contain_text("On hand in QuickBooks: 120 case")
    page.get_by_label("Line 1 quantity", exact=True).fill("100")
    page.get_by_role("button", name="+ Add line").click()
    page.get_by_role("combobox", name="Line 2 product").select_option(label="Honeycrisp Apples")
    page.get_by_label("Line 2 quantity", exact=True).fill("50")
    expect(first.get_by_test_id("line-stock")).to_contain_text("This order asks for 150 case in all: more than on hand")
    shoot(page, "order-form-warning")
    page.get_by_role("button", name="Save order").click()

    # Saved all the same, with the warning on the order page and by its lines.
    expect(page.locator(".messages")).to_contain_text("this order asks for 150 case, but QuickBooks has 120 on hand")
    expect(page.get_by_test_id("line-stock-warning")).to_have_count(2)
    shoot(page, "order-page-warning")

    # The invoice takes the goods: the lines follow QuickBooks' quantity by themselves, then a bookkeeper's count.
    page.locator("#qbo-panel").get_by_role("button", name="Create Invoice in QB").click()
    expect(page.get_by_test_id("status-badge")).to_have_text("Posted to QuickBooks")
    lines = page.get_by_test_id("line-stock")
    expect(lines.first).to_contain_text("On hand in QuickBooks: -30 case", timeout=LIVE_TIMEOUT)
    expect(lines.first).to_contain_text("Below zero: more was sold than QuickBooks had.")
    live_qbo.adjust_quantity(REALM_ID, product.qbo_item_id, 200)
    expect(lines.first).to_contain_text("On hand in QuickBooks: 200 case", timeout=LIVE_TIMEOUT)
    expect(page.get_by_test_id("line-stock-warning")).to_have_count(0)
    # The lines swapped in keep the column names a phone shows beside each cell.
    expect(page.locator("#order-lines td").nth(1)).to_have_attribute("data-label", "Product")
    shoot(page, "order-page-live")
    assert csp_violations == []


def test_a_simple_start_company_says_why_there_is_no_stock(
    page, live_server, qbo_emulator_server, settings, admin_user
):
    point_settings_at(qbo_emulator_server, settings)
    connect_company(qbo_emulator_server, SIMPLE_START, user=admin_user)
    log_in(page, live_server, "ada", "pw-ada-123")

    page.goto(f"{live_server.url}/settings/quickbooks/")

    card = page.get_by_test_id("stock-settings")
    expect(card.get_by_test_id("stock-unavailable")).to_contain_text("does not track quantity on hand")
    card.scroll_into_view_if_needed()
    shoot(page, "settings-stock-unavailable")
    page.goto(f"{live_server.url}/products/new/")
    expect(page.get_by_test_id("stock-fields")).to_contain_text("Not available now")
