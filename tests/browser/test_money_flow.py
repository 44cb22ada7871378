"""Issue 12's proof in Chromium (docs/quickbooks/money.md): a staff user invoices an order from its page, records a
partial payment from the Money card and then the rest; on another order, paid by the bookkeeper in QuickBooks while
its page is open (the Money card follows by itself), issues a credit of part of a line and refunds it from Checking;
and records a draft as a cash sale. QuickBooks (the emulator, its webhooks aimed at the live server) holds exactly
the transactions asked for, with their amounts. Every page is screenshotted at desktop and phone width into
test-artifacts/money/."""

import os
import re
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from orders.models import Order
from qbo_integration.invariants import order_invariant_violations
from qbo_integration.models import QboConnection
from qbo_integration.outbound.credits import credit_issue_request
from qbo_integration.outbound.requests import order_push_request
from qbo_integration.testing import REALM_ID, connect_company, point_settings_at
from tests.browser.conftest import ARTIFACTS
from tests.browser.helpers import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
SHOTS = Path(os.environ.get("MONEY_SHOTS_DIR", ARTIFACTS / "money"))
LIVE_TIMEOUT = 10_000  # ms: the QuickBooks panel polls every 2 s
TOTAL = Decimal("472.00")  # order_factory: 10 × 32.50 + 4 × 36.75, no tax in the first demo company
PEARS_PRICE = Decimal("36.75")


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


def usd(value: Decimal) -> str:
    return f"${value:,.2f}"


