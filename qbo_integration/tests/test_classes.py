"""Classes (the strict-books company tracks one class per transaction; classes Produce, Dairy and Dry Goods): the
order's class, else its seller's, else the Settings default goes out as ClassRef; none at all goes without one and
the order page says "No class"; the selects list QuickBooks' classes only where classes are tracked, and still work
when QuickBooks cannot be reached (docs/quickbooks.md#classes). The idealised company is the control."""

from __future__ import annotations

import json
import re

import pytest
from django.core.cache import cache

from orders.models import Order
from orders.services import order_update
from qbo_integration.models import QboConnection
from qbo_integration.outbound.requests import order_push_request
from qbo_integration.testing import COMPANIES, connect_company

from .conftest import entities

STRICT = COMPANIES["strict_books"]

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_class_lists():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def strict(qbo, db):
    connect_company(qbo, STRICT)
    return qbo


@pytest.fixture
def class_ids(strict) -> dict[str, str]:
    return {c["Name"]: c["Id"] for c in entities(strict, "Class", STRICT)}


def _invoice_class(emu) -> dict | None:
    (invoice,) = entities(emu, "Invoice", STRICT)
    return invoice.get("ClassRef")


@pytest.mark.parametrize("chosen", ["order", "seller", "default", "none"])
def test_the_class_sent_follows_order_seller_then_default(
    strict, class_ids, order_factory, seller, staff_user, staff_client, chosen
):
    if chosen in ("seller", "order"):
        seller.qbo_class_id = class_ids["Dairy"]
        seller.save()
    QboConnection.objects.filter(realm_id=STRICT).update(
        default_class_id=class_ids["Dry Goods"] if chosen != "none" else ""
    )
    order = order_factory(qbo_class_id=class_ids["Produce"] if chosen == "order" else "")

    job = order_push_request(order=order, doc_type="invoice", by=staff_user)

    assert job.state == "done", job.last_error
    expected = {"order": "Produce", "seller": "Dairy", "default": "Dry Goods", "none": None}[chosen]
    sent = _invoice_class(strict)
    assert (sent or {}).get("name") == expected
    page = staff_client.get(f"/orders/{order.pk}/").content.decode()
    if expected:
        assert sent["value"] == class_ids[expected] and f'data-testid="qbo-class">{expected}' in page
    else:
        assert 'data-testid="qbo-class">No class' in page


def test_a_class_chosen_on_a_posted_order_marks_it_changed_and_the_update_sends_it(
    strict, class_ids, order_factory, staff_user, staff_client
):
    order = order_factory()
    order_push_request(order=order, doc_type="invoice", by=staff_user)
    assert _invoice_class(strict) is None

    order = order_update(order_id=order.pk, fields={"qbo_class_id": class_ids["Dairy"]}, lines=None, by=staff_user)
    assert order.changed_since_push
    response = staff_client.put(f"/api/quickbooks/sync/order/{order.pk}", content_type="application/json")

    assert response.status_code == 200, response.json()
    assert _invoice_class(strict) == {"value": class_ids["Dairy"], "name": "Dairy"}


def test_the_forms_list_quickbooks_classes_and_save_the_choice(
    strict, class_ids, order_factory, admin_client, staff_client, seller
):
    order = order_factory()

    form = staff_client.get(f"/orders/{order.pk}/edit/").content.decode()
    account_form = staff_client.get(f"/accounts/{seller.pk}/edit/").content.decode()
    settings_page = admin_client.get("/settings/quickbooks/").content.decode()

    for page in (form, account_form, settings_page):
        assert all(f'<option value="{class_ids[name]}"' in page for name in ("Produce", "Dairy", "Dry Goods"))
    saved = admin_client.post(
        "/settings/quickbooks/rules/",
        {"shared_name_rule": "code", "inactive_rule": "refuse", "default_class_id": class_ids["Dairy"]},
    )
    assert saved.status_code == 302
    assert QboConnection.objects.get(realm_id=STRICT).default_class_id == class_ids["Dairy"]
    refused = admin_client.post(
        "/settings/quickbooks/rules/",
        {"shared_name_rule": "code", "inactive_rule": "refuse", "default_class_id": "999"},
    )
    assert refused.status_code == 400 and "Select a valid choice" in refused.content.decode()
    assert QboConnection.objects.get(realm_id=STRICT).default_class_id == class_ids["Dairy"]
    # the class list is read once and kept, and so are the accounts of the Stock card (docs/quickbooks/beyond.md#stock)
    assert strict.count_requests(subpath="query") == 2


