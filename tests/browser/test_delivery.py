"""Issue 13's delivery in Chromium (docs/quickbooks/beyond.md#invoices-that-reach-the-buyer): a staff user emails an
invoice from its order page (the page then says "Emailed to … on …"), downloads QuickBooks' PDF of it (one page,
bytes starting %PDF-), allows card payment and gets QuickBooks' payment link with its copy button; a send made in
QuickBooks while the page is open shows without a reload. On a Simple Start company the page says why online
payment is unavailable. Screenshots at desktop and phone width go to test-artifacts/delivery/."""

import os
import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from orders.models import Order
from qbo_integration.outbound.requests import order_push_request
from qbo_integration.testing import REALM_ID, connect_company, point_settings_at
from tests.browser.conftest import ARTIFACTS
from tests.browser.helpers import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
SHOTS = Path(os.environ.get("DELIVERY_SHOTS_DIR", ARTIFACTS / "delivery"))
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


def live_emulator(emu, live_server, settings, realm: str, user):
    point_settings_at(emu, settings)
    connect_company(emu, realm, user=user)
    emu.configure_webhooks(
        url=f"{live_server.url}/api/quickbooks/webhook",
        format="legacy",
        verifier_token=django_settings.QBO_WEBHOOK_VERIFIER_TOKEN,
        batch_window=0.2,
    )
    return emu


def invoiced(order: Order, user) -> Order:
    job = order_push_request(order=order, doc_type=Order.DocType.INVOICE, by=user)
    assert job.state == "done", job.last_error
    order.refresh_from_db()
    return order


def pdf_page_count(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?!s)", data))


def test_email_an_invoice_download_its_pdf_and_share_its_payment_link(
    page, live_server, qbo_emulator_server, settings, admin_user, staff_user, order_factory, csp_violations
):
    emu = live_emulator(qbo_emulator_server, live_server, settings, REALM_ID, admin_user)
    order = invoiced(order_factory(), staff_user)
    log_in(page, live_server)
    page.goto(f"{live_server.url}/orders/{order.pk}/")
    card = page.get_by_test_id("order-delivery")
    expect(card.get_by_test_id("not-emailed")).to_have_text("Not emailed yet.")
    shoot(page, "order-not-emailed")

    # Email invoice: the form offers the buyer's email; a bad address is refused and what was typed stays.
    card.get_by_role("link", name="Email invoice").click()
    form = page.get_by_test_id("email-form")
    expect(form.get_by_label("Send to")).to_have_value("hfm@example.com")
    form.get_by_label("Send to").fill("accounts payable")
    form.get_by_role("button", name="Email invoice").click()
    expect(page.locator(".has-error")).to_contain_text("is not an email address")
    expect(form.get_by_label("Send to")).to_have_value("accounts payable")
    shoot(page, "email-form-error")
    assert emu.sent_mail(REALM_ID) == []
    form.get_by_label("Send to").fill("ap@harbor.example")
    form.get_by_role("button", name="Email invoice").click()

    expect(page).to_have_url(f"{live_server.url}/orders/{order.pk}/")
    expect(page.locator(".messages")).to_contain_text(f"Invoice #{order.qbo_doc_number} emailed to ap@harbor.example")
    expect(card.get_by_test_id("emailed")).to_have_text(
        re.compile(r"^Emailed to ap@harbor\.example on \w{3} \d+, \d{4}")
    )
    assert [m["to"] for m in emu.sent_mail(REALM_ID)] == ["ap@harbor.example"]

    # The PDF: QuickBooks' own, one page.
    with page.expect_download() as download_info:
        card.get_by_role("link", name="Download PDF").click()
    download = download_info.value
    assert download.suggested_filename == f"Invoice-{order.qbo_doc_number}.pdf"
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"%PDF-") and pdf_page_count(data) == 1
    page.reload()
    expect(card.get_by_test_id("download-pdf")).to_have_text(f"Download Invoice-{order.qbo_doc_number}.pdf")

    # Online payment by card: QuickBooks' link, with a copy button.
    card.get_by_role("button", name="Allow card").click()
    expect(page.locator(".messages")).to_contain_text("the buyer may pay by card")
    expect(card.get_by_test_id("online-card")).to_contain_text("Allowed")
    link = card.get_by_test_id("invoice-link")
    expect(link).to_have_value(f"{emu.base_url}/_emulator/pay/{REALM_ID}/{order.qbo_doc_id}")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    card.get_by_role("button", name="Copy link").click()
    expect(card.get_by_test_id("copy-link")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == link.input_value()
    shoot(page, "order-emailed-with-link")

    # The bookkeeper emails it again from QuickBooks while the page is open: the card follows without a reload.
    page.evaluate("window.__notReloaded = true")
    qb_token = emu.issue_tokens(REALM_ID)["access_token"]
    emu.handle(
        "POST",
        f"/v3/company/{REALM_ID}/invoice/{order.qbo_doc_id}/send?sendTo=books%40harbor.example",
        {"Authorization": f"Bearer {qb_token}", "Content-Type": "application/octet-stream"},
        b"",
    )
    expect(card.get_by_test_id("emailed")).to_contain_text("books@harbor.example", timeout=LIVE_TIMEOUT)
    assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"
    assert csp_violations == []


def test_a_company_without_online_payments_says_why(
    page, live_server, qbo_emulator_server, settings, admin_user, staff_user, order_factory, csp_violations
):
    live_emulator(qbo_emulator_server, live_server, settings, SIMPLE_START, admin_user)
    order = invoiced(order_factory(), staff_user)
    log_in(page, live_server)
    page.goto(f"{live_server.url}/orders/{order.pk}/")

    unavailable = page.get_by_test_id("online-unavailable")
    expect(unavailable).to_contain_text("Simple Start Produce LLC does not accept online payments")
    expect(page.get_by_role("button", name="Allow card")).to_have_count(0)
    shoot(page, "order-simple-start")
    assert csp_violations == []
