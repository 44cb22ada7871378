"""An inactive or unknown class is refused before anything is sent — through the click, the JSON API (422) and the
bulk push — in plain words with its name and where to choose another; QuickBooks' own 2500 for a class made inactive
since Kadouri listed the classes says the same. A bulk push meets a customer or an item made inactive in QuickBooks
with the single order's rule and words (adapt/names.py), never QuickBooks' own 2500 text."""

from __future__ import annotations

import html
import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from conftest import make_order
from orders.models import Order
from orders.services import order_update
from qbo_integration.adapt.classes import class_options
from qbo_integration.bulk.push import bulk_push_run, bulk_push_start
from qbo_integration.connection import calls
from qbo_integration.models import QboConnection, QboSyncJob
from qbo_integration.outbound.requests import order_push_request
from qbo_integration.outbound.runners import qbo_job_run
from qbo_integration.testing import COMPANIES, connect_company

from .conftest import entities

pytestmark = pytest.mark.django_db

STRICT = COMPANIES["strict_books"]


def inactive_dairy(order: Order, fix: str = "choose another class on the order") -> str:
    return (
        f"Order {order.number}: The class “Dairy” is inactive in QuickBooks: {fix}, or make the class active again "
        "in QuickBooks. Then try again."
    )


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def strict(qbo, db):
    connect_company(qbo, STRICT)
    return qbo


@pytest.fixture
def ids(strict) -> dict[str, str]:
    return {c["Name"]: c["Id"] for c in entities(strict, "Class", STRICT)}


def deactivate(class_id: str, *, keep_list: bool = False) -> None:
    """The bookkeeper makes the class inactive; `keep_list`: Kadouri still has its list from before."""
    if keep_list:
        class_options()  # read and kept for a few minutes
    klass = calls.read("Class", class_id)
    body = {"Id": class_id, "SyncToken": klass["SyncToken"], "sparse": True, "Active": False}
    calls.update("Class", body, request_id=f"class-off-{class_id}")


def push(client, order):
    return client.post(
        f"/api/quickbooks/sync/order/{order.pk}", json.dumps({"docType": "invoice"}), content_type="application/json"
    )


def document_writes(emu) -> list[dict]:
    return [r for r in emu.requests(path="/v3/company/") if r["method"] == "POST" and r["subpath"] in ("invoice",)]


def test_an_inactive_class_on_the_order_is_refused_before_sending_by_api_and_click(
    strict, ids, staff_client, order_factory
):
    order = order_factory(qbo_class_id=ids["Dairy"])
    deactivate(ids["Dairy"])
    strict.clear_requests()

    api = push(staff_client, order)
    click = staff_client.post(f"/settings/quickbooks/orders/{order.pk}/invoice/", HTTP_HX_REQUEST="true")

    assert api.status_code == 422 and api.json()["error"] == inactive_dairy(order)
    assert inactive_dairy(order) in html.unescape(click.content.decode())
    assert document_writes(strict) == [] and entities(strict, "Customer", STRICT) == []  # nothing at all was sent
    order.refresh_from_db()
    assert order.status == Order.Status.DRAFT and not order.qbo_doc_id


@pytest.mark.parametrize("source", ["seller", "default"])
def test_the_refusal_says_where_the_class_came_from(strict, ids, staff_client, order_factory, seller, source):
    if source == "seller":
        seller.qbo_class_id = ids["Dairy"]
        seller.save()
    else:
        QboConnection.objects.filter(realm_id=STRICT).update(default_class_id=ids["Dairy"])
    order = order_factory()
    deactivate(ids["Dairy"])

    response = push(staff_client, order)

    fix = (
        "choose another class on the order or on its seller's account (Green Valley Farms)"
        if source == "seller"
        else "choose a class on the order, or another default class in Settings → QuickBooks → Company rules"
    )
    assert response.status_code == 422 and response.json()["error"] == inactive_dairy(order, fix)


