"""The delivery JSON API (views/delivery_api.py): email, PDF and online payment, each with its refusals — a draft,
a voided invoice, a bad address, a company without online payments, no connection, not logged in — answered with a
clear 4xx JSON reason and nothing changed."""

import json

import pytest
from django.test import Client

from qbo_integration.models import QboConnection, QboSyncJob
from qbo_integration.testing import REALM_ID, connect_company

from .inbound_support import entities, invoiced, posted, webhooks  # noqa: F401

pytestmark = pytest.mark.django_db

SIMPLE_START = "9130350000000010"


def url(order, what: str) -> str:
    return f"/api/quickbooks/sync/order/{order.pk}/{what}"


def post(client, order, what: str, body=None, **headers):
    return client.post(url(order, what), json.dumps(body or {}), content_type="application/json", headers=headers)


def test_email_mails_the_buyer_and_answers_the_delivery(staff_client, posted, qbo_connected):
    answer = post(staff_client, posted, "email", {"to": "ap@harbor.example"}, **{"Idempotency-Key": "k-1"})

    body = answer.json()
    assert answer.status_code == 200, body
    assert body["job"]["action"] == "send_document" and body["job"]["state"] == "done"
    assert body["delivery"]["emailedTo"] == "ap@harbor.example" and body["delivery"]["emailStatus"] == "EmailSent"
    assert body["delivery"]["emailedAt"]
    repeat = post(staff_client, posted, "email", {"to": "ap@harbor.example"}, **{"Idempotency-Key": "k-1"})
    assert repeat.json()["job"]["id"] == body["job"]["id"]
    assert len(qbo_connected.sent_mail(REALM_ID)) == 1


@pytest.mark.parametrize("body", [{"to": "nope"}, {}, {"to": ["a@b.example"]}])
def test_a_bad_address_is_422_with_its_field(staff_client, posted, qbo_connected, body):
    answer = post(staff_client, posted, "email", body)

    assert answer.status_code == 422 and answer.json()["field"] == "to"
    assert qbo_connected.sent_mail(REALM_ID) == []


def test_a_body_that_is_not_json_is_400(staff_client, posted):
    answer = staff_client.post(url(posted, "email"), "to=x", content_type="text/plain")

    assert answer.status_code == 400 and "JSON" in answer.json()["error"]


def test_a_draft_and_a_voided_invoice_are_409_with_the_reason(staff_client, posted, order_factory, webhooks):
    draft = order_factory()
    webhooks.emu.void_invoice(REALM_ID, posted.qbo_doc_id)
    webhooks.flush()

    for order, words in ((draft, "is a draft"), (posted, "voided in QuickBooks")):
        for what, body in (("email", {"to": "ap@harbor.example"}), ("pdf", None), ("online-payment", None)):
            answer = post(staff_client, order, what, body or {"card": True, "ach": False})
            assert answer.status_code == 409, (what, answer.json())
            assert words in answer.json()["error"]
        assert staff_client.get(url(order, "pdf")).status_code == 409
    assert webhooks.emu.sent_mail(REALM_ID) == [] and not QboSyncJob.objects.filter(action="fetch_pdf").exists()


def test_not_connected_is_503_and_not_logged_in_is_401(staff_client, posted):
    QboConnection.objects.all().delete()

    assert post(staff_client, posted, "email", {"to": "ap@harbor.example"}).status_code == 503
    assert post(staff_client, posted, "pdf").status_code == 503
    assert Client().post(url(posted, "email"), "{}", content_type="application/json").status_code == 401
    assert Client().get(url(posted, "pdf")).status_code == 401
    assert Client().get("/api/quickbooks/sync/order/99999/pdf").status_code == 401


def test_an_unknown_order_is_404(staff_client):
    assert staff_client.get("/api/quickbooks/sync/order/99999/pdf").status_code == 404


def test_the_pdf_is_404_until_fetched_then_served_as_a_pdf(staff_client, posted, qbo_connected):
    assert staff_client.get(url(posted, "pdf")).status_code == 404

    fetched = post(staff_client, posted, "pdf")
    served = staff_client.get(url(posted, "pdf"))

    assert fetched.status_code == 200 and fetched.json()["delivery"]["pdf"]["filename"].startswith("Invoice-")
    assert served.status_code == 200 and served["Content-Type"] == "application/pdf"
    assert served["Content-Disposition"] == f'attachment; filename="Invoice-{posted.qbo_doc_number}.pdf"'
    assert served.content.startswith(b"%PDF-")


def test_a_pdf_being_prepared_is_202(staff_client, posted, qbo_connected):
    qbo_connected.add_fault("503", method="GET", path="/pdf$")

    fetched = post(staff_client, posted, "pdf")
    asked = staff_client.get(url(posted, "pdf"))

    assert fetched.status_code == 202 and "Preparing the PDF" in fetched.json()["message"]
    assert asked.status_code == 202 and asked.json()["job"]["state"] == "pending"


@pytest.fixture
def online(qbo, db, order_factory, staff_user):
    connect_company(qbo, REALM_ID)
    return invoiced(order_factory(), by=staff_user)


def test_online_payment_answers_quickbooks_link(staff_client, online, qbo):
    answer = post(staff_client, online, "online-payment", {"card": True, "ach": True})

    body = answer.json()
    assert answer.status_code == 200, body
    assert body["delivery"]["onlineCardPayment"] and body["delivery"]["onlineAchPayment"]
    assert body["delivery"]["invoiceLink"] == f"{qbo.base_url}/_emulator/pay/{REALM_ID}/{online.qbo_doc_id}"


@pytest.mark.parametrize("body", [{"card": "yes", "ach": False}, {"card": True}, {}])
def test_online_payment_needs_true_or_false_for_both(staff_client, online, body):
    answer = post(staff_client, online, "online-payment", body)

    assert answer.status_code == 422 and "true or false" in answer.json()["error"]


def test_a_company_without_online_payments_is_422_and_nothing_is_sent(staff_client, qbo, db, order_factory, staff_user):
    connect_company(qbo, SIMPLE_START)
    order = invoiced(order_factory(), by=staff_user)

    answer = post(staff_client, order, "online-payment", {"card": True, "ach": False})

    assert answer.status_code == 422 and "does not accept online payments" in answer.json()["error"]
    (invoice,) = entities(qbo, "Invoice", SIMPLE_START)
    assert "AllowOnlineCreditCardPayment" not in invoice
    assert not QboSyncJob.objects.filter(action="set_online_payment").exists()
