"""Pages that update by themselves (issue 16, item 4), in Chromium at desktop and phone width: an open order
page turns Paid when the bookkeeper pays in QuickBooks; the reconciliation report and the catch-up card show a
run's results when the worker finishes it. Never by a reload: a marker set in the page must survive."""

import os
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from playwright.sync_api import expect

from orders.models import Order
from qbo_integration import reconcile
from qbo_integration.inbound import catchup
from qbo_integration.invariants import order_invariant_violations
from qbo_integration.outbound.requests import order_push_request
from qbo_integration.testing import REALM_ID, point_settings_at, store_connection
from tests.browser.helpers import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
LIVE_TIMEOUT = 10_000  # ms: the parts poll every 2 s
SHOTS = Path(os.environ.get("LIVE_SHOTS_DIR", Path(__file__).resolve().parents[2] / "test-artifacts"))


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request):
    return request.param


@pytest.fixture
def live_page(chromium, viewport, csp_violations):
    context = chromium.new_context(viewport=VIEWPORTS[viewport])
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("console", lambda msg: "Content Security Policy" in msg.text and csp_violations.append(msg.text))
    page.on("pageerror", lambda error: csp_violations.append(f"page error: {error}"))
    yield page
    context.close()


@pytest.fixture
def live_qbo(qbo_emulator_server, live_server, settings):
    emu = qbo_emulator_server
    point_settings_at(emu, settings)
    store_connection(emu)
    emu.configure_webhooks(
        url=f"{live_server.url}/api/quickbooks/webhook",
        format="legacy",
        verifier_token=django_settings.QBO_WEBHOOK_VERIFIER_TOKEN,
        batch_window=0.2,
    )
    return emu


def _mark_loaded(page) -> None:
    page.evaluate("window.__notReloaded = true")


def _assert_not_reloaded(page) -> None:
    assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"live-{name}.png"), full_page=True)


def test_an_open_order_page_turns_paid_when_quickbooks_records_the_payment(
    live_page, viewport, live_server, live_qbo, staff_user, order_factory, csp_violations
):
    order = order_factory()
    job = order_push_request(order=order, doc_type=Order.DocType.INVOICE, by=staff_user)
    assert job.state == "done", job.last_error
    order.refresh_from_db()
    page = live_page
    log_in(page, live_server)
    page.goto(f"{live_server.url}/orders/{order.pk}/")
    expect(page.get_by_test_id("status-badge")).to_have_text("Posted to QuickBooks")
    expect(page.get_by_test_id("payment-badge")).to_have_text("Unpaid")
    expect(page.locator("#order-actions").get_by_role("link", name="Edit")).to_have_count(1)
    _mark_loaded(page)

    # The bookkeeper, in QuickBooks (the emulator's UI, another tab): record the full balance.
    bookkeeper = page.context.new_page()
    bookkeeper.goto(f"{live_qbo.base_url}/_emulator/company/{REALM_ID}/invoices")
    bookkeeper.click(f"#record-payment-{order.qbo_doc_id}")
    expect(bookkeeper.locator(f"#invoice-{order.qbo_doc_id}")).to_contain_text("Paid")
    bookkeeper.close()

    expect(page.get_by_test_id("status-badge")).to_have_text("Paid", timeout=LIVE_TIMEOUT)
    expect(page.get_by_test_id("qbo-balance")).to_have_text("$0.00", timeout=LIVE_TIMEOUT)
    expect(page.get_by_test_id("payment-badge")).to_have_count(0)
    expect(page.locator("#order-actions").get_by_role("link", name="Edit")).to_have_count(0)  # paid: read-only
    _assert_not_reloaded(page)
    _shot(page, f"order-paid-{viewport}")
    order.refresh_from_db()
    assert order_invariant_violations(order) == []
    assert csp_violations == []


def test_the_reconciliation_report_appears_when_the_run_finishes(
    live_page, viewport, live_server, live_qbo, admin_user, order_factory, csp_violations
):
    order = order_factory()
    assert order_push_request(order=order, doc_type=Order.DocType.INVOICE, by=admin_user).state == "done"
    page = live_page
    log_in(page, live_server, "ada", "pw-ada-123")
    page.goto(f"{live_server.url}/settings/quickbooks/reconcile/")
    expect(page.get_by_test_id("reconcile-summary")).to_have_text("No report yet.")
    _mark_loaded(page)

    reconcile.reconcile_run()  # the worker's part of "Run report now"

    expect(page.get_by_test_id("reconcile-summary")).to_contain_text(
        "1 linked order checked, 0 with drift.", timeout=LIVE_TIMEOUT
    )
    _assert_not_reloaded(page)
    _shot(page, f"reconcile-{viewport}")
    assert csp_violations == []


def test_the_catch_up_card_shows_what_the_catch_up_found(
    live_page, viewport, live_server, live_qbo, admin_user, order_factory, csp_violations
):
    order = order_factory()
    assert order_push_request(order=order, doc_type=Order.DocType.INVOICE, by=admin_user).state == "done"
    page = live_page
    log_in(page, live_server, "ada", "pw-ada-123")
    page.goto(f"{live_server.url}/settings/quickbooks/")
    expect(page.get_by_test_id("last-catchup")).to_have_text("never")
    _mark_loaded(page)

    catchup.catchup_run(realm_id=REALM_ID)  # the worker's part of "Catch up now"

    expect(page.get_by_test_id("last-catchup")).to_contain_text("found", timeout=LIVE_TIMEOUT)
    _assert_not_reloaded(page)
    _shot(page, f"catchup-{viewport}")
    assert csp_violations == []


def test_the_outcome_of_a_button_stays_through_the_polls(
    live_page, viewport, live_server, live_qbo, staff_user, order_factory, csp_violations
):
    order = order_factory()
    page = live_page
    log_in(page, live_server)
    page.goto(f"{live_server.url}/orders/{order.pk}/")
    _mark_loaded(page)
    page.wait_for_timeout(1_500)  # the click lands near the page's first poll
    page.locator("#qbo-panel").get_by_role("button", name="Create Invoice in QB").click()
    expect(page.get_by_test_id("qbo-outcome")).to_contain_text(f"Invoice #{order.number} created in QuickBooks.")
    expect(page.get_by_test_id("status-badge")).to_have_text("Posted to QuickBooks")
    page.wait_for_timeout(4_500)  # two more polls, and the creation's own webhooks
    expect(page.get_by_test_id("qbo-outcome")).to_contain_text(f"Invoice #{order.number} created in QuickBooks.")
    _assert_not_reloaded(page)
    assert csp_violations == []
