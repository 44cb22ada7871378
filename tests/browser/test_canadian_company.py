"""Issue 15's proof in Chromium: a person connects the Canadian company (CAD, tax codes on every line) through
the emulator's consent page, chooses a default tax code in Settings, takes an order from draft to an invoice, sees
QuickBooks' HST as QuickBooks computed it, and the order turns Paid when the bookkeeper records the payment in
QuickBooks (the emulator's UI) — the open page follows by itself."""

import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from orders.models import Order
from qbo_integration.invariants import order_invariant_violations
from qbo_integration.models import CompanyProfile, QboConnection
from qbo_integration.testing import COMPANIES, point_settings_at
from tests.browser.helpers import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CANADA = COMPANIES["canada"]
LIVE_TIMEOUT = 10_000  # ms: the QuickBooks panel polls every 2 s


def amount(value: Decimal) -> re.Pattern:
    """The exact amount, whatever currency sign the page writes beside it ("$", "CA$", "CAD")."""
    return re.compile(rf"^\D*{re.escape(f'{value:,.2f}')}\D*$")


@pytest.fixture
def live_qbo(qbo_emulator_server, live_server, settings):
    emu = qbo_emulator_server
    point_settings_at(emu, settings)
    settings.QBO_REDIRECT_URI = f"{live_server.url}/api/quickbooks/callback"
    emu.oauth.config.redirect_uris.append(settings.QBO_REDIRECT_URI)
    emu.configure_webhooks(
        url=f"{live_server.url}/api/quickbooks/webhook",
        format="legacy",
        verifier_token=django_settings.QBO_WEBHOOK_VERIFIER_TOKEN,
        batch_window=0.2,
    )
    return emu


