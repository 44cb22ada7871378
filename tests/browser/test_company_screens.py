"""What a broker sees on the order page for each seeded QuickBooks company (issue 15's closing note): one order
pushed as an invoice through the real job path, the page screenshotted at desktop and phone width into
test-artifacts/companies/, and what that company's broker must see asserted at both widths. Settings → QuickBooks
too for the Canadian and the strict-books companies."""

import os
import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from orders.models import Order
from qbo_integration.models import QboConnection
from qbo_integration.outbound.requests import order_push_request
from qbo_integration.testing import COMPANIES, connect_company, point_settings_at
from tests.browser.helpers import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
SHOTS = Path(os.environ.get("COMPANY_SHOTS_DIR", Path(__file__).resolve().parents[2] / "test-artifacts" / "companies"))
SUBTOTAL = Decimal("472.00")  # order_factory: 10 × 32.50 + 4 × 36.75
CENT = Decimal("0.01")
# QuickBooks' tax line per company: the rate's words, its percent said once (the buyer ships to California under AST)
TAX_LINES = {
    "automated_tax": ("California sales tax 7.25%", "7.25"),
    "canada": ("HST Ontario 13%", "13"),
    "uk": ("Standard 20%", "20"),
}


def amount(value: Decimal) -> re.Pattern:
    """The exact amount, whatever currency sign the page writes beside it."""
    return re.compile(rf"^\D*{re.escape(f'{value:,.2f}')}\D*$")


def rate_of(value: Decimal, percent: str) -> Decimal:
    return (value * Decimal(percent) / 100).quantize(CENT, rounding=ROUND_HALF_UP)  # the emulator's rounding


def _entity_id(emu, realm: str, entity: str, name: str) -> str:
    (found,) = [row["Id"] for row in emu.dump(realm)["entities"][entity] if row["Name"] == name]
    return found


def _prepare(company: str, emu, realm: str, conn: QboConnection, buyer) -> dict:
    """What the company needs before its order can go, and the fields of that order."""
    fields: dict = {}
    if company == "canada":
        conn.default_tax_code_id = _entity_id(emu, realm, "TaxCode", "HST ON")
    elif company == "uk":
        conn.default_tax_code_id = _entity_id(emu, realm, "TaxCode", "20.0% S")
    elif company == "strict_books":
        conn.default_class_id = _entity_id(emu, realm, "Class", "Produce")
        fields["order_date"] = date(2026, 7, 15)  # after the closing date
    elif company == "multi_currency":
        buyer.currency = "CAD"
        buyer.save(update_fields=["currency"])
    elif company == "automated_tax":
        buyer.region = "CA"  # QuickBooks takes the rate of the state the invoice ships to
        buyer.save(update_fields=["region"])
    conn.save()
    return fields


def _expect_order_page(page, company: str, order: Order) -> None:
    expect(page.get_by_test_id("status-badge")).to_have_text("Posted to QuickBooks")
    expect(page.get_by_test_id("subtotal")).to_have_text(amount(SUBTOTAL))
    if company in ("automated_tax", "canada", "uk"):
        words, percent = TAX_LINES[company]
        tax = rate_of(SUBTOTAL, percent)
        (line,) = page.get_by_test_id("qbo-tax-line").all()
        expect(line.locator("th")).to_have_text(
            re.compile(rf"^Tax in QuickBooks: {re.escape(words)} on \D*{SUBTOTAL:,.2f}$")
        )
        expect(line.locator("td")).to_have_text(amount(tax))
        expect(line.locator("td")).to_have_attribute("data-testid", "qbo-tax-total")  # one rate: no sum row below
        expect(page.get_by_test_id("qbo-tax-total")).to_have_count(1)
        expect(page.get_by_test_id("qbo-taxed-total")).to_have_text(amount(SUBTOTAL + tax))
        expect(page.get_by_test_id("qbo-total")).to_have_text(amount(SUBTOTAL + tax))
        # Subtotal, tax, QuickBooks' total: no Kadouri "Total" between them, no balance equal to the total twice
        expect(page.get_by_test_id("total")).to_have_count(0)
        expect(page.get_by_test_id("qbo-taxed-balance")).to_have_count(0)
        totals = page.locator("#order-totals th").all_inner_texts()
        assert [t.split(":")[0] for t in totals[:3]] == ["Subtotal", "Tax in QuickBooks", "Total in QuickBooks"]
    else:
        expect(page.get_by_test_id("qbo-tax-line")).to_have_count(0)
        expect(page.get_by_test_id("qbo-total")).to_have_text(amount(SUBTOTAL))
    if company == "multi_currency":
        box = page.get_by_test_id("order-currency")
        expect(box.get_by_role("heading", name="Currency")).to_be_visible()
        expect(box).to_contain_text("CAD")
        expect(page.get_by_test_id("currency-total")).to_contain_text("CAD")
        expect(page.get_by_test_id("currency-total")).to_contain_text("472.00")
        home = order.qbo_home_total
        assert home is not None and home != SUBTOTAL
        expect(page.get_by_test_id("home-equivalent")).to_contain_text(f"{home:,.2f}")
        # Which way the rate goes, both currencies named: "1 CAD = 0.729854 USD"
        expect(page.get_by_test_id("exchange-rate")).to_contain_text(f"1 CAD = {order.qbo_exchange_rate:.6f} USD")
        expect(page.get_by_test_id("home-equivalent")).to_contain_text("USD")
        _on_one_line(page.get_by_test_id("qbo-doc").locator(".nowrap"))  # "#KD-2026-00005", never split
    else:
        expect(page.get_by_test_id("order-currency")).to_have_count(0)
    if company == "auto_numbers":
        expect(page.get_by_test_id("qbo-number")).to_have_text("Invoice 1001 in QuickBooks")
        expect(page.get_by_test_id("qbo-doc")).to_have_text("Invoice #1001")
    else:
        expect(page.get_by_test_id("qbo-number")).to_have_count(0)
        expect(page.get_by_test_id("qbo-doc")).to_have_text(f"Invoice #{order.number}")
    if company == "strict_books":
        expect(page.get_by_test_id("qbo-class")).to_contain_text("Produce")
    else:
        expect(page.get_by_test_id("qbo-class")).to_have_count(0)


