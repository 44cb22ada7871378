"""Money in its currency on every page and in every text an order appears in (kadouri/display.py): "$" only for US
dollars in a USD-home company; a CAD order writes "CAD 580.00" everywhere — lines, totals, QuickBooks' tax and
balance, the list, the account and product pages, the reconciliation report, the bulk push, the activity log —
and a Canadian (CAD-home) company never shows a "$"."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal

import pytest
from django.core.cache import cache

from kadouri.display import money, one_home_currency
from orders.models import Order
from orders.services import LineInput, order_create, order_update
from qbo_integration.bulk.push import bulk_push_run, bulk_push_start
from qbo_integration.inbound.catchup import catchup_run
from qbo_integration.reconcile import reconcile_run
from qbo_integration.testing import COMPANIES, connect_company

from .conftest import entities

pytestmark = pytest.mark.django_db

MULTI, CANADA = COMPANIES["multi_currency"], COMPANIES["canada"]
AMOUNT = re.compile(r"(\$|\b[A-Z]{3} )(-?[\d,]+\.\d{2})\b")
DOLLAR_AMOUNT = re.compile(r"\$\s?-?\d")
NOT_DISPLAYED = re.compile(r"<(script|style)\b.*?</\1>", re.S)


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # the company's currencies, rates and classes are cached per realm
    yield
    cache.clear()


def shown(text: str) -> str:
    return NOT_DISPLAYED.sub("", text)


def dollars_on(text: str, amounts: set[str]) -> list[str]:
    """The order's amounts written with a "$" (each amount as "1234.50")."""
    return [
        m.group(0) for m in AMOUNT.finditer(shown(text)) if m.group(1) == "$" and m.group(2).replace(",", "") in amounts
    ]


def order_amounts(order: Order) -> set[str]:
    order.refresh_from_db()
    values = [order.total, order.subtotal, order.commission_amount, order.qbo_total, order.qbo_balance]
    values += [v for line in order.lines.all() for v in (line.unit_price, line.amount)]
    return {f"{v:.2f}" for v in values if v}


