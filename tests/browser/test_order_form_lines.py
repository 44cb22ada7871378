"""The order form's lines in a real browser, at phone and desktop width: every input has an accessible name
that says which line it belongs to ("Line 2 product"), and picking a product shows the unit it is sold by and
its list price beside the line; the running total is worded for people."""

import pytest
from playwright.sync_api import expect

from conftest import make_account, make_product
from tests.browser.helpers import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture
def products(db):
    make_product("Gala Apples", "32.50")
    make_product("Bartlett Pears", "36.75", unit="box")
    make_product("Honeycrisp Apples", "1450.00", unit="pallet")
    make_account("Green Valley Farms", "GVF")
    make_account("Harbor Fresh Market", "HFM")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_order_lines_have_labels_and_show_the_picked_products_unit_and_price(
    chromium, live_server, staff_user, products, viewport
):
    context = chromium.new_context(viewport=viewport)
    page = context.new_page()
    try:
        log_in(page, live_server)
        page.goto(f"{live_server.url}/orders/new/")

        # Each input of a line is named with its line number, for screen readers and for get_by_label.
        expect(page.get_by_role("combobox", name="Line 1 product")).to_be_visible()
        for label in ("Line 1 quantity", "Line 1 unit price", "Line 1 size", "Line 1 grade", "Remove line 1"):
            expect(page.get_by_label(label, exact=True)).to_have_count(1)
        page.get_by_role("button", name="+ Add line").click()
        second = page.get_by_role("combobox", name="Line 2 product")
        expect(second).to_be_visible()
        expect(page.get_by_label("Line 2 quantity", exact=True)).to_have_attribute("name", "lines-1-quantity")

        # Picking a product shows its unit beside the quantity and its list price (and the price placeholder).
        second.select_option(label="Bartlett Pears")
        row = page.locator(".line-row").nth(1)
        expect(row.get_by_test_id("line-unit")).to_have_text("box")
        expect(row.get_by_test_id("line-list-price")).to_have_text("List price $36.75 per box")
        expect(page.get_by_label("Line 2 unit price", exact=True)).to_have_attribute("placeholder", "36.75")
        page.get_by_role("combobox", name="Line 1 product").select_option(label="Honeycrisp Apples")
        first = page.locator(".line-row").first
        expect(first.get_by_test_id("line-unit")).to_have_text("pallet")
        expect(first.get_by_test_id("line-list-price")).to_have_text("List price $1,450.00 per pallet")
        page.get_by_label("Line 1 quantity", exact=True).fill("2")
        page.get_by_label("Line 2 quantity", exact=True).fill("4")
        expect(page.get_by_test_id("running-total")).to_have_text("$3,047.00")
        expect(page.locator("form.order-form")).not_to_contain_text("computed by the server")
        assert second.bounding_box()["width"] > 120
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    finally:
        context.close()


def test_add_line_stops_at_the_promised_200_lines_and_says_so(chromium, live_server, staff_user, products):
    """The server takes 200 lines; the button never lets anyone type a 201st that a save would refuse."""
    context = chromium.new_context(viewport=DESKTOP)
    page = context.new_page()
    try:
        log_in(page, live_server)
        page.goto(f"{live_server.url}/orders/new/")
        expect(page.get_by_test_id("line-limit")).to_have_text("")

        page.evaluate("() => { for (let i = 0; i < 210; i++) document.getElementById('add-line').click(); }")

        expect(page.locator("#line-rows .line-row")).to_have_count(200)
        expect(page.get_by_role("button", name="+ Add line")).to_be_disabled()
        expect(page.get_by_test_id("line-limit")).to_have_text("An order can have at most 200 lines.")
        assert page.input_value("#id_lines-TOTAL_FORMS") == "200"
    finally:
        context.close()
