"""Issue 13 in Chromium (docs/quickbooks/beyond.md): an admin chooses on Settings which QuickBooks custom fields
carry the buyer's account code and the seller, and the next invoice carries them; a company without custom fields
is told why and how to turn one on; staff open the commission report from the navigation, filter it, are told
when a filter is wrong, and download it as CSV. Screenshots at desktop and phone width go to
test-artifacts/custom-fields/."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from orders.models import Order
from orders.tests.test_commission_report import sales  # noqa: F401  (fixture)
from qbo_integration.models import QboConnection
from qbo_integration.outbound.requests import order_push_request
from qbo_integration.testing import REALM_ID, connect_company, point_settings_at
from tests.browser.conftest import ARTIFACTS
from tests.browser.helpers import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
SHOTS = Path(os.environ.get("CUSTOM_FIELDS_SHOTS_DIR", ARTIFACTS / "custom-fields"))
FIELDS_REALM = "9130350000000009"  # "Custom Fields Produce LLC": 1 Account code, 2 Seller


def shoot(page, name: str, *, element: str | None = None) -> None:
    """The page (or one card of it) at desktop and at phone width; nothing may scroll sideways at either."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for viewport, size in VIEWPORTS.items():
        page.set_viewport_size(size)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {viewport} width"
        target = page.locator(element) if element else page
        target.screenshot(path=str(SHOTS / f"{name}-{viewport}.png"), **({} if element else {"full_page": True}))
    page.set_viewport_size(VIEWPORTS["desktop"])


def log_in_admin(page, live_server) -> None:
    log_in(page, live_server, username="ada", password="pw-ada-123")


def test_an_admin_chooses_the_custom_fields_and_the_invoice_carries_them(
    page, live_server, qbo_emulator_server, settings, admin_user, order_factory, staff_user, csp_violations
):
    emu = qbo_emulator_server
    point_settings_at(emu, settings)
    connect_company(emu, FIELDS_REALM, user=admin_user)
    log_in_admin(page, live_server)

    page.goto(f"{live_server.url}/settings/quickbooks/")
    card = page.get_by_test_id("custom-fields")
    expect(card.get_by_label("Buyer's account code")).to_have_value("")
    shoot(page, "settings-card", element="#custom-fields")
    card.get_by_label("Buyer's account code").select_option(label="Seller (custom field 2)")
    card.get_by_label("Seller").select_option(label="Seller (custom field 2)")
    card.get_by_role("button", name="Save custom fields").click()
    expect(page.locator(".has-error")).to_contain_text("One custom field can carry only one thing")
    shoot(page, "settings-card-refused", element="#custom-fields")

    card = page.get_by_test_id("custom-fields")
    card.get_by_label("Buyer's account code").select_option(label="Account code (custom field 1)")
    card.get_by_label("Seller").select_option(label="Seller (custom field 2)")
    card.get_by_role("button", name="Save custom fields").click()
    expect(page.locator(".messages")).to_contain_text("Custom fields saved.")
    expect(page.get_by_test_id("custom-fields").get_by_label("Seller")).to_have_value("2")
    shoot(page, "settings-card-saved", element="#custom-fields")
    conn = QboConnection.objects.get(realm_id=FIELDS_REALM)
    assert (conn.custom_field_account_code, conn.custom_field_seller) == ("1", "2")

    order = order_factory()
    assert order_push_request(order=order, doc_type=Order.DocType.INVOICE, by=staff_user).state == "done"
    (invoice,) = emu.dump(FIELDS_REALM)["entities"]["Invoice"]
    assert [(f["Name"], f["StringValue"]) for f in invoice["CustomField"]] == [
        ("Account code", "HFM"),
        ("Seller", "Green Valley Farms"),
    ]
    assert csp_violations == []


def test_a_company_without_custom_fields_is_told_how_to_turn_one_on(
    page, live_server, qbo_emulator_server, settings, admin_user
):
    point_settings_at(qbo_emulator_server, settings)
    connect_company(qbo_emulator_server, REALM_ID, user=admin_user)
    log_in_admin(page, live_server)

    page.goto(f"{live_server.url}/settings/quickbooks/")

    expect(page.get_by_test_id("custom-fields-unavailable")).to_contain_text("has no sales-form custom fields")
    expect(page.get_by_test_id("custom-fields")).to_contain_text("Gear → Account and settings → Sales → Custom fields")
    shoot(page, "settings-card-unavailable", element="#custom-fields")


def test_staff_filter_the_commission_report_and_download_it(page, live_server, sales, csp_violations):  # noqa: F811
    log_in(page, live_server)
    page.get_by_role("link", name="Commission").click()
    expect(page.get_by_role("heading", name="Commission report")).to_be_visible()

    page.get_by_label("From month").fill("2026-11")
    page.get_by_label("To month").fill("2026-12")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_test_id("commission-row")).to_have_count(4)
    expect(page.get_by_test_id("commission-total")).to_have_count(2)
    expect(page.get_by_test_id("not-counted")).to_have_text(
        "Not counted: 1 draft, 1 with an estimate only, 1 cancelled."
    )
    shoot(page, "commission-report")

    with page.expect_download() as download:
        page.get_by_test_id("commission-csv").click()
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text())))
    assert rows[0][:7] == ["seller", "seller_code", "month", "currency", "orders", "sold", "commission"]
    assert rows[2][:7] == ["Green Valley Farms", "GVF", "2026-11", "USD", "3", "606.25", "32.47"]

    page.get_by_label("From month").fill("2026-12")
    page.get_by_label("To month").fill("2026-11")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_test_id("filter-error")).to_have_text("The first month comes after the last one: swap them.")
    shoot(page, "commission-report-refused")

    page.get_by_label("From month").fill("2026-01")
    page.get_by_label("To month").fill("2026-03")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_test_id("empty")).to_contain_text("No orders sold from January 2026 to March 2026.")
    shoot(page, "commission-report-empty")
    assert csp_violations == []
