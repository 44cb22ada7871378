"""A bookkeeper records a payment in QuickBooks (the emulator's own UI), the webhook reaches Kadouri, and the
order page turns paid; deleting that payment in QuickBooks makes the order unpaid again."""

import time

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from orders.models import Order
from qbo_integration.invariants import order_invariant_violations
from qbo_integration.outbound.requests import order_push_request
from qbo_integration.testing import REALM_ID, point_settings_at, store_connection
from tests.browser.helpers import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _order_page_until(page, url: str, status: str, timeout: float = 15.0) -> None:
    """The order page is server-rendered: reload until the webhook has done its work."""
    deadline = time.monotonic() + timeout
    while True:
        page.goto(url)
        if page.get_by_test_id("status-badge").inner_text().strip() == status or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    expect(page.get_by_test_id("status-badge")).to_have_text(status)


def test_a_payment_recorded_in_quickbooks_turns_the_order_paid_and_back(
    page, live_server, settings, qbo_emulator_server, staff_user, order_factory, csp_violations
):
    emu = qbo_emulator_server
    point_settings_at(emu, settings)
    store_connection(emu)
    emu.configure_webhooks(
        url=f"{live_server.url}/api/quickbooks/webhook",
        format="legacy",
        verifier_token=django_settings.QBO_WEBHOOK_VERIFIER_TOKEN,
        batch_window=0.2,
    )
    order = order_factory()
    job = order_push_request(order=order, doc_type=Order.DocType.INVOICE, by=staff_user)
    assert job.state == "done", job.last_error
    order.refresh_from_db()
    order_url = f"{live_server.url}/orders/{order.pk}/"

    log_in(page, live_server)
    page.goto(order_url)
    expect(page.get_by_test_id("status-badge")).to_have_text("Posted to QuickBooks")

    # The bookkeeper, in QuickBooks: record the full balance on the invoice.
    page.goto(f"{emu.base_url}/_emulator/company/{REALM_ID}/invoices")
    expect(page.locator(f"#invoice-{order.qbo_doc_id}")).to_contain_text("Open")
    page.click(f"#record-payment-{order.qbo_doc_id}")
    expect(page.locator(f"#invoice-{order.qbo_doc_id}")).to_contain_text("Paid")

    _order_page_until(page, order_url, "Paid")
    expect(page.get_by_test_id("status-badge")).to_have_text("Paid")
    expect(page.get_by_test_id("payment-badge")).to_have_count(0)  # "Paid" once, not twice
    expect(page.get_by_test_id("qbo-balance")).to_have_text("$0.00")
    page.goto(order_url + "?tab=activity")
    expect(page.get_by_test_id("activity-log")).to_contain_text(
        "Payment received in QuickBooks - Invoice marked as PAID"
    )

    # The bookkeeper deletes that payment in QuickBooks.
    (payment,) = emu.dump(REALM_ID)["entities"]["Payment"]
    page.goto(f"{emu.base_url}/_emulator/company/{REALM_ID}/payments")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f"#delete-payment-{payment['Id']}")
    expect(page.locator(f"#payment-{payment['Id']}")).to_have_count(0)

    _order_page_until(page, order_url, "Posted to QuickBooks")
    expect(page.get_by_test_id("payment-badge")).to_have_text("Unpaid")
    expect(page.get_by_test_id("qbo-balance")).to_have_text("$472.00")
    page.goto(order_url + "?tab=activity")
    expect(page.get_by_test_id("activity-log")).to_contain_text(
        f"Payment {payment['Id']} deleted in QuickBooks - invoice #{order.number} balance is $472.00 of $472.00; "
        "the order is unpaid again"
    )
    order.refresh_from_db()
    assert order_invariant_violations(order) == []
    assert csp_violations == []
