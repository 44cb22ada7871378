"""Foreign currency (docs/quickbooks/next.md#multicurrency): a buyer who pays in CAD, pushed to the multi-currency
company and refused by the one-currency (idealised) company before anything is sent."""

from __future__ import annotations

import html
import json
from datetime import date
from decimal import Decimal

import pytest
from django.core.cache import cache

from accounts.models import Account
from conftest import make_account, make_order
from orders.models import Order
from qbo_integration.bulk.push import bulk_push_run, bulk_push_start
from qbo_integration.emulator.engine.exchange import table_rate
from qbo_integration.models import QboSyncJob
from qbo_integration.reconcile import reconcile_run
from qbo_integration.testing import COMPANIES, connect_company

from .conftest import entities
from .inbound_support import WEBHOOK, DjangoDeliverer

pytestmark = pytest.mark.django_db

MULTI, IDEALISED = COMPANIES["multi_currency"], COMPANIES["idealised"]
ORDER_DATE = date(2026, 11, 2)  # make_order's date
CAD_RATE = table_rate("CAD", "USD", ORDER_DATE)
NOT_HOME = (
    "Harbor Fresh Market pays in CAD but the QuickBooks company works only in USD: turn on multi-currency in "
    "QuickBooks or set the account's currency to USD."
)


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # the company's currencies and QuickBooks' rates are cached per realm
    yield
    cache.clear()


@pytest.fixture
def cad_buyer(buyer):
    buyer.currency = "CAD"
    buyer.save()
    return buyer


def push(client, order, doc_type="invoice"):
    return client.post(
        f"/api/quickbooks/sync/order/{order.pk}",
        data=json.dumps({"docType": doc_type}),
        content_type="application/json",
    )


def writes(emu) -> list[dict]:
    """Every request that could change QuickBooks (queries are posted too, and change nothing)."""
    return [r for r in emu.requests(path="/v3/company/") if r["method"] == "POST" and r["subpath"] != "query"]


def test_a_cad_buyers_order_goes_in_cad_at_quickbooks_rate_for_the_order_date(
    staff_client, qbo, cad_buyer, order_factory
):
    connect_company(qbo, MULTI)
    order = order_factory()

    response = push(staff_client, order)

    assert response.status_code == 200, response.content
    (customer,) = entities(qbo, "Customer", MULTI)
    assert customer["CurrencyRef"]["value"] == "CAD"
    (invoice,) = entities(qbo, "Invoice", MULTI)
    assert invoice["CurrencyRef"]["value"] == "CAD" and Decimal(str(invoice["ExchangeRate"])) == CAD_RATE
    assert qbo.count_requests(subpath="exchangerate") == 1  # QuickBooks' own rate, read once
    home_total = (Decimal("472.00") * CAD_RATE).quantize(Decimal("0.01"))
    assert Decimal(str(invoice["HomeTotalAmt"])) == home_total
    order.refresh_from_db()
    assert (order.qbo_currency, order.qbo_exchange_rate, order.qbo_home_total) == ("CAD", CAD_RATE, home_total)
    assert order.qbo_total == Decimal("472.00")  # the document's own currency

    page = staff_client.get(order.get_absolute_url()).content.decode()
    assert "CAD 472.00" in page
    assert f"≈ ${home_total:,.2f}<br>" in page
    rate = f"1 CAD = {CAD_RATE.normalize():f} USD"
    assert f'{rate} on <span class="nowrap">Nov 2, 2026</span>, as QuickBooks booked it' in page
    assert "CAD 472.00" in staff_client.get("/").content.decode()
    assert "CAD" in staff_client.get(cad_buyer.get_absolute_url()).content.decode()


def test_an_entered_rate_is_sent_and_changing_it_changes_the_fingerprint(staff_client, qbo, cad_buyer, order_factory):
    connect_company(qbo, MULTI)
    order = order_factory(exchange_rate=Decimal("0.75"))
    before = order.compute_fingerprint()

    assert push(staff_client, order).status_code == 200

    (invoice,) = entities(qbo, "Invoice", MULTI)
    assert invoice["ExchangeRate"] == 0.75 and invoice["HomeTotalAmt"] == 354.0
    assert qbo.count_requests(subpath="exchangerate") == 0
    order.refresh_from_db()
    assert order.qbo_home_total == Decimal("354.00")
    order.exchange_rate = Decimal("0.76")
    assert order.compute_fingerprint() != before


def test_a_one_currency_company_refuses_a_cad_buyer_before_anything_is_sent(
    staff_client, qbo, cad_buyer, order_factory, staff_user
):
    connect_company(qbo, IDEALISED)
    order = order_factory(ready_to_push=True)
    qbo.clear_requests()

    api = push(staff_client, order)
    assert api.status_code == 422 and api.json()["error"] == NOT_HOME
    click = staff_client.post(f"/settings/quickbooks/orders/{order.pk}/invoice/", HTTP_HX_REQUEST="true")
    assert NOT_HOME in html.unescape(click.content.decode())
    sync = staff_client.post(f"/api/quickbooks/sync/account/{cad_buyer.pk}", content_type="application/json")
    assert sync.status_code == 422 and sync.json()["error"] == NOT_HOME

    bulk = bulk_push_run(bulk_id=bulk_push_start(by=staff_user).pk)
    assert (bulk.total, bulk.succeeded, bulk.failed) == (1, 0, 1)
    job = QboSyncJob.objects.get(bulk_push=bulk)
    assert job.state == "failed" and job.last_error == NOT_HOME
    assert writes(qbo) == []
    order.refresh_from_db()
    assert order.status == Order.Status.DRAFT and not order.qbo_doc_id