def test_an_unknown_class_is_refused_by_its_id(strict, staff_client, order_factory):
    order = order_factory(qbo_class_id="999")
    strict.clear_requests()

    response = push(staff_client, order)

    assert response.status_code == 422
    assert response.json()["error"] == (
        f"Order {order.number}: QuickBooks has no class with id 999 (it may have been merged or removed there): "
        "choose another class on the order. Then try again."
    )
    assert document_writes(strict) == []


def test_quickbooks_2500_for_a_class_made_inactive_since_the_list_was_read_says_the_same(
    strict, ids, staff_client, order_factory
):
    order = order_factory(qbo_class_id=ids["Dairy"])
    deactivate(ids["Dairy"], keep_list=True)  # Kadouri's list still shows Dairy as active
    strict.clear_requests()

    response = push(staff_client, order)

    assert len(document_writes(strict)) == 1  # sent: QuickBooks answered 2500
    assert response.status_code == 422 and response.json()["error"] == inactive_dairy(order)
    job = QboSyncJob.objects.get(order=order)
    assert (job.state, job.error_code, job.last_error) == ("failed", "2500", inactive_dairy(order))
    assert entities(strict, "Invoice", STRICT) == []


def test_an_update_keeps_a_class_the_invoice_has_and_refuses_a_new_inactive_one(
    strict, ids, staff_client, order_factory, staff_user
):
    order = order_factory(qbo_class_id=ids["Dairy"])
    assert push(staff_client, order).status_code == 200
    deactivate(ids["Dairy"])
    order = order_update(order_id=order.pk, fields={"notes": "Pallets"}, lines=None, by=staff_user)

    kept = staff_client.put(f"/api/quickbooks/sync/order/{order.pk}", content_type="application/json")

    assert kept.status_code == 200, kept.json()  # QuickBooks keeps the class its invoice already has
    deactivate(ids["Produce"])
    order = order_update(order_id=order.pk, fields={"qbo_class_id": ids["Produce"]}, lines=None, by=staff_user)
    refused = staff_client.put(f"/api/quickbooks/sync/order/{order.pk}", content_type="application/json")
    assert refused.status_code == 422
    assert "The class “Produce” is inactive in QuickBooks: choose another class on the order" in refused.json()["error"]
    (invoice,) = entities(strict, "Invoice", STRICT)
    assert invoice["ClassRef"]["value"] == ids["Dairy"]


@pytest.mark.parametrize("keep_list", [False, True], ids=["refused-before-sending", "quickbooks-2500"])
def test_a_bulk_push_fails_the_order_with_an_inactive_class_in_plain_words(
    strict, ids, staff_user, seller, buyer, apples, keep_list
):
    dairy = make_order(
        seller=seller, buyer=buyer, by=staff_user, lines=[(apples, "2")], ready_to_push=True, qbo_class_id=ids["Dairy"]
    )
    fine = make_order(seller=seller, buyer=buyer, by=staff_user, lines=[(apples, "3")], ready_to_push=True)
    deactivate(ids["Dairy"], keep_list=keep_list)

    bulk = bulk_push_run(bulk_id=bulk_push_start(by=staff_user).pk)

    assert (bulk.total, bulk.succeeded, bulk.failed) == (2, 1, 1)
    assert QboSyncJob.objects.get(order=dairy).last_error == inactive_dairy(dairy)
    assert Order.objects.get(pk=fine.pk).qbo_doc_id and len(entities(strict, "Invoice", STRICT)) == 1


# --- a bulk push meets a customer or an item made inactive in QuickBooks since it was linked ----------------


def _linked_then_inactive(strict, staff_client, staff_user, seller, buyer, apples, what: str) -> Order:
    first = make_order(seller=seller, buyer=buyer, by=staff_user, lines=[(apples, "1")])
    assert push(staff_client, first).status_code == 200
    if what == "item":
        apples.refresh_from_db()
        strict.set_item_active(STRICT, apples.qbo_item_id, False)  # its webhook not processed yet
    else:
        buyer.refresh_from_db()
        customer = calls.read("Customer", buyer.qbo_customer_id)
        body = {"Id": customer["Id"], "SyncToken": customer["SyncToken"], "sparse": True, "Active": False}
        calls.update("Customer", body, request_id="harbor-off")
    return make_order(seller=seller, buyer=buyer, by=staff_user, lines=[(apples, "2")], ready_to_push=True)