def push(client, order):
    response = client.post(
        f"/api/quickbooks/sync/order/{order.pk}", json.dumps({"docType": "invoice"}), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    order.refresh_from_db()
    return order


def make_cad_order(seller, buyer, apples, pears, by, **fields) -> Order:
    """Prices of the buyer's own (40 and 45 CAD), unlike the products' list prices in USD (32.50, 36.75)."""
    header = {"seller": seller, "buyer": buyer, "order_date": date(2026, 11, 2), "terms": Order.Terms.NET_30}
    lines = [
        LineInput(product=apples, quantity=Decimal("10"), unit_price=Decimal("40.00")),
        LineInput(product=pears, quantity=Decimal("4"), unit_price=Decimal("45.00")),
    ]
    return order_create(fields=header | {"commission_rate": Decimal("5"), "notes": ""} | fields, lines=lines, by=by)


def pages(order: Order) -> list[str]:
    return [
        "/",
        f"/orders/{order.pk}/",
        f"/orders/{order.pk}/?tab=activity",
        f"/orders/{order.pk}/edit/",
        f"/accounts/{order.buyer_id}/",
        f"/accounts/{order.seller_id}/",
        f"/products/{order.lines.first().product_id}/",
        "/products/",
        "/settings/quickbooks/reconcile/",
        "/settings/quickbooks/push/",
        f"/api/orders/{order.pk}/activities",
        f"/api/orders/{order.pk}",
    ]


def test_the_money_helper_writes_each_currency_one_way(qbo):
    assert [money(Decimal("1440")), money("-5", "USD"), money(None, "CAD")] == ["$1,440.00", "-$5.00", "—"]
    assert [money("472", "CAD"), money("-5", "eur"), money("1234567.891", "GBP")] == [
        "CAD 472.00",
        "EUR -5.00",
        "GBP 1,234,567.89",
    ]
    connect_company(qbo, CANADA)
    with one_home_currency():
        assert [money("472"), money("472", "CAD"), money("12", "USD")] == ["CAD 472.00", "CAD 472.00", "USD 12.00"]


def test_a_cad_order_in_the_multi_currency_company_shows_no_dollar_sign_on_any_page(
    staff_client, admin_client, qbo, seller, buyer, apples, pears, staff_user
):
    connect_company(qbo, MULTI)
    buyer.currency = "CAD"
    buyer.save()
    order = push(staff_client, make_cad_order(seller, buyer, apples, pears, staff_user))
    order = order_update(
        order_id=order.pk,
        fields={"commission_rate": Decimal("6")},
        lines=[LineInput(product=apples, quantity=Decimal("12"), unit_price=Decimal("40.00"))]
        + [LineInput(product=pears, quantity=Decimal("4"), unit_price=Decimal("45.00"))],
        by=staff_user,
    )
    update = staff_client.put(f"/api/quickbooks/sync/order/{order.pk}", content_type="application/json")
    assert update.status_code == 200, update.content
    qbo.record_payment(MULTI, order.qbo_doc_id, 100.0)
    reconcile_run()  # before Kadouri hears of the payment: the balance drifts
    assert catchup_run(realm_id=MULTI).error == ""
    pending = make_cad_order(seller, buyer, apples, pears, staff_user, ready_to_push=True)
    amounts = order_amounts(order) | order_amounts(pending) | {"100.00", "560.00"}
    assert {"660.00", "560.00", "480.00", "39.60"} <= amounts

    problems, cad_seen = {}, 0
    for url in pages(order):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        text = response.content.decode()
        if found := dollars_on(text, amounts):
            problems[url] = found
        cad_seen += shown(text).count("CAD ")
    assert problems == {}
    assert cad_seen > 20

    page = admin_client.get(f"/orders/{order.pk}/").content.decode()
    for testid, text in (("subtotal", "CAD 660.00"), ("total", "CAD 660.00"), ("commission", "CAD 39.60")):
        assert f'data-testid="{testid}">{text}<' in page
    assert '<td class="num">CAD 40.00</td><td class="num">CAD 480.00</td>' in page
    assert 'data-testid="qbo-balance">CAD 560.00<' in page
    assert re.search(r"≈ \$\d{3}\.\d\d<br>", page)  # the home equivalent is in US dollars
    assert re.search(r"1 CAD = 0\.\d{6} USD on", page)  # the rate says which way it goes
    log = " ".join(a["description"] for a in admin_client.get(f"/api/orders/{order.pk}/activities").json())
    assert "total CAD 580.00" in log and "total now CAD 660.00" in log and "balance CAD 560.00 of CAD 660.00" in log
    report = admin_client.get("/settings/quickbooks/reconcile/").content.decode()
    assert "Kadouri CAD 660.00 · QuickBooks CAD 560.00" in report
    assert "CAD 0.00" in admin_client.get(f"/orders/{order.pk}/edit/").content.decode()  # the running total
    assert "$32.50" in admin_client.get("/products/").content.decode()  # the product's own price: home currency

    bulk = bulk_push_run(bulk_id=bulk_push_start(by=staff_user).pk)
    assert (bulk.succeeded, bulk.failed) == (1, 0)
    progress = admin_client.get(f"/settings/quickbooks/push/{bulk.pk}/progress/").content.decode()
    assert "CAD 580.00" in progress and not dollars_on(progress, amounts)


def test_a_canadian_company_never_shows_a_dollar_sign(staff_client, admin_client, qbo, order_factory, staff_user):
    conn = connect_company(qbo, CANADA)
    conn.default_tax_code_id = {c["Name"]: c["Id"] for c in entities(qbo, "TaxCode", CANADA)}["HST ON"]
    conn.save()
    order = push(staff_client, order_factory())
    qbo.record_payment(CANADA, order.qbo_doc_id, 100.0)
    reconcile_run()
    assert catchup_run(realm_id=CANADA).error == ""
    order_factory(ready_to_push=True)

    problems = {}
    for url in [*pages(order), "/orders/new/", "/accounts/"]:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        found = [m.group(0) for m in DOLLAR_AMOUNT.finditer(shown(response.content.decode()))]
        if found:
            problems[url] = found
    assert problems == {}

    page = admin_client.get(f"/orders/{order.pk}/").content.decode()
    assert 'data-testid="subtotal">CAD 472.00<' in page and 'data-testid="qbo-taxed-total">CAD 533.36<' in page
    assert "CAD 32.50" in admin_client.get("/products/").content.decode()
    log = " ".join(a["description"] for a in admin_client.get(f"/api/orders/{order.pk}/activities").json())
    assert "total CAD 472.00" in log and "balance CAD 433.36 of CAD 533.36" in log