def test_a_currency_the_company_does_not_use_is_refused_by_name(staff_client, qbo, buyer, order_factory):
    connect_company(qbo, MULTI)
    buyer.currency = "GBP"
    buyer.save()
    qbo.clear_requests()

    response = push(staff_client, order_factory())

    assert response.status_code == 422
    assert response.json()["error"].startswith("Harbor Fresh Market pays in GBP, which is not one of the QuickBooks")
    assert writes(qbo) == []


def test_a_customer_in_cad_with_transactions_cannot_turn_euro(staff_client, qbo, cad_buyer, order_factory):
    connect_company(qbo, MULTI)
    assert push(staff_client, order_factory()).status_code == 200
    # Kadouri keeps an account's currency once it has orders (test_currency_rules.py); one changed before it did:
    Account.objects.filter(pk=cad_buyer.pk).update(currency="EUR")
    qbo.clear_requests()

    response = push(staff_client, order_factory())

    assert response.status_code == 422
    assert response.json()["error"] == (
        "Harbor Fresh Market is a CAD customer in QuickBooks and already has transactions there, so QuickBooks "
        "can't change its currency to EUR. Set the account's currency back to CAD, or make a new account for the "
        "EUR business."
    )
    assert writes(qbo) == []


def test_quickbooks_refusing_a_currency_change_is_said_in_plain_words(staff_client, qbo, order_factory):
    """The transactions were made in QuickBooks, so Kadouri could not know: QuickBooks' refusal is translated."""
    connect_company(qbo, MULTI)
    buyer = make_account("Maple Fresh", "MPL", currency="CAD")
    assert staff_client.post(f"/api/quickbooks/sync/account/{buyer.pk}").status_code == 200
    buyer.refresh_from_db()
    item = qbo.api.handle(
        MULTI, "POST", "item", {}, b'{"Name": "Kale", "Type": "Service", "IncomeAccountRef": {"value": "1"}}'
    )
    line = {
        "DetailType": "SalesItemLineDetail",
        "Amount": 5,
        "SalesItemLineDetail": {"ItemRef": {"value": item[1]["Item"]["Id"]}},
    }
    body = {"CustomerRef": {"value": buyer.qbo_customer_id}, "Line": [line], "CurrencyRef": {"value": "CAD"}}
    assert qbo.api.handle(MULTI, "POST", "invoice", {}, json.dumps(body).encode())[0] == 200
    buyer.currency = "EUR"
    buyer.save()

    response = staff_client.post(f"/api/quickbooks/sync/account/{buyer.pk}")

    assert response.status_code == 502
    assert response.json()["error"].startswith(
        "Maple Fresh already has transactions in QuickBooks in another currency, so QuickBooks can't change its "
        "currency to EUR."
    )


def test_a_cad_invoice_paid_in_full_makes_the_order_paid(
    staff_client, client, qbo, cad_buyer, order_factory, django_capture_on_commit_callbacks, settings
):
    connect_company(qbo, MULTI)
    qbo.configure_webhooks(url="http://testserver" + WEBHOOK, verifier_token=settings.QBO_WEBHOOK_VERIFIER_TOKEN)
    qbo.webhooks.deliver = DjangoDeliverer(client, django_capture_on_commit_callbacks)
    order = order_factory()
    assert push(staff_client, order).status_code == 200
    order.refresh_from_db()

    payment = qbo.record_payment(MULTI, order.qbo_doc_id)
    qbo.flush_webhooks(force=True)

    assert payment["CurrencyRef"]["value"] == "CAD" and payment["TotalAmt"] == 472.0
    order.refresh_from_db()
    assert (order.status, order.payment_status, order.qbo_balance) == ("paid", "paid", Decimal("0.00"))
    paid = order.activities.get(activity_type="payment_received")
    assert "CAD 472.00 paid in full" in paid.description


def test_reconciliation_compares_in_the_documents_currency(staff_client, qbo, cad_buyer, order_factory):
    connect_company(qbo, MULTI)
    order = order_factory()
    assert push(staff_client, order).status_code == 200
    (invoice,) = entities(qbo, "Invoice", MULTI)
    assert invoice["HomeTotalAmt"] != invoice["TotalAmt"]  # a comparison with the home total would drift

    run = reconcile_run()

    assert run.error == "" and run.checked == 1 and run.rows == []
    Account.objects.filter(pk=cad_buyer.pk).update(currency="EUR")  # changed before Kadouri kept it (it does now)
    drift = reconcile_run().rows[0]["drift"]
    assert drift == [{"field": "currency", "kadouri": "EUR", "quickbooks": "CAD"}]


