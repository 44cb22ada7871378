"""The currency rules of an order and its buyer (qbo_integration/adapt/currency.py): product prices are in the home
currency, so a foreign-currency line has its own price; an account keeps its currency once it has orders; one rule
for an order's own exchange rate in the form, the JSON API and the services; home amounts after a disconnect;
QuickBooks' own pair of totals on the order page; the tax-code list kept across catch-ups."""

from __future__ import annotations

import html
import json
from datetime import date
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError

from accounts.models import Account
from conftest import make_account, make_order
from orders.models import Order
from orders.services import LineInput, OrderError, order_create
from qbo_integration.connection.connect import disconnect
from qbo_integration.connection.profile import refresh_profile
from qbo_integration.testing import COMPANIES, connect_company

pytestmark = pytest.mark.django_db

MULTI, CANADA = COMPANIES["multi_currency"], COMPANIES["canada"]
ORDER_DATE = date(2026, 11, 2)
NEEDS_PRICE = "Enter the unit price in MXN: product prices are in USD."


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def mxn_buyer(db):
    return make_account("Mercado Central", "MXC", currency="MXN")


def order_form(seller, buyer, lines: list[dict], **extra) -> dict:
    data = {
        "number": "",
        "seller": seller.pk,
        "buyer": buyer.pk,
        "order_date": "2026-11-02",
        "terms": "net_30",
        "commission_rate": "0",
        "exchange_rate": "",
        "notes": "",
        "version": "",
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
    }
    for index, line in enumerate(lines):
        data |= {f"lines-{index}-{key}": value for key, value in line.items()}
    return data | extra


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def account_form(account: Account, **changes) -> dict:
    fields = {"name": account.name, "code": account.code, "email": account.email, "country": "USA", "active": "on"}
    return fields | {"currency": account.currency} | changes


# --- 1. a foreign-currency line has its own unit price --------------------------------------------------------


def test_a_foreign_currency_line_without_a_price_is_refused_by_the_services(seller, mxn_buyer, apples, staff_user):
    fields = {"seller": seller, "buyer": mxn_buyer, "order_date": ORDER_DATE, "terms": "net_30"}

    with pytest.raises(OrderError, match=f"Line 1 \\(Gala Apples\\) has no unit price. {NEEDS_PRICE}"):
        order_create(fields=fields, lines=[LineInput(product=apples, quantity=Decimal("2"))], by=staff_user)
    assert not Order.objects.exists()

    priced = LineInput(product=apples, quantity=Decimal("2"), unit_price=Decimal("550.00"))
    order = order_create(fields=fields, lines=[priced], by=staff_user)
    assert order.lines.get().unit_price == Decimal("550.00") and order.total == Decimal("1100.00")


def test_the_order_form_asks_a_foreign_currency_line_for_its_price(staff_client, seller, buyer, mxn_buyer, apples):
    line = {"product": apples.pk, "quantity": "2", "unit_price": ""}

    refused = staff_client.post("/orders/new/", order_form(seller, mxn_buyer, [line]))

    assert refused.status_code == 400 and NEEDS_PRICE in page_text(refused)
    assert not Order.objects.exists()
    home = staff_client.post("/orders/new/", order_form(seller, buyer, [line]))  # a USD buyer: the list price
    assert home.status_code == 302 and Order.objects.get().lines.get().unit_price == Decimal("32.50")
    priced = staff_client.post("/orders/new/", order_form(seller, mxn_buyer, [line | {"unit_price": "550"}]))
    assert priced.status_code == 302
    assert Order.objects.get(buyer=mxn_buyer).total == Decimal("1100.00")


# --- 2. an account with orders keeps its currency ---------------------------------------------------------------


def test_an_account_with_orders_keeps_its_currency(staff_client, seller, buyer, apples, staff_user):
    make_order(seller=seller, buyer=buyer, lines=[(apples, "2")], by=staff_user)

    refused = staff_client.post(f"/accounts/{buyer.pk}/edit/", account_form(buyer, currency="CAD"))

    assert refused.status_code == 400
    assert (
        "Harbor Fresh Market has orders in USD: its currency can't change. Create a new account for buying in CAD."
    ) in page_text(refused)
    buyer.refresh_from_db()
    assert buyer.currency == ""
    # Blank and the home currency's code are the same currency; an account that only sells may change
    assert staff_client.post(f"/accounts/{buyer.pk}/edit/", account_form(buyer, currency="USD")).status_code == 302
    assert staff_client.post(f"/accounts/{seller.pk}/edit/", account_form(seller, currency="CAD")).status_code == 302
    seller.refresh_from_db()
    assert seller.currency == "CAD"


def test_every_other_path_is_refused_too(admin_client, seller, buyer, apples, staff_user):
    make_order(seller=seller, buyer=buyer, lines=[(apples, "2")], by=staff_user)
    admin_form = account_form(buyer, currency="EUR") | {"qbo_customer_id": "", "notes": ""}

    page = admin_client.post(f"/admin/accounts/account/{buyer.pk}/change/", admin_form)

    assert page.status_code == 200 and "has orders in USD: its currency can't change" in page_text(page)
    buyer.currency = "EUR"
    with pytest.raises(ValidationError, match="Create a new account for buying in EUR"):
        buyer.save()
    assert Account.objects.get(pk=buyer.pk).currency == ""


# --- 3. and 4. one rule for the exchange rate ------------------------------------------------------------------