def _on_one_line(locator) -> None:
    box, line = locator.bounding_box(), locator.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)")
    assert box["height"] < 1.5 * line, f"{locator} wraps: {box}"


def _buttons_close_to_their_text(page) -> None:
    """Edit sits just under the badges (phone) or beside them; Void Invoice beside Update QB Invoice or just under."""
    badges = page.locator("#order-badges").bounding_box()
    edit = page.locator("#order-actions").get_by_role("link", name="Edit").bounding_box()
    assert edit["y"] - (badges["y"] + badges["height"]) <= 16, (badges, edit)
    update, void = page.get_by_test_id("qbo-update").bounding_box(), page.get_by_test_id("qbo-void").bounding_box()
    assert void["y"] - (update["y"] + update["height"]) <= 12, (update, void)


def _expect_settings_page(page, company: str) -> None:
    profile = page.get_by_test_id("company-profile")
    if company == "canada":
        expect(profile).to_contain_text("Canada")
        expect(profile).to_contain_text("CAD")
        select = page.locator("#company-rules").get_by_label("Default tax code")
        expect(select).to_be_visible()
        expect(select.locator("option", has_text="HST ON — HST Ontario 13%")).to_have_count(1)  # code and words
        log = page.get_by_test_id("integration-log")
        expect(log).to_contain_text("Read the company's settings: Canada, home currency CAD")
    else:
        expect(profile).to_contain_text("Jun 30, 2026")  # the closing date
        expect(page.get_by_test_id("integration-log")).to_contain_text("closing date Jun 30, 2026")
        expect(profile).to_contain_text("Tracked")
        expect(page.locator("#company-rules").get_by_label("Default class")).to_be_visible()
    # Each rule's choices: a button beside its words, not a button stretched across the card above them.
    choice = page.locator("#company-rules").get_by_label("Refuse the push and tell me").first
    expect(choice).to_be_visible()
    assert choice.bounding_box()["width"] < 40


def _no_sideways_scroll(page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"


@pytest.mark.parametrize("company", list(COMPANIES))
def test_the_order_page_of_each_company(
    company, chromium, live_server, qbo_emulator_server, settings, admin_user, buyer, order_factory,
    csp_violations,
):  # fmt: skip
    emu, realm = qbo_emulator_server, COMPANIES[company]
    point_settings_at(emu, settings)
    conn = connect_company(emu, realm, user=admin_user)
    order = order_factory(**_prepare(company, emu, realm, conn, buyer))
    job = order_push_request(order=order, doc_type=Order.DocType.INVOICE, by=admin_user)
    assert job.state == "done", job.last_error
    order.refresh_from_db()

    SHOTS.mkdir(parents=True, exist_ok=True)
    state = None
    for viewport, size in VIEWPORTS.items():
        context = chromium.new_context(viewport=size, storage_state=state)
        context.set_default_timeout(10_000)
        page = context.new_page()
        page.on("console", lambda msg: "Content Security Policy" in msg.text and csp_violations.append(msg.text))
        page.on("pageerror", lambda error: csp_violations.append(f"page error: {error}"))
        try:
            if state is None:
                log_in(page, live_server, "ada", "pw-ada-123")
                state = context.storage_state()
            page.goto(f"{live_server.url}/orders/{order.pk}/")
            _expect_order_page(page, company, order)
            _buttons_close_to_their_text(page)
            _no_sideways_scroll(page)
            page.screenshot(path=str(SHOTS / f"{company}-{viewport}.png"), full_page=True)
            if company in ("canada", "strict_books"):
                page.goto(f"{live_server.url}/settings/quickbooks/")
                _expect_settings_page(page, company)
                _no_sideways_scroll(page)
                page.screenshot(path=str(SHOTS / f"{company}-settings-{viewport}.png"), full_page=True)
        except Exception:
            page.screenshot(path=str(SHOTS / f"{company}-{viewport}-FAILED.png"), full_page=True)
            raise
        finally:
            context.close()
    assert csp_violations == []