def shoot(page, name: str) -> None:
    """The page as it is now, at desktop and at phone width; nothing may scroll sideways at either."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for viewport, size in VIEWPORTS.items():
        page.set_viewport_size(size)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {viewport} width"
        page.screenshot(path=str(SHOTS / f"{name}-{viewport}.png"), full_page=True)
    page.set_viewport_size(VIEWPORTS["desktop"])


def expect_figures(page, *, sold: Decimal, credited: Decimal, paid: Decimal, open_: Decimal) -> None:
    card = page.get_by_test_id("order-money")
    for name, value in (("sold", sold), ("credited", credited), ("paid", paid), ("open", open_)):
        expect(card.get_by_test_id(f"money-{name}")).to_have_text(usd(value), timeout=LIVE_TIMEOUT)


def expect_payment_row(page, reference: str, *, amount: Decimal, method: str, who: str, date: str) -> None:
    row = page.get_by_test_id("payment-row").filter(has_text=reference)
    expect(row).to_have_count(1)
    for label, text in (("Date", date), ("Amount", usd(amount)), ("Method", method), ("Reference", reference)):
        expect(row.locator(f'td[data-label="{label}"]')).to_have_text(text)
    expect(row.locator('td[data-label="Recorded by"]')).to_have_text(who)


def entities(emu, entity: str) -> list[dict]:
    return emu.dump(REALM_ID)["entities"][entity]


def amounts(rows: list[dict], key: str = "TotalAmt") -> list[Decimal]:
    return sorted(Decimal(str(row[key])) for row in rows)


def record_payment(page, *, amount: str | None, reference: str) -> None:
    """Record payment from the order's Money card; `amount` None keeps the form's default (the open balance)."""
    page.get_by_test_id("order-money").get_by_role("link", name="Record payment").click()
    form = page.get_by_test_id("payment-form")
    if amount is not None:
        form.get_by_label("Amount").fill(amount)
    form.get_by_label("Payment method").select_option(label="Check")
    form.get_by_label("Reference").fill(reference)
    form.get_by_role("button", name="Record payment").click()


def test_a_partial_payment_then_the_rest_then_a_credit_refunded(
    page, live_server, live_qbo, staff_user, admin_user, order_factory, buyer, csp_violations
):
    emu = live_qbo
    first, second, open_order = order_factory(), order_factory(), order_factory()
    job = order_push_request(order=open_order, doc_type=Order.DocType.INVOICE, by=staff_user)  # to apply credit to
    assert job.state == "done", job.last_error
    first_url, second_url = (f"{live_server.url}/orders/{o.pk}/" for o in (first, second))
    log_in(page, live_server)

    # The first order's invoice, from its page.
    page.goto(first_url)
    page.locator("#qbo-panel").get_by_role("button", name="Create Invoice in QB").click()
    expect(page.get_by_test_id("status-badge")).to_have_text("Posted to QuickBooks")
    expect(page.get_by_test_id("payment-badge")).to_have_text("Unpaid")
    expect_figures(page, sold=TOTAL, credited=Decimal(0), paid=Decimal(0), open_=TOTAL)
    first.refresh_from_db()

    # Record payment: the form offers the open balance; a bad amount is refused on its field, nothing sent.
    page.get_by_test_id("order-money").get_by_role("link", name="Record payment").click()
    expect(page).to_have_url(f"{live_server.url}/settings/quickbooks/orders/{first.pk}/payments/new/")
    form = page.get_by_test_id("payment-form")
    expect(form.get_by_label("Amount")).to_have_value("472.00")
    expect(form.get_by_label("Deposit to")).to_have_value(
        next(a["Id"] for a in entities(emu, "Account") if a["Name"] == "Undeposited Funds")
    )
    shoot(page, "payment-form")
    form.get_by_label("Amount").fill("100.005")
    form.get_by_label("Payment method").select_option(label="Check")
    form.get_by_label("Reference").fill("CHK 1042")
    form.get_by_role("button", name="Record payment").click()
    expect(page.locator(".has-error")).to_contain_text("at most two decimals")
    expect(form.get_by_label("Reference")).to_have_value("CHK 1042")  # what was typed is kept
    shoot(page, "payment-form-error")
    assert entities(emu, "Payment") == []

    # A partial payment: 100.00 of 472.00.
    form.get_by_label("Amount").fill("100.00")
    form.get_by_role("button", name="Record payment").click()
    expect(page).to_have_url(first_url)
    expect(page.locator(".messages")).to_contain_text("Payment of $100.00 recorded in QuickBooks.")
    expect(page.get_by_test_id("status-badge")).to_have_text("Posted to QuickBooks")
    expect(page.get_by_test_id("payment-badge")).to_have_text("Partially paid")
    expect_figures(page, sold=TOTAL, credited=Decimal(0), paid=Decimal("100.00"), open_=Decimal("372.00"))
    today = page.evaluate("new Date().toLocaleDateString('en-US', {month: 'short', day: 'numeric', year: 'numeric'})")
    expect_payment_row(page, "CHK 1042", amount=Decimal("100.00"), method="Check", who="Sam Staff", date=today)
    expect(page.get_by_test_id("qbo-balance")).to_have_text("$372.00")
    shoot(page, "order-partly-paid")

    # The rest: the form offers what is still open.
    page.get_by_test_id("order-money").get_by_role("link", name="Record payment").click()
    expect(page.get_by_test_id("payment-form").get_by_label("Amount")).to_have_value("372.00")
    page.goto(first_url)
    record_payment(page, amount=None, reference="CHK 1043")
    expect(page).to_have_url(first_url)
    expect(page.locator(".messages")).to_contain_text("Payment of $372.00 recorded in QuickBooks.")
    expect(page.get_by_test_id("status-badge")).to_have_text("Paid")
    expect(page.get_by_test_id("payment-badge")).to_have_count(0)
    expect_figures(page, sold=TOTAL, credited=Decimal(0), paid=TOTAL, open_=Decimal(0))
    expect_payment_row(page, "CHK 1043", amount=Decimal("372.00"), method="Check", who="Sam Staff", date=today)
    expect(page.get_by_test_id("payment-row")).to_have_count(2)
    expect(page.get_by_test_id("record-payment")).to_have_count(0)  # nothing left to pay

    # The second order: invoiced from its page, paid by the bookkeeper in QuickBooks while the page stays open.
    page.goto(second_url)
    page.locator("#qbo-panel").get_by_role("button", name="Create Invoice in QB").click()
    expect(page.get_by_test_id("status-badge")).to_have_text("Posted to QuickBooks")
    second.refresh_from_db()
    page.evaluate("window.__notReloaded = true")
    emu.record_payment(REALM_ID, second.qbo_doc_id, 200)
    expect_figures(page, sold=TOTAL, credited=Decimal(0), paid=Decimal("200.00"), open_=Decimal("272.00"))
    expect(page.get_by_test_id("payment-row")).to_contain_text("in QuickBooks")
    emu.record_payment(REALM_ID, second.qbo_doc_id)
    expect(page.get_by_test_id("status-badge")).to_have_text("Paid", timeout=LIVE_TIMEOUT)
    expect_figures(page, sold=TOTAL, credited=Decimal(0), paid=TOTAL, open_=Decimal(0))
    expect(page.get_by_test_id("payment-row")).to_have_count(2)
    assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"

    # Issue credit: 2 of the 4 cases of pears, damaged. The invoice is paid: the credit stays the buyer's.
    page.get_by_test_id("issue-credit").click()
    credit_form = page.get_by_test_id("credit-form")
    credit_form.get_by_label("Reason").select_option(label="Damaged")
    shoot(page, "credit-form")
    credit_form.get_by_label("Quantity of Bartlett Pears to credit").fill("2")
    credit_form.get_by_role("button", name="Issue credit").click()
    expect(page).to_have_url(second_url)
    credit_amount = 2 * PEARS_PRICE
    expect(page.locator(".messages")).to_contain_text("it stays as the buyer's credit")
    expect(page.get_by_test_id("status-badge")).to_have_text("Paid")
    expect_figures(page, sold=TOTAL, credited=credit_amount, paid=TOTAL, open_=Decimal(0))
    credit_row = page.get_by_test_id("order-credits").get_by_test_id("credit-row")
    expect(credit_row).to_have_count(1)
    expect(credit_row).to_contain_text("Damaged")
    expect(credit_row).to_contain_text("Sam Staff")
    expect(credit_row.get_by_test_id("credit-remaining")).to_have_text(usd(credit_amount))
    shoot(page, "order-paid-with-credit")

    # The buyer's page lists it as their open credit.
    page.goto(f"{live_server.url}{buyer.get_absolute_url()}")
    open_credits = page.get_by_test_id("buyer-credits")
    expect(open_credits.get_by_test_id("credit-row")).to_have_count(1)
    expect(open_credits.get_by_test_id("credit-remaining")).to_have_text(usd(credit_amount))
    expect(open_credits).to_contain_text(second.number)
    shoot(page, "buyer-open-credits")

    # Apply is offered on the buyer's other open order (looked at, not used).
    open_credits.get_by_role("link", name="Apply").click()
    apply_form = page.get_by_test_id("credit-apply-form")
    expect(apply_form.get_by_label("Order")).to_contain_text(open_order.number)
    shoot(page, "credit-apply")

    # Refund it all from Checking.
    page.goto(second_url)
    page.get_by_test_id("order-credits").get_by_role("link", name="Refund").click()
    refund_form = page.get_by_test_id("credit-refund-form")
    expect(refund_form.get_by_label("Amount")).to_have_value(f"{credit_amount:.2f}")
    refund_form.get_by_label("Paid from").select_option(label="Checking")
    refund_form.get_by_label("Payment method").select_option(label="Check")
    refund_form.get_by_label("Reference").fill("CHK 2001")
    shoot(page, "credit-refund")
    refund_form.get_by_role("button", name="Refund").click()
    expect(page).to_have_url(second_url)
    expect(page.locator(".messages")).to_contain_text(f"refunded: {usd(credit_amount)} paid back")
    expect(credit_row.get_by_test_id("credit-remaining")).to_have_text("$0.00")
    expect(credit_row.get_by_test_id("credit-refunded")).to_have_text(usd(credit_amount))
    expect(credit_row.get_by_role("link", name="Refund")).to_have_count(0)
    expect_figures(page, sold=TOTAL, credited=credit_amount, paid=TOTAL, open_=Decimal(0))
    shoot(page, "order-credit-refunded")
    page.goto(f"{live_server.url}{buyer.get_absolute_url()}")
    expect(page.get_by_test_id("buyer-credits")).to_have_count(0)

    # QuickBooks holds exactly what was asked: two payments on the first invoice, the bookkeeper's two on the
    # second, one credit memo and one refund receipt from Checking.
    first.refresh_from_db()
    second.refresh_from_db()
    payments = entities(emu, "Payment")
    on_first = [p for p in payments if p["Line"][0]["LinkedTxn"][0]["TxnId"] == first.qbo_doc_id]
    assert amounts(on_first) == [Decimal("100.00"), Decimal("372.00")]
    assert all("[kadouri-money:" in p.get("PrivateNote", "") for p in on_first)
    assert sorted(p.get("PaymentRefNum") for p in on_first) == ["CHK 1042", "CHK 1043"]
    assert len(payments) == 4
    (memo,) = entities(emu, "CreditMemo")
    assert Decimal(str(memo["TotalAmt"])) == credit_amount
    assert Decimal(str(memo["RemainingCredit"])) == 0
    (refund,) = entities(emu, "RefundReceipt")
    assert Decimal(str(refund["TotalAmt"])) == credit_amount
    checking = next(a["Id"] for a in entities(emu, "Account") if a["Name"] == "Checking")
    assert refund["DepositToAccountRef"]["value"] == checking
    assert (first.status, second.status) == (Order.Status.PAID, Order.Status.PAID)
    assert order_invariant_violations(first) == [] and order_invariant_violations(second) == []

    # An admin's pages: Delete payment (looked at, not used) and the company rule for payments above the balance.
    page.context.clear_cookies()
    log_in(page, live_server, "ada", "pw-ada-123")
    page.goto(first_url)
    page.get_by_test_id("payment-row").filter(has_text="CHK 1043").get_by_test_id("delete-payment").click()
    expect(page.get_by_test_id("payment-delete")).to_contain_text("$372.00")
    expect(page.get_by_label("Why is this payment deleted?")).to_be_visible()
    shoot(page, "payment-delete")
    page.goto(f"{live_server.url}/settings/quickbooks/")
    rule = page.locator("#company-rules").get_by_label("Allow payments above the open balance")
    expect(rule).not_to_be_checked()
    rule.check()
    page.locator("#company-rules").get_by_role("button", name="Save rules").click()
    expect(page.locator("#company-rules").get_by_label("Allow payments above the open balance")).to_be_checked()
    assert QboConnection.objects.get().allow_unapplied_credit is True
    page.locator("#company-rules").scroll_into_view_if_needed()
    shoot(page, "settings-quickbooks")
    assert csp_violations == []


def test_a_draft_recorded_as_a_cash_sale_is_paid_at_once(
    page, live_server, live_qbo, order_factory, csp_violations
):  # fmt: skip
    emu = live_qbo
    order = order_factory()
    order_url = f"{live_server.url}/orders/{order.pk}/"
    log_in(page, live_server)
    page.goto(order_url)

    page.locator("#qbo-panel").get_by_role("link", name="Record cash sale").click()
    form = page.get_by_test_id("cash-sale-form")
    form.get_by_label("Payment method").select_option(label="Cash")
    form.get_by_label("Reference").fill("SLIP 77")
    shoot(page, "cash-sale-form")
    form.get_by_role("button", name="Record cash sale in QB").click()

    expect(page).to_have_url(order_url)
    order.refresh_from_db()
    expect(page.get_by_test_id("status-badge")).to_have_text("Paid")
    expect(page.get_by_test_id("qbo-doc")).to_have_text(re.compile(rf"^Sales receipt #{re.escape(order.number)}$"))
    expect(page.get_by_test_id("qbo-cash-method")).to_have_text("Cash (ref SLIP 77)")
    expect_figures(page, sold=TOTAL, credited=Decimal(0), paid=TOTAL, open_=Decimal(0))
    shoot(page, "order-cash-sale")
    (receipt,) = entities(emu, "SalesReceipt")
    assert Decimal(str(receipt["TotalAmt"])) == TOTAL and receipt["PaymentRefNum"] == "SLIP 77"
    assert entities(emu, "Invoice") == [] and entities(emu, "Payment") == []
    assert order.status == Order.Status.PAID and order_invariant_violations(order) == []
    assert csp_violations == []


def _until(check, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "QuickBooks' webhook did not reach Kadouri"
        time.sleep(0.2)


def test_the_money_card_follows_a_refund_made_in_quickbooks_while_the_page_is_open(
    page, live_server, live_qbo, staff_user, order_factory, csp_violations
):
    emu = live_qbo
    order = order_factory()
    assert order_push_request(order=order, doc_type=Order.DocType.INVOICE, by=staff_user).state == "done"
    order.refresh_from_db()
    emu.record_payment(REALM_ID, order.qbo_doc_id)
    _until(lambda: Order.objects.get(pk=order.pk).status == Order.Status.PAID)
    job = credit_issue_request(order=order, reason="rejected", amount="50.00", by=staff_user, ip=None)
    assert job.state == "done", job.last_error
    log_in(page, live_server)
    page.goto(f"{live_server.url}/orders/{order.pk}/")
    credit_row = page.get_by_test_id("order-credits").get_by_test_id("credit-row")
    expect(credit_row.get_by_test_id("credit-remaining")).to_have_text("$50.00")
    page.evaluate("window.__notReloaded = true")

    # The bookkeeper pays back 30.00 of it in QuickBooks: only the Money card has news (the invoice stays paid).
    (memo,) = entities(emu, "CreditMemo")
    emu.refund_credit_memo(REALM_ID, memo["Id"], 30)

    expect(credit_row.get_by_test_id("credit-refunded")).to_have_text("$30.00", timeout=LIVE_TIMEOUT)
    expect(credit_row.get_by_test_id("credit-remaining")).to_have_text("$20.00")
    expect(page.get_by_test_id("status-badge")).to_have_text("Paid")
    assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"
    assert csp_violations == []
