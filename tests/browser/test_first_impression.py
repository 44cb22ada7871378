"""What a new user met first (issue 16), in Chromium at desktop and phone width: demo orders that contradict
nothing, an edit below what was already paid refused with the amount and nothing typed lost, a paid order's
delete page without a Delete button, and an empty filter result that offers to clear the filters."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from orders.models import Order
from qbo_integration.outbound.requests import order_push_request
from qbo_integration.testing import REALM_ID, point_settings_at, store_connection
from tests.browser.helpers import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(params=list(VIEWPORTS))
def screen(chromium, request):
    context = chromium.new_context(viewport=VIEWPORTS[request.param])
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def emulator(qbo_emulator_server, settings):
    point_settings_at(qbo_emulator_server, settings)
    store_connection(qbo_emulator_server)
    return qbo_emulator_server


def test_demo_orders_contradict_nothing(screen, live_server, staff_user):
    call_command("seed_demo", verbosity=0)
    log_in(screen, live_server)

    for order in Order.objects.all():
        screen.goto(f"{live_server.url}{order.get_absolute_url()}")
        panel = screen.locator("#qbo-panel")
        expect(panel).to_contain_text("Not in QuickBooks yet.")
        expect(panel).not_to_contain_text("Paid in QuickBooks")
        expect(screen.get_by_test_id("qbo-create-invoice")).to_be_visible()  # never a dead end


def test_an_edit_below_what_was_paid_is_refused_with_the_amount_and_keeps_what_was_typed(
    screen, live_server, emulator, order_factory, staff_user
):
    order = order_factory()
    assert order_push_request(order=order, doc_type="invoice", by=staff_user).state == "done"
    order.refresh_from_db()
    emulator.record_payment(REALM_ID, order.qbo_doc_id, 300)
    Order.objects.filter(pk=order.pk).update(qbo_balance=Decimal("172.00"), payment_status="partial")
    log_in(screen, live_server)

    screen.goto(f"{live_server.url}/orders/{order.pk}/edit/")
    screen.get_by_label("Line 1 quantity", exact=True).fill("1")
    screen.get_by_label("Remove line 2").check()
    screen.get_by_role("button", name="Save order").click()

    expect(screen.locator("body")).to_contain_text("$300.00 has already been paid")
    expect(screen.get_by_label("Line 1 quantity", exact=True)).to_have_value("1")
    order.refresh_from_db()
    assert order.total == Decimal("472.00")


def test_a_paid_orders_delete_page_offers_no_delete_button(screen, live_server, order_factory):
    order = order_factory(status=Order.Status.PAID)
    log_in(screen, live_server)

    screen.goto(f"{live_server.url}/orders/{order.pk}/delete/")

    expect(screen.locator("body")).to_contain_text("cannot be deleted")
    expect(screen.get_by_role("button", name="Delete")).to_have_count(0)


def test_an_empty_filter_result_offers_to_clear_the_filters(screen, live_server, order_factory):
    order_factory()
    log_in(screen, live_server)

    screen.goto(f"{live_server.url}/?q=no-such-order-anywhere")

    expect(screen.get_by_role("link", name="Clear filters")).to_be_visible()
    expect(screen.get_by_role("link", name="Create one")).to_have_count(0)