def test_a_buyer_in_the_home_currencys_own_code_takes_no_rate_anywhere(staff_client, qbo, seller, apples, staff_user):
    connect_company(qbo, MULTI)
    usd_buyer = make_account("Harbor Fresh Market", "HFM", currency="USD")
    line = {"product": apples.pk, "quantity": "2", "unit_price": ""}
    says = "Harbor Fresh Market pays in the QuickBooks company's home currency (USD): leave the exchange rate blank."

    form = staff_client.post("/orders/new/", order_form(seller, usd_buyer, [line], exchange_rate="0.74"))
    assert form.status_code == 400 and says in page_text(form)
    fields = {
        "seller": seller,
        "buyer": usd_buyer,
        "order_date": ORDER_DATE,
        "terms": "net_30",
        "exchange_rate": Decimal("0.74"),
    }
    with pytest.raises(OrderError, match="leave the exchange rate blank"):
        order_create(fields=fields, lines=[LineInput(product=apples, quantity=Decimal("1"))], by=staff_user)
    order = make_order(seller=seller, buyer=usd_buyer, lines=[(apples, "1")], by=staff_user)
    api = patch(staff_client, order, {"exchangeRate": "0.74"})
    assert api.status_code == 422 and api.json()["error"] == says
    assert not Order.objects.exclude(exchange_rate=None).exists()


@pytest.mark.parametrize("value", [1e30, "1e30", "1E+400", "1e-30"])
def test_an_absurd_exchange_rate_is_refused_with_a_reason(staff_client, seller, mxn_buyer, apples, staff_user, value):
    order = make_order(seller=seller, buyer=mxn_buyer, lines=[(apples, "1")], by=staff_user)

    response = patch(staff_client, order, {"exchangeRate": value})

    assert response.status_code == 422
    assert "at most 8 decimals and 10 digits before the point" in response.json()["error"]
    line = {"product": apples.pk, "quantity": "1", "unit_price": "20"}
    form = staff_client.post("/orders/new/", order_form(seller, mxn_buyer, [line], exchange_rate=str(value)))
    assert form.status_code == 400 and "Enter the exchange rate with at most" in page_text(form)
    fields = {
        "seller": seller,
        "buyer": mxn_buyer,
        "order_date": ORDER_DATE,
        "terms": "net_30",
        "exchange_rate": Decimal(str(value)),
    }
    with pytest.raises(OrderError, match="at most 8 decimals"):
        order_create(fields=fields, lines=[LineInput(product=apples, quantity=Decimal("1"))], by=staff_user)
    assert Order.objects.get().exchange_rate is None


# --- 5. and 6. home amounts -------------------------------------------------------------------------------------


def test_home_amounts_keep_the_last_companys_currency_after_a_disconnect(staff_client, admin_user, qbo, apples):
    connect_company(qbo, CANADA)
    assert "CAD 32.50" in page_text(staff_client.get("/products/"))

    disconnect(user=admin_user)

    page = page_text(staff_client.get("/products/"))
    assert "CAD 32.50" in page and "$32.50" not in page


def test_the_order_page_pairs_quickbooks_home_total_with_quickbooks_total(staff_client, seller, apples, staff_user):
    eur_buyer = make_account("Marché Frais", "MFR", currency="EUR")
    order = make_order(seller=seller, buyer=eur_buyer, lines=[(apples, "10")], by=staff_user)  # EUR 325.00 + tax
    Order.objects.filter(pk=order.pk).update(
        qbo_currency="EUR",
        qbo_total=Decimal("351.00"),
        qbo_tax_total=Decimal("26.00"),
        qbo_exchange_rate=Decimal("1.08123457"),
        qbo_home_total=Decimal("379.51"),
    )

    page = page_text(staff_client.get(f"/orders/{order.pk}/"))

    assert 'data-testid="currency-total">EUR 351.00<' in page  # QuickBooks' total, as its home total is
    assert "≈ $379.51<br>" in page
    assert '1 EUR = 1.08123457 USD on <span class="nowrap">Nov 2, 2026</span>, as QuickBooks booked it' in page


def test_the_home_equivalent_rounds_half_up_and_shows_the_rate_as_entered(staff_client, seller, apples, staff_user):
    eur_buyer = make_account("Marché Frais", "MFR", currency="EUR")
    apples.unit_price = Decimal("1.00")
    apples.save()
    rate = Decimal("0.125")
    order = make_order(seller=seller, buyer=eur_buyer, lines=[(apples, "1")], by=staff_user, exchange_rate=rate)

    page = page_text(staff_client.get(f"/orders/{order.pk}/"))

    assert "≈ $0.13<br>" in page
    assert '1 EUR = 0.125 USD on <span class="nowrap">Nov 2, 2026</span>, the rate entered on the order' in page


# --- 7. the tax-code list is kept across catch-ups -------------------------------------------------------------


def test_the_tax_codes_are_read_again_only_when_the_profile_changes(admin_client, qbo, apples):
    connect_company(qbo, CANADA)
    qbo.clear_requests()
    assert admin_client.get(f"/products/{apples.pk}/edit/").status_code == 200
    assert qbo.count_requests(subpath="query") == 1

    refresh_profile(CANADA)  # what every catch-up does: nothing changed
    qbo.clear_requests()
    admin_client.get(f"/products/{apples.pk}/edit/")
    assert qbo.count_requests(subpath="query") == 0

    qbo.update_preferences(CANADA, {"SalesFormsPrefs": {"CustomTxnNumbers": False}})
    assert refresh_profile(CANADA)[1]  # a change
    qbo.clear_requests()
    admin_client.get(f"/products/{apples.pk}/edit/")
    assert qbo.count_requests(subpath="query") == 1


# --- helpers ---------------------------------------------------------------------------------------------------


def patch(client, order: Order, body: dict):
    order.refresh_from_db()
    return client.patch(
        f"/api/orders/{order.pk}", json.dumps(body | {"version": order.version}), content_type="application/json"
    )
