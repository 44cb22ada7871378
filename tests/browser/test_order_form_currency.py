"""The order form's running total is written in the buyer's currency (kadouri/display.py's style): a buyer who pays
in CAD sees "CAD …" as soon as they are picked; list prices stay in the home currency, so a CAD order counts only
the unit prices typed for it (the server refuses a CAD line without one)."""

import pytest
from playwright.sync_api import expect

from conftest import make_account, make_product
from tests.browser.helpers import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def accounts(db):
    make_product("Bartlett Pears", "36.75", unit="box")
    make_product("Honeycrisp Apples", "1450.00", unit="pallet")
    make_account("Green Valley Farms", "GVF")
    make_account("Harbor Fresh Market", "HFM")
    make_account("Maple Leaf Foods", "MLF", currency="CAD")


def test_the_running_total_follows_the_buyers_currency(chromium, live_server, staff_user, accounts):
    page = chromium.new_page()
    try:
        log_in(page, live_server)
        page.goto(f"{live_server.url}/orders/new/")
        page.get_by_role("combobox", name="Line 1 product").select_option(label="Honeycrisp Apples")
        page.get_by_label("Line 1 quantity", exact=True).fill("2")
        page.get_by_role("button", name="+ Add line").click()
        page.get_by_role("combobox", name="Line 2 product").select_option(label="Bartlett Pears")
        page.get_by_label("Line 2 quantity", exact=True).fill("4")
        expect(page.get_by_test_id("running-total")).to_have_text("$3,047.00")

        # List prices are in US dollars: a CAD order counts only the prices typed in CAD, and offers no list price
        page.get_by_label("Buyer").select_option(label="Maple Leaf Foods (MLF)")
        expect(page.get_by_test_id("running-total")).to_have_text("CAD 0.00")
        expect(page.get_by_label("Line 2 unit price", exact=True)).to_have_attribute("placeholder", "")
        expect(page.locator(".line-row").nth(1).get_by_test_id("line-list-price")).to_have_text(
            "List price $36.75 per box"
        )
        page.get_by_label("Line 1 unit price", exact=True).fill("1900")
        expect(page.get_by_test_id("running-total")).to_have_text("CAD 3,800.00")
        page.get_by_label("Buyer").select_option(label="Harbor Fresh Market (HFM)")
        expect(page.get_by_test_id("running-total")).to_have_text("$3,947.00")
        expect(page.get_by_label("Line 2 unit price", exact=True)).to_have_attribute("placeholder", "36.75")
    finally:
        page.close()
