"""Stock on the pages and in the JSON API (docs/quickbooks/beyond.md#stock): the Settings card, the product form's
refusals, QuickBooks' quantity on hand on the product, order form and order pages, the warning when an order asks
for more than is on hand, and the order page following a quantity without a reload."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from conftest import make_order, make_product
from kadouri.display import when
from products.models import Product
from qbo_integration.models import QboConnection
from qbo_integration.testing import REALM_ID, connect_company

from .inbound_support import invoiced, webhooks  # noqa: F401  (fixture)
from .test_stock import SIMPLE_START, account_ids, choose_stock_accounts, stocked_product

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def demo_company(webhooks):  # noqa: F811
    connect_company(webhooks.emu, REALM_ID)
    return webhooks


def product_form(**changes) -> dict:
    return {"name": "Honeycrisp Apples", "unit": "case", "unit_price": "40.00", "active": "on"} | changes


def stock_form() -> dict:
    return {"tracks_inventory": "on", "starting_quantity": "120", "inventory_start_date": "2026-10-01"}


def selected(html: str, name: str) -> str:
    select = re.search(rf'<select name="{name}".*?</select>', html, re.S).group(0)
    return re.search(r'<option value="([^"]*)" selected>', select).group(1)


# --- Settings ---------------------------------------------------------------------------------------------------


def test_settings_says_why_a_simple_start_company_has_no_stock(admin_client, qbo):
    connect_company(qbo, SIMPLE_START)

    page = admin_client.get("/settings/quickbooks/").content.decode()

    card = page[page.index('id="stock-settings"') :]
    assert "Stock is not available." in card and "does not track quantity on hand" in card
    assert 'data-testid="stock-accounts-form"' not in page


def test_an_admin_chooses_the_stock_accounts_from_quickbooks_lists(admin_client, demo_company):
    ids = account_ids(demo_company.emu)
    page = admin_client.get("/settings/quickbooks/").content.decode()
    # Nothing chosen yet: the usual account of each kind is offered first
    assert selected(page, "asset") == ids["Inventory Asset"] and selected(page, "cogs") == ids["Cost of Goods Sold"]
    assert selected(page, "income") == ids["Sales of Product Income"]
    assert ">Checking<" not in page[page.index('id="stock-settings"') :]  # only the type each account needs

    answer = admin_client.post(
        "/settings/quickbooks/stock/",
        {"asset": ids["Inventory Asset"], "income": ids["Sales of Product Income"], "cogs": ids["Cost of Goods Sold"]},
    )

    assert answer.status_code == 302 and answer["Location"].endswith("#stock-settings")
    conn = QboConnection.objects.get(realm_id=REALM_ID)
    assert (conn.inventory_asset_account_id, conn.inventory_cogs_account_id) == (
        ids["Inventory Asset"],
        ids["Cost of Goods Sold"],
    )


def test_a_bad_choice_is_a_form_error_and_staff_cannot_choose(admin_client, staff_client, demo_company):
    ids = account_ids(demo_company.emu)
    bad = {"asset": ids["Checking"], "income": ids["Sales of Product Income"], "cogs": ""}

    answer = admin_client.post("/settings/quickbooks/stock/", bad)

    assert answer.status_code == 400
    text = answer.content.decode()
    assert "Select a valid choice" in text and "Choose the cost of goods sold account." in text
    staff = staff_client.post("/settings/quickbooks/stock/", {**bad, "asset": ids["Inventory Asset"]}, follow=True)
    assert "Only admins can choose the stock accounts." in staff.content.decode()
    assert QboConnection.objects.get(realm_id=REALM_ID).inventory_asset_account_id == ""
    assert "Only admins can choose the stock accounts." in staff_client.get("/settings/quickbooks/").content.decode()


# --- the product form -------------------------------------------------------------------------------------------


def test_the_product_form_refuses_stock_where_the_company_has_none(admin_client, qbo):
    connect_company(qbo, SIMPLE_START)

    answer = admin_client.post("/products/new/", product_form(**stock_form()))

    assert answer.status_code == 400
    assert "Stock cannot be tracked: This QuickBooks company does not track quantity on hand" in answer.content.decode()
    assert not Product.objects.exists()


def test_the_product_form_asks_for_the_accounts_then_the_starting_quantity(admin_client, demo_company):
    answer = admin_client.post("/products/new/", product_form(**stock_form()))
    assert answer.status_code == 400 and "Settings → QuickBooks → Stock" in answer.content.decode()

    choose_stock_accounts(demo_company.emu)
    answer = admin_client.post("/products/new/", product_form(tracks_inventory="on"))
    text = answer.content.decode()
    assert answer.status_code == 400 and "Enter the quantity on hand when tracking starts" in text
    assert "Enter the date of the starting quantity." in text

    answer = admin_client.post("/products/new/", product_form(**stock_form()))
    assert answer.status_code == 302
    product = Product.objects.get()
    assert (product.tracks_inventory, product.starting_quantity, product.inventory_start_date) == (
        True,
        Decimal("120.000"),
        date(2026, 10, 1),
    )


def test_a_service_item_cannot_become_an_inventory_item(admin_client, demo_company, staff_user):
    choose_stock_accounts(demo_company.emu)
    product = make_product("Honeycrisp Apples", "40.00")
    admin_client.post(f"/settings/quickbooks/sync/product/{product.pk}/")
    product.refresh_from_db()
    assert product.qbo_item_id

    answer = admin_client.post(f"/products/{product.pk}/edit/", product_form(**stock_form()))

    assert answer.status_code == 400
    assert "already in QuickBooks as a Service item" in answer.content.decode()
    assert "QuickBooks does not change an item&#x27;s type" in answer.content.decode()
    product.refresh_from_db()
    assert not product.tracks_inventory


def test_the_product_pages_show_quickbooks_quantity_with_its_time(admin_client, demo_company):
    choose_stock_accounts(demo_company.emu)
    admin_client.post("/products/new/", product_form(**stock_form()))
    product = Product.objects.get()

    admin_client.post(f"/settings/quickbooks/sync/product/{product.pk}/")

    product.refresh_from_db()
    page = admin_client.get(product.get_absolute_url()).content.decode()
    on_hand = re.search(r'data-testid="qty-on-hand">(.*?)</dd>', page, re.S).group(1)
    assert "<strong>120 case</strong>" in on_hand and "as of" in on_hand
    listing = admin_client.get("/products/").content.decode()
    assert re.search(r'data-testid="qty-on-hand">120 case<br><small class="muted">as of ', listing)
    edit = admin_client.get(f"/products/{product.pk}/edit/").content.decode()
    assert 'name="starting_quantity"' in edit and "disabled" in re.search(
        r'<input[^>]*name="starting_quantity"[^>]*>', edit
    ).group(0)


# --- orders -----------------------------------------------------------------------------------------------------


@pytest.fixture
def stock(demo_company):
    choose_stock_accounts(demo_company.emu)
    return demo_company


def read_quantity(product: Product, quantity: str) -> None:
    Product.objects.filter(pk=product.pk).update(qbo_qty_on_hand=Decimal(quantity), qbo_qty_read_at=timezone.now())


def test_the_order_form_shows_the_quantity_on_hand_by_each_line(staff_client, stock, seller, buyer, pears):
    product = stocked_product()
    read_quantity(product, "80")
    order = make_order(seller=seller, buyer=buyer, lines=[(product, "30"), (pears, "4")])

    page = staff_client.get(f"/orders/{order.pk}/edit/").content.decode()

    notes = re.findall(r'data-testid="line-stock"[^>]*>(.*?)</small>', page, re.S)
    assert notes[0].startswith("On hand in QuickBooks: 80 case (as of ") and notes[1] == ""
    info = json.loads(re.search(r'<script id="product-info" type="application/json">(.*?)</script>', page).group(1))
    assert info[str(product.pk)]["stock"] == "80" and "stock" not in info[str(pears.pk)]


def test_saving_an_order_that_asks_for_more_than_is_on_hand_warns_and_saves(staff_client, stock, seller, buyer):
    product = stocked_product()
    read_quantity(product, "50")
    order = make_order(seller=seller, buyer=buyer, lines=[(product, "30")])
    form = {
        "seller": seller.pk,
        "buyer": buyer.pk,
        "order_date": "2026-11-02",
        "terms": "net_30",
        "commission_rate": "5",
        "version": order.version,
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "1",
        "lines-0-product": product.pk,
        "lines-0-quantity": "30",
        "lines-1-product": product.pk,
        "lines-1-quantity": "25",  # with the other line: 55 of 50
    }

    answer = staff_client.post(f"/orders/{order.pk}/edit/", form, follow=True)

    page = answer.content.decode()
    assert answer.status_code == 200 and order.lines.count() == 2
    assert "Honeycrisp Apples: this order asks for 55 case, but QuickBooks has 50 on hand" in page
    assert "The order is saved; QuickBooks lets stock go below zero." in page
    assert page.count('data-testid="line-stock-warning"') == 2


def test_the_order_page_follows_a_quantity_changed_in_quickbooks_without_a_reload(
    staff_client, stock, seller, buyer, staff_user
):
    product = stocked_product()
    order = invoiced(make_order(seller=seller, buyer=buyer, lines=[(product, "30")]), by=staff_user)
    page = staff_client.get(order.get_absolute_url()).content.decode()
    assert "On hand in QuickBooks: 70 case" in page
    stamp = re.search(r'"since": "([0-9a-f]+)"', page).group(1)
    assert staff_client.get(f"/settings/quickbooks/orders/{order.pk}/live/", {"since": stamp}).status_code == 204

    product.refresh_from_db()
    stock.emu.adjust_quantity(REALM_ID, product.qbo_item_id, 12)  # the bookkeeper counts the stock
    stock.flush()

    poll = staff_client.get(f"/settings/quickbooks/orders/{order.pk}/live/", {"since": stamp, "tab": "lines"}, **HTMX)
    assert poll.status_code == 200
    lines = re.search(
        r'<template>\s*(<tbody id="order-lines" hx-swap-oob="true">.*?</tbody>)', poll.content.decode(), re.S
    )
    assert lines and "On hand in QuickBooks: 12 case" in lines.group(1)


def test_a_posted_order_warns_only_below_zero(staff_client, stock, seller, buyer, staff_user):
    product = stocked_product(quantity="40")
    order = invoiced(make_order(seller=seller, buyer=buyer, lines=[(product, "30")]), by=staff_user)
    assert 'data-testid="line-stock-warning"' not in staff_client.get(order.get_absolute_url()).content.decode()

    other = invoiced(make_order(seller=seller, buyer=buyer, lines=[(product, "25")]), by=staff_user)

    page = staff_client.get(other.get_absolute_url()).content.decode()
    assert "On hand in QuickBooks: -15 case" in page and "Below zero: more was sold than QuickBooks had." in page


# --- JSON -------------------------------------------------------------------------------------------------------


def test_the_order_api_gives_each_line_its_stock_and_the_warnings(staff_client, stock, seller, buyer, pears):
    product = stocked_product()
    read_quantity(product, "10")
    order = make_order(seller=seller, buyer=buyer, lines=[(product, "12"), (pears, "1")])

    body = staff_client.get(f"/api/orders/{order.pk}").json()

    first, second = body["lines"]
    assert (first["stock"]["qtyOnHand"], first["stock"]["orderAsks"], first["stock"]["short"]) == (
        "10.000",
        "12.000",
        True,
    )
    assert second["stock"] is None
    assert body["stockWarnings"] == [
        f"Honeycrisp Apples: this order asks for 12 case, but QuickBooks has 10 on hand (as of {_when(product)})."
    ]


def _when(product: Product) -> str:
    return when(Product.objects.get(pk=product.pk).qbo_qty_read_at)


def test_the_product_sync_api_answers_with_the_quantity_on_hand(staff_client, stock):
    product = stocked_product()

    answer = staff_client.post(f"/api/quickbooks/sync/product/{product.pk}")

    assert answer.status_code == 200, answer.content
    synced = answer.json()["product"]
    assert (synced["tracksInventory"], synced["qtyOnHand"]) == (True, "100.000") and synced["qtyReadAt"]


def test_the_product_sync_api_refuses_where_stock_is_unavailable(staff_client, qbo):
    connect_company(qbo, SIMPLE_START)
    product = stocked_product()

    answer = staff_client.post(f"/api/quickbooks/sync/product/{product.pk}")

    assert answer.status_code == 422 and "does not track quantity on hand" in answer.json()["error"]


def test_settings_still_shows_when_quickbooks_cannot_list_the_accounts(admin_client, demo_company):
    demo_company.emu.add_fault("503", method="POST", path="/query$", count=5)

    answer = admin_client.get("/settings/quickbooks/")

    card = answer.content.decode()[answer.content.decode().index('id="stock-settings"') :]
    assert answer.status_code == 200 and "QuickBooks&#x27; accounts cannot be listed right now" in card
    assert card.count("cannot be listed right now") == 1