def test_a_canadian_order_goes_from_draft_to_paid_with_quickbooks_hst(
    page, live_server, live_qbo, admin_user, seller, buyer, apples, pears, csp_violations
):
    log_in(page, live_server, "ada", "pw-ada-123")

    # Connect: the consent page lists every company; choose Maple Leaf Produce by its radio.
    page.goto(f"{live_server.url}/settings/quickbooks/")
    page.click("[data-testid=connect]")
    page.wait_for_url(f"{live_qbo.base_url}/connect/oauth2**")
    expect(page.locator(f"label:has(#realm-{CANADA})")).to_contain_text("Maple Leaf Produce Ltd")
    page.check(f"#realm-{CANADA}")
    page.click("#connect")
    page.wait_for_url(f"{live_server.url}/settings/quickbooks/")
    expect(page.locator(".messages")).to_contain_text("Connected to QuickBooks company “Maple Leaf Produce Ltd”")
    assert QboConnection.objects.get().realm_id == CANADA

    # Settings describes the company in plain words.
    profile = page.get_by_test_id("company-profile")
    expect(profile).to_contain_text("Canada")
    expect(profile).to_contain_text("CAD")
    expect(profile).to_contain_text("Tax codes on every line")
    assert CompanyProfile.objects.get(realm_id=CANADA).sales_tax == "global"

    # Company rules: HST ON (13%) on every line of products without a code of their own.
    rules = page.locator("#company-rules")
    rules.get_by_label("Default tax code").select_option(label="HST ON — HST Ontario 13%")
    rules.get_by_role("button", name="Save rules").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(live_server.url)}/settings/quickbooks/"))
    expect(page.locator("#company-rules").get_by_label("Default tax code")).to_have_value(
        QboConnection.objects.get().default_tax_code_id
    )
    assert QboConnection.objects.get().default_tax_code_id

    # A draft order through the order form: 3 × 32.50 + 7 × 36.75 = 354.75.
    page.goto(f"{live_server.url}/orders/new/")
    page.select_option("#id_seller", label="Green Valley Farms (GVF)")
    page.select_option("#id_buyer", label="Harbor Fresh Market (HFM)")
    page.fill("#id_order_date", "2026-11-02")
    page.select_option("#id_terms", "net_30")
    page.fill("#id_commission_rate", "5")
    page.select_option("#id_lines-0-product", label="Gala Apples")
    page.fill("#id_lines-0-quantity", "3")
    page.get_by_role("button", name="+ Add line").click()
    page.select_option("#id_lines-1-product", label="Bartlett Pears")
    page.fill("#id_lines-1-quantity", "7")
    page.get_by_role("button", name="Save order").click()
    order = Order.objects.get()
    order_url = f"{live_server.url}/orders/{order.pk}/"
    expect(page).to_have_url(order_url)
    expect(page.get_by_test_id("status-badge")).to_have_text("Draft")
    subtotal = Decimal("354.75")
    expect(page.get_by_test_id("subtotal")).to_have_text(amount(subtotal))
    hst = (subtotal * Decimal("0.13")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)  # 46.1175 → 46.12
    assert hst == Decimal("46.12")

    # Create Invoice in QB from the order page: the panel follows in place, and so do QuickBooks' figures under
    # the lines (its tax per code, its total), with no reload.
    expect(page.get_by_test_id("tax-pending")).to_contain_text("QuickBooks adds it when the order is sent")
    page.evaluate("window.__notReloaded = true")
    panel = page.locator("#qbo-panel")
    panel.get_by_role("button", name="Create Invoice in QB").click()
    expect(page.get_by_test_id("qbo-outcome")).to_contain_text("created in QuickBooks")
    expect(page.get_by_test_id("status-badge")).to_have_text("Posted to QuickBooks")
    expect(page.get_by_test_id("qbo-total")).to_have_text(amount(subtotal + hst))
    (tax_line,) = page.get_by_test_id("qbo-tax-line").all()
    expect(tax_line.locator("th")).to_have_text(re.compile(rf"^Tax in QuickBooks: HST Ontario 13% on \D*{subtotal}$"))
    expect(tax_line.locator("td")).to_have_text(amount(hst))
    expect(page.get_by_test_id("qbo-tax-total")).to_have_text(amount(hst))
    expect(page.get_by_test_id("qbo-taxed-total")).to_have_text(amount(subtotal + hst))
    expect(page.get_by_test_id("tax-pending")).to_have_count(0)
    expect(page.get_by_test_id("subtotal")).to_have_text(amount(subtotal))  # Kadouri's own, without tax
    expect(page.get_by_test_id("payment-badge")).to_have_text("Unpaid")
    assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"
    order.refresh_from_db()
    (invoice,) = live_qbo.dump(CANADA)["entities"]["Invoice"]
    assert Decimal(str(invoice["TxnTaxDetail"]["TotalTax"])) == hst
    assert Decimal(str(invoice["TotalAmt"])) == subtotal + hst

    # The bookkeeper, in QuickBooks (another tab): record the full balance, tax included.
    page.evaluate("window.__notReloaded = true")
    bookkeeper = page.context.new_page()
    bookkeeper.goto(f"{live_qbo.base_url}/_emulator/company/{CANADA}/invoices")
    row = bookkeeper.locator(f"#invoice-{order.qbo_doc_id}")
    expect(row).to_contain_text("Open")
    expect(row).to_contain_text(f"{subtotal + hst:,.2f}")
    bookkeeper.click(f"#record-payment-{order.qbo_doc_id}")
    expect(row).to_contain_text("Paid")
    bookkeeper.close()

    # The webhook reaches Kadouri; the open order page turns Paid by itself.
    expect(page.get_by_test_id("status-badge")).to_have_text("Paid", timeout=LIVE_TIMEOUT)
    expect(page.get_by_test_id("qbo-balance")).to_have_text(amount(Decimal("0")), timeout=LIVE_TIMEOUT)
    expect(page.get_by_test_id("payment-badge")).to_have_count(0)
    assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order_invariant_violations(order) == []
    assert csp_violations == []
