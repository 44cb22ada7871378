"""The order JSON API (PATCH /api/orders/<id>) takes the exchange rate and the QuickBooks class as the order form
does, and answers with them and with what QuickBooks booked (currency, rate, tax, home total); the activity log
shows a changed class by its name."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from django.core.cache import cache

from orders.models import Order
from qbo_integration.connection import calls
from qbo_integration.emulator.engine.exchange import table_rate
from qbo_integration.testing import COMPANIES, connect_company

from .conftest import entities

pytestmark = pytest.mark.django_db

MULTI, STRICT, IDEALISED = COMPANIES["multi_currency"], COMPANIES["strict_books"], COMPANIES["idealised"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def patch(client, order: Order, body: dict):
    order.refresh_from_db()
    return client.patch(
        f"/api/orders/{order.pk}", json.dumps(body | {"version": order.version}), content_type="application/json"
    )


def push(client, order: Order, method: str = "post"):
    body = json.dumps({"docType": "invoice"}) if method == "post" else None
    return getattr(client, method)(f"/api/quickbooks/sync/order/{order.pk}", body, content_type="application/json")


@pytest.fixture
def cad_buyer(buyer):
    buyer.currency = "CAD"
    buyer.save()
    return buyer


def class_ids(emu) -> dict[str, str]:
    return {c["Name"]: c["Id"] for c in entities(emu, "Class", STRICT)}


def deactivate_class(class_id: str) -> None:
    klass = calls.read("Class", class_id)
    body = {"Id": class_id, "SyncToken": klass["SyncToken"], "sparse": True, "Active": False}
    calls.update("Class", body, request_id=f"class-off-{class_id}")


# --- the exchange rate -------------------------------------------------------------------------------------


def test_the_api_sets_the_exchange_rate_and_answers_with_what_quickbooks_booked(
    staff_client, qbo, cad_buyer, order_factory
):
    connect_company(qbo, MULTI)
    order = order_factory()

    response = patch(staff_client, order, {"exchangeRate": "0.74"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["currency"], body["exchangeRate"], body["qboCurrency"], body["qboExchangeRate"]) == (
        "CAD",
        "0.74",
        "",
        None,
    )
    order.refresh_from_db()
    assert order.exchange_rate == Decimal("0.74")
    activity = order.activities.filter(activity_type="order_edited").get()
    assert "exchange rate: — → 0.74" in activity.description

    assert push(staff_client, order).status_code == 200
    (invoice,) = entities(qbo, "Invoice", MULTI)
    assert invoice["ExchangeRate"] == 0.74 and qbo.count_requests(subpath="exchangerate") == 0
    got = staff_client.get(f"/api/orders/{order.pk}").json()
    assert (got["qboCurrency"], got["qboExchangeRate"], got["qboTotal"], got["qboHomeTotal"], got["qboTaxTotal"]) == (
        "CAD",
        "0.74",
        "472.00",
        "349.28",
        "0.00",
    )

    cleared = patch(staff_client, order, {"exchangeRate": None})
    assert cleared.status_code == 200 and cleared.json()["exchangeRate"] is None
    order.refresh_from_db()
    assert order.exchange_rate is None and order.changed_since_push
    assert push(staff_client, order, "put").status_code == 200
    (invoice,) = entities(qbo, "Invoice", MULTI)
    assert Decimal(str(invoice["ExchangeRate"])) == table_rate("CAD", "USD", date(2026, 11, 2))  # QuickBooks' own


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("0", "The exchange rate must be more than 0."),
        (-0.5, "The exchange rate must be more than 0."),
        ("0.123456789", "at most 8 decimals"),
        ("12345678901", "10 digits before the point"),
        ("abc", "exchangeRate must be a number"),
        (True, "exchangeRate must be a number"),
        ("NaN", "The exchange rate must be more than 0."),
    ],
)
def test_a_bad_exchange_rate_is_refused_with_422_and_changes_nothing(
    staff_client, qbo, cad_buyer, order_factory, value, says
):
    connect_company(qbo, MULTI)
    order = order_factory(exchange_rate=Decimal("0.7"))
    version = order.version

    response = patch(staff_client, order, {"exchangeRate": value, "notes": "not saved"})

    assert response.status_code == 422 and says in response.json()["error"]
    order.refresh_from_db()
    assert (order.exchange_rate, order.notes, order.version) == (Decimal("0.7"), "", version)


def test_a_home_currency_buyer_takes_no_exchange_rate(staff_client, qbo, order_factory):
    connect_company(qbo, MULTI)
    order = order_factory()

    response = patch(staff_client, order, {"exchangeRate": "0.74"})

    assert response.status_code == 422
    assert response.json()["error"] == (
        "Harbor Fresh Market pays in the QuickBooks company's home currency (USD): leave the exchange rate blank."
    )
    assert Order.objects.get(pk=order.pk).exchange_rate is None
    assert staff_client.get(f"/api/orders/{order.pk}").json()["currency"] == "USD"


# --- the class ---------------------------------------------------------------------------------------------


def test_the_api_sets_the_class_and_the_activity_log_names_it(staff_client, qbo, order_factory):
    connect_company(qbo, STRICT)
    ids = class_ids(qbo)
    order = order_factory()

    first = patch(staff_client, order, {"classId": ids["Dairy"]})
    second = patch(staff_client, order, {"qboClassId": ids["Produce"]})

    assert first.status_code == 200 and second.status_code == 200, second.content
    assert (second.json()["qboClassId"], second.json()["qboClassName"]) == (ids["Produce"], "Produce")
    order.refresh_from_db()
    assert order.qbo_class_id == ids["Produce"]
    log = [a["description"] for a in staff_client.get(f"/api/orders/{order.pk}/activities").json()]
    assert any("QuickBooks class: — → “Dairy”" in text for text in log), log
    assert any("QuickBooks class: “Dairy” → “Produce”" in text for text in log), log
    page = staff_client.get(f"/orders/{order.pk}/?tab=activity").content.decode()
    assert "QuickBooks class: “Dairy” → “Produce”" in page and f"→ {ids['Produce']}" not in page

    assert push(staff_client, order).status_code == 200
    (invoice,) = entities(qbo, "Invoice", STRICT)
    assert invoice["ClassRef"]["value"] == ids["Produce"]
    cleared = patch(staff_client, order, {"classId": ""})
    assert cleared.status_code == 200 and cleared.json()["qboClassId"] == ""


def test_the_order_form_logs_the_class_by_name_too(staff_client, qbo, order_factory):
    connect_company(qbo, STRICT)
    ids = class_ids(qbo)
    order = order_factory()
    response = staff_client.get(f"/orders/{order.pk}/edit/")
    form, formset = response.context["form"], response.context["formset"]
    data = {f.html_name: f.value() if f.value() is not None else "" for f in form}
    data |= {f.html_name: f.value() for f in formset.management_form}
    for line in formset:
        data |= {f.html_name: f.value() if f.value() is not None else "" for f in line}

    saved = staff_client.post(f"/orders/{order.pk}/edit/", data | {"qbo_class_id": ids["Dry Goods"]})

    assert saved.status_code == 302
    activity = Order.objects.get(pk=order.pk).activities.filter(activity_type="order_edited").get()
    assert "QuickBooks class: — → “Dry Goods”" in activity.description


@pytest.mark.parametrize("which", ["unknown", "inactive"])
def test_an_unknown_or_inactive_class_is_refused_with_422(staff_client, qbo, order_factory, which):
    connect_company(qbo, STRICT)
    ids = class_ids(qbo)
    order = order_factory()
    if which == "inactive":
        deactivate_class(ids["Dairy"])
    class_id = ids["Dairy"] if which == "inactive" else "999"

    response = patch(staff_client, order, {"classId": class_id})

    assert response.status_code == 422
    assert response.json()["error"] == (
        "The class “Dairy” is inactive in QuickBooks: choose another class, or make the class active again in "
        "QuickBooks."
        if which == "inactive"
        else "QuickBooks has no class with id 999 (it may have been merged or removed there): choose another class."
    )
    assert Order.objects.get(pk=order.pk).qbo_class_id == ""


def test_a_company_without_class_tracking_takes_no_class(staff_client, qbo, order_factory):
    connect_company(qbo, IDEALISED)
    order = order_factory()

    response = patch(staff_client, order, {"classId": "1"})

    assert response.status_code == 422
    assert response.json()["error"] == "The QuickBooks company does not track classes: leave classId out."