def test_the_order_form_still_works_when_quickbooks_cannot_list_classes(strict, class_ids, order_factory, staff_client):
    order = order_factory(qbo_class_id=class_ids["Produce"])
    strict.add_fault("503", method="POST", path="/query$", count=10)

    page = staff_client.get(f"/orders/{order.pk}/edit/").content.decode()

    assert re.search(r"classes cannot be listed right now \(.+\)\. The class already chosen is kept\.", page)
    assert f'<option value="{class_ids["Produce"]}" selected>Class {class_ids["Produce"]}' in page
    # The JSON API keeps nothing for the caller: it says to try again (same reason, same sentence)
    api = staff_client.patch(
        f"/api/orders/{order.pk}",
        json.dumps({"classId": class_ids["Dairy"], "version": order.version}),
        content_type="application/json",
    )
    assert api.status_code == 422
    assert re.fullmatch(
        r"QuickBooks' classes cannot be listed right now \(.+\)\. Try again later\.", api.json()["error"]
    )


def test_no_class_select_and_no_class_sent_where_classes_are_not_tracked(
    qbo_connected, order_factory, staff_client, staff_user, seller
):
    seller.qbo_class_id = "1"
    seller.save()
    order = order_factory()

    page = staff_client.get(f"/orders/{order.pk}/edit/").content.decode()
    job = order_push_request(order=order, doc_type="invoice", by=staff_user)

    assert 'name="qbo_class_id"' not in page and job.state == "done"
    (invoice,) = entities(qbo_connected, "Invoice")
    assert "ClassRef" not in invoice
    assert 'data-testid="qbo-class"' not in staff_client.get(f"/orders/{order.pk}/").content.decode()
    assert Order.objects.get(pk=order.pk).qbo_class_id == ""


def test_pages_do_not_wait_on_quickbooks_for_classes_while_it_is_down(strict, class_ids, order_factory, staff_client):
    order = order_factory(qbo_class_id=class_ids["Produce"])
    strict.add_fault("503", method="POST", path="/query$", count=100)  # QuickBooks is down
    strict.clear_requests()

    pages = [staff_client.get(f"/orders/{order.pk}/") for _ in range(2)]
    as_json = staff_client.get(f"/api/orders/{order.pk}")

    assert all(p.status_code == 200 for p in pages) and as_json.status_code == 200
    assert strict.requests(path="/v3/company/") == []  # read-only: the class's name as Kadouri knows it
    assert f'data-testid="qbo-class">Class {class_ids["Produce"]}' in pages[0].content.decode()
    forms = [staff_client.get(f"/orders/{order.pk}/edit/").content.decode() for _ in range(2)]
    assert all("classes cannot be listed right now" in form for form in forms)
    assert strict.count_requests(subpath="query") == 1  # the failure is remembered for a minute, per company


def test_read_only_pages_name_the_class_from_the_list_read_lately(strict, class_ids, order_factory, staff_client):
    order = order_factory(qbo_class_id=class_ids["Produce"])
    staff_client.get(f"/orders/{order.pk}/edit/")  # the form reads the list
    strict.clear_requests()

    page = staff_client.get(f"/orders/{order.pk}/").content.decode()

    assert 'data-testid="qbo-class">Produce' in page
    assert staff_client.get(f"/api/orders/{order.pk}").json()["qboClassName"] == "Produce"
    assert strict.requests(path="/v3/company/") == []
