"""The payments JSON API: GET/POST /api/quickbooks/sync/order/<id>/payments and DELETE .../payments/<id>, with
the contract's shapes and statuses."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from qbo_integration import tasks
from qbo_integration.models import QboSyncJob
from qbo_integration.testing import COMPANIES, REALM_ID, connect_company

from .inbound_support import entities, posted, webhooks  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_lists():
    cache.clear()
    yield
    cache.clear()


def url(order, payment_id=""):
    base = f"/api/quickbooks/sync/order/{order.pk}/payments"
    return f"{base}/{payment_id}" if payment_id else base


def post(client, order, body, **headers):
    return client.post(url(order), data=json.dumps(body), content_type="application/json", headers=headers)


def test_post_records_a_payment_and_get_lists_it(staff_client, posted):
    body = {"amount": "125.00", "method": "2", "reference": "CHK 1042", "depositTo": "4"}

    response = post(staff_client, posted, body)

    assert response.status_code == 200, response.json()
    answer = response.json()
    assert answer["job"]["state"] == "done"
    assert answer["payment"]["amount"] == "125.00" and answer["payment"]["methodName"] == "Check"
    assert answer["money"] == {
        "sold": "472.00",
        "credited": "0.00",
        "paid": "125.00",
        "creditApplied": "0.00",
        "open": "347.00",
    }

    listed = staff_client.get(url(posted)).json()

    assert listed["orderId"] == posted.pk and listed["credits"] == []
    (payment,) = listed["payments"]
    assert payment == {
        "id": answer["payment"]["id"],
        "amount": "125.00",
        "creditApplied": "0.00",
        "total": "125.00",
        "unapplied": "0.00",
        "date": timezone.localdate().isoformat(),
        "method": "2",
        "methodName": "Check",
        "reference": "CHK 1042",
        "depositTo": "4",
        "depositToName": "Undeposited Funds",
        "recordedBy": "Sam Staff",
        "recordedInKadouri": True,
        "state": "active",
    }


@pytest.mark.parametrize(
    "body, field",
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "-1"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"amount": "1.234"}, "amount"),
        ({"amount": "473.00"}, "amount"),
        ({"amount": "10", "currency": "CAD"}, "currency"),
        ({"amount": "10", "method": "42"}, "method"),
        ({"amount": "10", "depositTo": "42"}, "depositTo"),
        ({"amount": "10", "date": "next week"}, "date"),
    ],
)
def test_bad_input_is_422_with_the_field(staff_client, posted, qbo_connected, body, field):
    response = post(staff_client, posted, body)

    assert response.status_code == 422
    assert response.json()["field"] == field and response.json()["error"]
    assert entities(qbo_connected, "Payment") == []


def test_a_draft_order_is_409(staff_client, order_factory, qbo_connected):
    response = post(staff_client, order_factory(), {"amount": "10"})

    assert response.status_code == 409 and "draft" in response.json()["error"]


def test_the_same_idempotency_key_records_one_payment(staff_client, posted, qbo_connected):
    first = post(staff_client, posted, {"amount": "50.00"}, **{"Idempotency-Key": "k-1"})
    second = post(staff_client, posted, {"amount": "50.00"}, **{"Idempotency-Key": "k-1"})

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["job"]["id"] == second.json()["job"]["id"]
    assert len(entities(qbo_connected, "Payment")) == 1
    assert qbo_connected.count_requests(method="POST", subpath="payment") == 1


def test_a_second_submit_of_a_payment_that_paid_the_order_finds_its_job(staff_client, posted, qbo_connected):
    first = post(staff_client, posted, {"amount": "472.00"}, **{"Idempotency-Key": "k-full"})
    second = post(staff_client, posted, {"amount": "472.00"}, **{"Idempotency-Key": "k-full"})
    third = post(staff_client, posted, {"amount": "472.00"}, **{"Idempotency-Key": "k-other"})

    assert (first.status_code, second.status_code, third.status_code) == (200, 200, 409)
    assert second.json()["payment"]["id"] == first.json()["payment"]["id"]
    assert "paid in full" in third.json()["error"]
    assert len(entities(qbo_connected, "Payment")) == 1


def test_a_dropped_connection_answers_202_and_the_worker_adopts_the_payment(staff_client, posted, qbo_connected):
    qbo_connected.add_fault("drop", method="POST", path="/payment$")

    response = post(staff_client, posted, {"amount": "50.00"}, **{"Idempotency-Key": "k-2"})

    assert response.status_code == 202 and response.json()["payment"] is None
    QboSyncJob.objects.filter(action="record_payment").update(not_before=timezone.now() - timedelta(seconds=1))
    tasks.qbo_drain_due_jobs()
    listed = staff_client.get(url(posted)).json()
    assert len(listed["payments"]) == 1 and listed["money"]["open"] == "422.00"
    assert len(entities(qbo_connected, "Payment")) == 1


def test_delete_is_for_admins_and_reopens_the_order(staff_client, admin_client, posted, qbo_connected):
    payment_id = post(staff_client, posted, {"amount": "472.00"}).json()["payment"]["id"]
    body = json.dumps({"reason": "Wrong buyer"})

    refused = staff_client.delete(url(posted, payment_id), data=body, content_type="application/json")
    assert refused.status_code == 403 and len(entities(qbo_connected, "Payment")) == 1

    no_reason = admin_client.delete(url(posted, payment_id), data="{}", content_type="application/json")
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"

    done = admin_client.delete(url(posted, payment_id), data=body, content_type="application/json")

    assert done.status_code == 200, done.json()
    assert done.json()["payment"]["state"] == "deleted" and done.json()["money"]["open"] == "472.00"
    assert entities(qbo_connected, "Payment") == []
    posted.refresh_from_db()
    assert posted.status == "posted_to_qb" and posted.qbo_balance == Decimal("472.00")


def test_a_bookkeepers_payment_is_listed_as_in_quickbooks(staff_client, webhooks, posted):
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id, 72)
    webhooks.flush()

    (payment,) = staff_client.get(url(posted)).json()["payments"]

    assert (payment["amount"], payment["recordedBy"], payment["recordedInKadouri"]) == ("72.00", "in QuickBooks", False)


def test_anonymous_is_401(client, posted):
    assert client.get(url(posted)).status_code == 401


def test_a_cad_buyers_payment_is_recorded_in_cad_at_the_invoices_rate(staff_client, qbo, buyer, order_factory):
    buyer.currency = "CAD"
    buyer.save()
    multi = COMPANIES["multi_currency"]
    connect_company(qbo, multi)
    order = order_factory()
    assert (
        staff_client.post(
            f"/api/quickbooks/sync/order/{order.pk}",
            data=json.dumps({"docType": "invoice"}),
            content_type="application/json",
        ).status_code
        == 200
    )

    usd = post(staff_client, order, {"amount": "100.00", "currency": "USD"})
    response = post(staff_client, order, {"amount": "100.00", "currency": "CAD"})

    assert usd.status_code == 422 and "is in CAD" in usd.json()["error"]
    assert response.status_code == 200, response.json()
    (invoice,) = entities(qbo, "Invoice", multi)
    (payment,) = entities(qbo, "Payment", multi)
    assert payment["CurrencyRef"]["value"] == "CAD" and payment["ExchangeRate"] == invoice["ExchangeRate"]
    assert response.json()["money"]["open"] == "372.00"
    assert response.json()["payment"]["amount"] == "100.00"