@pytest.mark.parametrize("what", ["item", "customer"])
def test_a_bulk_push_refuses_an_inactive_customer_or_item_in_the_rules_words(
    strict, staff_client, staff_user, seller, buyer, apples, what
):
    QboConnection.objects.filter(realm_id=STRICT).update(inactive_rule="refuse")
    order = _linked_then_inactive(strict, staff_client, staff_user, seller, buyer, apples, what)

    bulk = bulk_push_run(bulk_id=bulk_push_start(by=staff_user).pk)

    assert (bulk.total, bulk.succeeded, bulk.failed) == (1, 0, 1)
    error = QboSyncJob.objects.get(order=order).last_error
    expected = (
        "“Gala Apples” is an inactive product or service in QuickBooks."
        if what == "item"
        else "“Harbor Fresh Market” is an inactive customer in QuickBooks."
    )
    assert error.startswith(expected) and "Invalid Reference" not in error
    assert len(entities(strict, "Invoice", STRICT)) == 1


@pytest.mark.parametrize("what", ["item", "customer"])
def test_a_bulk_push_makes_an_inactive_customer_or_item_active_again_by_the_rule(
    strict, staff_client, staff_user, seller, buyer, apples, what
):
    QboConnection.objects.filter(realm_id=STRICT).update(inactive_rule="reactivate")
    order = _linked_then_inactive(strict, staff_client, staff_user, seller, buyer, apples, what)

    bulk = bulk_push_run(bulk_id=bulk_push_start(by=staff_user).pk)

    assert (bulk.total, bulk.succeeded, bulk.failed) == (1, 1, 0)
    order.refresh_from_db()
    assert order.status == Order.Status.POSTED_TO_QB and order.qbo_doc_id
    entity, ref = ("Item", apples.qbo_item_id) if what == "item" else ("Customer", buyer.qbo_customer_id)
    assert calls.read(entity, ref)["Active"] is True
    assert len(entities(strict, "Invoice", STRICT)) == 2


def test_a_create_that_fails_on_a_blip_after_a_reactivation_is_retried_to_the_end(
    strict, staff_client, staff_user, seller, buyer, apples, monkeypatch
):
    """The first create's 2500 is cached under the job's request id: its retry gets it back, finds nothing inactive
    any more (the first try made the customer active again) and sends the create under its second request id."""
    QboConnection.objects.filter(realm_id=STRICT).update(inactive_rule="reactivate")
    order = _linked_then_inactive(strict, staff_client, staff_user, seller, buyer, apples, "customer")
    handle = strict.handle

    def blip_after_reactivation(method, path_with_query, *args, **kwargs):
        answer = handle(method, path_with_query, *args, **kwargs)
        if method == "POST" and path_with_query.split("?")[0].endswith("/customer"):
            strict.add_fault("503", method="POST", path="/invoice$", count=1)  # the create sent after it
        return answer

    monkeypatch.setattr(strict, "handle", blip_after_reactivation)

    job = order_push_request(order=order, doc_type="invoice", by=staff_user)

    assert job.state == "pending" and job.error_kind == "transient"
    QboSyncJob.objects.filter(pk=job.pk).update(not_before=timezone.now() - timedelta(seconds=1))
    job = qbo_job_run(job_id=job.pk)
    assert job.state == "done", job.last_error
    order.refresh_from_db()
    assert order.status == Order.Status.POSTED_TO_QB and order.qbo_doc_id
    assert calls.read("Customer", buyer.qbo_customer_id)["Active"] is True
    assert len(entities(strict, "Invoice", STRICT)) == 2
