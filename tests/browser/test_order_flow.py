"""The order flow in a real browser: log in, create, check money, edit, activity, refused delete."""

import re

import pytest
from playwright.sync_api import expect

from conftest import make_order
from orders.models import Order
from tests.browser.helpers import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_creates_edits_and_refuses_to_delete_a_paid_order(
    page, live_server, staff_user, seller, buyer, apples, pears, csp_violations
):
    paid = make_order(seller=seller, buyer=buyer, lines=[(apples, "1")], number="PAID-1", status=Order.Status.PAID)
    log_in(page, live_server)

    # Create an order with two lines; the second row is added in place.
    page.get_by_role("link", name="New order").click()
    page.select_option("#id_seller", label="Green Valley Farms (GVF)")
    page.select_option("#id_buyer", label="Harbor Fresh Market (HFM)")
    page.fill("#id_order_date", "2026-11-02")
    page.select_option("#id_terms", "net_30")
    page.fill("#id_commission_rate", "5")
    page.fill("#id_notes", "Browser order")
    page.select_option("#id_lines-0-product", label="Gala Apples")
    page.fill("#id_lines-0-quantity", "10")
    expect(page.locator("#line-rows tr")).to_have_count(1)
    page.get_by_role("button", name="+ Add line").click()
    expect(page.locator("#line-rows tr")).to_have_count(2)
    expect(page.locator("#id_lines-TOTAL_FORMS")).to_have_value("2")
    page.select_option("#id_lines-1-product", label="Bartlett Pears")
    page.fill("#id_lines-1-quantity", "4")
    # The list price shows as the unit price's placeholder, and the running total follows what is typed.
    expect(page.locator("#id_lines-1-unit_price")).to_have_attribute("placeholder", "36.75")
    expect(page.get_by_test_id("running-total")).to_have_text("$472.00")
    page.get_by_role("button", name="Save order").click()

    order = Order.objects.exclude(pk=paid.pk).get()
    expect(page).to_have_url(f"{live_server.url}/orders/{order.pk}/")
    expect(page.get_by_role("status")).to_contain_text(f"Order {order.number} created.")
    expect(page.get_by_test_id("subtotal")).to_have_text("$472.00")
    expect(page.get_by_test_id("total")).to_have_text("$472.00")
    expect(page.get_by_test_id("commission")).to_have_text("$23.60")
    expect(page.get_by_test_id("lines").locator("tbody tr")).to_have_count(2)

    # Edit a quantity: 12 × 32.50 + 4 × 36.75 = 537.00, commission 26.85.
    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page.locator("#id_lines-0-quantity")).to_have_value("10")  # as typed, not "10.000"
    page.fill("#id_lines-0-quantity", "12")
    page.get_by_role("button", name="Save order").click()
    expect(page).to_have_url(f"{live_server.url}/orders/{order.pk}/")
    expect(page.get_by_test_id("total")).to_have_text("$537.00")
    expect(page.get_by_test_id("commission")).to_have_text("$26.85")

    # The Activity Log tab shows the edit, newest first.
    page.get_by_role("link", name="Activity Log").click()
    entries = page.get_by_test_id("activity-log").locator("li")
    expect(entries).to_have_count(2)
    expect(entries.first).to_contain_text("Order edited")
    expect(entries.first).to_contain_text("Sam Staff")
    expect(entries.first).to_contain_text("total now $537.00")
    expect(entries.nth(1)).to_contain_text("Order created")

    # A paid order cannot be deleted, even from its delete URL: the page says so and offers no Delete button
    # (a forged POST is refused too: orders/tests/test_views.py).
    page.goto(f"{live_server.url}/orders/{paid.pk}/delete/")
    expect(page.get_by_text("it cannot be deleted")).to_be_visible()
    expect(page.get_by_role("button", name="Delete order")).to_have_count(0)
    page.get_by_role("link", name="Back to order PAID-1").click()
    expect(page).to_have_url(f"{live_server.url}/orders/{paid.pk}/")
    expect(page.get_by_test_id("status-badge")).to_have_text("Paid")
    assert Order.objects.filter(pk=paid.pk).exists()
    expect(page.get_by_role("link", name=re.compile("^(Edit|Delete)$"))).to_have_count(0)

    assert csp_violations == []


def test_it_shows_form_errors_in_the_browser(page, live_server, staff_user, seller, buyer, apples, csp_violations):
    log_in(page, live_server)
    page.goto(f"{live_server.url}/orders/new/")
    page.select_option("#id_seller", label="Green Valley Farms (GVF)")
    page.select_option("#id_buyer", label="Green Valley Farms (GVF)")
    page.select_option("#id_lines-0-product", label="Gala Apples")
    page.fill("#id_lines-0-quantity", "0")
    page.fill("#id_notes", "keep this")
    page.get_by_role("button", name="Save order").click()
    expect(page.locator(".field.has-error")).to_contain_text("The buyer must be a different account from the seller.")
    expect(page.locator("td.has-error")).to_contain_text("The quantity must be greater than zero.")
    expect(page.locator("#id_notes")).to_have_value("keep this")
    assert not Order.objects.exists()
    assert csp_violations == []
