"""Refused before anything is sent means nothing at all: an order the closing date or an inactive class refuses
gets no customer and no item created or updated for it either — in a bulk push and on a single order's update
(the strict-books company: books closed up to Jun 30, 2026; classes Produce, Dairy and Dry Goods)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.cache import cache

from conftest import make_account, make_order, make_product
from orders.services import LineInput, order_update
from qbo_integration.bulk.push import bulk_push_run, bulk_push_start
from qbo_integration.connection import calls
from qbo_integration.models import CompanyProfile, QboSyncJob
from qbo_integration.outbound.requests import order_push_request
from qbo_integration.testing import COMPANIES, connect_company

from .conftest import entities

STRICT = COMPANIES["strict_books"]

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def strict(qbo, db):
    connect_company(qbo, STRICT)
    return qbo


def names_in_quickbooks(emu) -> dict[str, list]:
    """The customers and items QuickBooks has, with their versions: any create or update shows."""
    return {
        entity: sorted((row["Id"], row.get("SyncToken")) for row in entities(emu, entity, STRICT))
        for entity in ("Customer", "Item")
    }


def writes(emu) -> list[str]:
    """Every write the emulator received: creates and updates one by one, and batches (a query batch is a read,
    but none is expected here either once the order is refused)."""
    return [r["subpath"] for r in emu.requests(method="POST") if r["subpath"] not in ("query",)]


def deactivate_class(name: str) -> str:
    (klass,) = [c for c in calls.query("select * from Class").get("Class", []) if c["Name"] == name]
    body = {"Id": klass["Id"], "SyncToken": klass["SyncToken"], "sparse": True, "Active": False}
    calls.update("Class", body, request_id=f"class-off-{name}")
    return klass["Id"]


@pytest.mark.parametrize("why", ["closed period", "inactive class"])
def test_a_bulk_push_sends_nothing_for_an_order_it_refuses(strict, seller, apples, staff_user, why):
    newcomer = make_account("Pier Nine Grocers", "PNG")  # not a QuickBooks customer yet
    if why == "closed period":
        fields = {"order_date": date(2026, 6, 12)}
    else:
        fields = {"qbo_class_id": deactivate_class("Dairy")}
    order = make_order(
        seller=seller, buyer=newcomer, lines=[(apples, "3")], by=staff_user, ready_to_push=True, **fields
    )
    before = names_in_quickbooks(strict)
    strict.clear_requests()

    bulk = bulk_push_run(bulk_id=bulk_push_start(by=staff_user).pk)

    assert (bulk.succeeded, bulk.failed) == (0, 1), bulk.message
    job = QboSyncJob.objects.get(order=order)
    expected = (
        "QuickBooks' books are closed up to Jun 30, 2026: this order is dated Jun 12, 2026"
        if why == "closed period"
        else f"Order {order.number}: The class “Dairy” is inactive in QuickBooks"
    )
    assert job.state == "failed" and job.last_error.startswith(expected)
    assert names_in_quickbooks(strict) == before  # no customer, no item created or updated
    assert writes(strict) == []


@pytest.mark.parametrize("why", ["closed document date", "inactive class"])
def test_an_update_refused_by_its_document_sends_no_customer_or_item(
    strict, staff_client, seller, buyer, apples, staff_user, why
):
    order = make_order(seller=seller, buyer=buyer, lines=[(apples, "3")], by=staff_user, order_date=date(2026, 7, 2))
    assert order_push_request(order=order, doc_type="invoice", by=staff_user).state == "done"
    if why == "closed document date":  # the owner closes July too; the order moves to August
        strict.update_preferences(STRICT, {"AccountingInfoPrefs": {"BookCloseDate": "2026-07-31"}})
        CompanyProfile.objects.filter(realm_id=STRICT).update(book_close_date=date(2026, 7, 31))
        fields = {"order_date": date(2026, 8, 3)}
    else:
        fields = {"qbo_class_id": deactivate_class("Produce")}
        cache.clear()  # the class list Kadouri read at the push has expired
    quinces = make_product("Quinces", "41.00")  # a new line: an item QuickBooks does not have yet
    lines = [LineInput(product=apples, quantity=Decimal("3")), LineInput(product=quinces, quantity=Decimal("2"))]
    order = order_update(order_id=order.pk, fields=fields, lines=lines, by=staff_user)
    before = names_in_quickbooks(strict)
    strict.clear_requests()

    response = staff_client.put(f"/api/quickbooks/sync/order/{order.pk}", content_type="application/json")

    error = response.json().get("error") or response.json()["job"]["error"]
    expected = (
        "QuickBooks' books are closed up to Jul 31, 2026: the invoice in QuickBooks is dated Jul 2, 2026"
        if why == "closed document date"
        else f"Order {order.number}: The class “Produce” is inactive in QuickBooks"
    )
    assert response.status_code in (409, 422) and error.startswith(expected), error
    assert names_in_quickbooks(strict) == before and "Quinces" not in str(entities(strict, "Item", STRICT))
    assert writes(strict) == []  # the invoice was read; nothing was written