def test_the_account_form_offers_the_companys_currencies(admin_client, staff_client, qbo, buyer):
    connect_company(qbo, MULTI)
    form = staff_client.get(f"/accounts/{buyer.pk}/edit/").content.decode()
    assert '<option value="CAD">' in form and '<option value="EUR">' in form and "USD (home currency)" in form
    fields = {
        "name": buyer.name,
        "code": buyer.code,
        "email": buyer.email,
        "country": "USA",
        "active": "on",
        "currency": "JPY",
    }
    refused = staff_client.post(f"/accounts/{buyer.pk}/edit/", fields)
    assert refused.status_code == 400 and "Select a valid choice" in refused.content.decode()
    assert staff_client.post(f"/accounts/{buyer.pk}/edit/", fields | {"currency": "CAD"}).status_code == 302
    buyer.refresh_from_db()
    assert buyer.currency == "CAD"


def test_a_one_currency_company_offers_only_its_home_currency(staff_client, qbo, buyer):
    connect_company(qbo, IDEALISED)
    page = staff_client.get(f"/accounts/{buyer.pk}/edit/").content.decode()
    assert "works only in that currency" in page and '<option value="CAD">' not in page
    fields = {"name": buyer.name, "code": buyer.code, "email": buyer.email, "country": "USA", "active": "on"}
    refused = staff_client.post(f"/accounts/{buyer.pk}/edit/", fields | {"currency": "CAD"})
    assert refused.status_code == 400 and "Select a valid choice" in refused.content.decode()


def test_the_account_form_takes_a_typed_code_when_the_currencies_are_unknown(staff_client, buyer):
    page = staff_client.get(f"/accounts/{buyer.pk}/edit/").content.decode()  # QuickBooks never connected
    assert "Type a three-letter code, e.g. CAD." in page
    fields = {"name": buyer.name, "code": buyer.code, "email": buyer.email, "country": "USA", "active": "on"}
    bad = staff_client.post(f"/accounts/{buyer.pk}/edit/", fields | {"currency": "C4D"})
    assert bad.status_code == 400 and "Enter a three-letter currency code" in html.unescape(bad.content.decode())
    assert staff_client.post(f"/accounts/{buyer.pk}/edit/", fields | {"currency": "cad"}).status_code == 302
    buyer.refresh_from_db()
    assert buyer.currency == "CAD"


@pytest.mark.parametrize(
    ("rate", "message"),
    [
        ("-1", "The exchange rate must be more than 0."),
        ("0.123456789", "Enter the exchange rate with at most 8 decimals."),
        ("abc", "Enter the exchange rate as a number, e.g. 0.73."),
    ],
)
def test_the_order_form_checks_the_exchange_rate(
    staff_client, qbo, cad_buyer, seller, apples, staff_user, rate, message
):
    connect_company(qbo, MULTI)
    order = make_order(seller=seller, buyer=cad_buyer, lines=[(apples, "1")], by=staff_user)
    page = staff_client.get(f"/orders/{order.pk}/edit/").content.decode()
    assert "Only for a buyer who pays in another currency" in page
    data = edit_data(staff_client, order) | {"exchange_rate": rate}
    response = staff_client.post(f"/orders/{order.pk}/edit/", data)
    assert response.status_code == 400 and message in html.unescape(response.content.decode())
    order.refresh_from_db()
    assert order.exchange_rate is None


def edit_data(client, order) -> dict:
    """What the order's edit form posts as it stands."""
    response = client.get(f"/orders/{order.pk}/edit/")
    form, formset = response.context["form"], response.context["formset"]
    data = {f.html_name: f.value() if f.value() is not None else "" for f in form}
    data |= {f.html_name: f.value() for f in formset.management_form}
    for line in formset:
        data |= {f.html_name: f.value() if f.value() is not None else "" for f in line}
    return data


def test_a_bulk_push_reads_the_rates_first_and_a_blip_there_keeps_its_orders_in_the_batch(
    qbo, cad_buyer, order_factory, staff_user
):
    connect_company(qbo, MULTI)
    orders = [order_factory(ready_to_push=True) for _ in range(3)]
    qbo.add_fault("503", method="GET", path="exchangerate", count=1)  # the first rate read fails once

    bulk = bulk_push_run(bulk_id=bulk_push_start(by=staff_user).pk)

    assert (bulk.total, bulk.succeeded, bulk.failed, bulk.retrying) == (3, 3, 0, 0)  # none handed to single retries
    invoices = entities(qbo, "Invoice", MULTI)
    assert len(invoices) == 3 and {Decimal(str(i["ExchangeRate"])) for i in invoices} == {CAD_RATE}
    assert qbo.count_requests(subpath="exchangerate") == 2  # the failed read and its resend, then the cache
    assert len(qbo.requests(subpath="batch")) >= 1
    for order in orders:
        order.refresh_from_db()
        assert order.qbo_currency == "CAD" and order.status == Order.Status.POSTED_TO_QB
