"""Where QuickBooks numbers documents itself (custom transaction numbers off, the …007 company): Kadouri sends no
DocNumber, stores and shows QuickBooks' number, and stays exactly-once through the marker in the private note
(docs/quickbooks.md#quickbooks-numbers-the-documents). The idealised company is the control."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from conftest import make_account, make_order, make_product
from orders.models import Order
from qbo_integration import mapping, tasks
from qbo_integration.bulk.push import bulk_push_run, bulk_push_start
from qbo_integration.connection import calls
from qbo_integration.models import BulkPush, QboSyncJob
from qbo_integration.outbound.requests import enqueue_order_job, order_convert_request, order_push_request
from qbo_integration.outbox.jobs import STUCK_AFTER, claim
from qbo_integration.refs.ensure import refs_for_order
from qbo_integration.testing import COMPANIES, connect_company

from .conftest import entities

AUTO = COMPANIES["auto_numbers"]


@pytest.fixture
def auto(qbo, db):
    connect_company(qbo, AUTO)
    return qbo


def _push(client, order, doc_type="invoice"):
    return client.post(
        f"/api/quickbooks/sync/order/{order.pk}", data={"docType": doc_type}, content_type="application/json"
    )


def _drain_now():
    QboSyncJob.objects.filter(state="pending").update(not_before=timezone.now() - timedelta(seconds=1))
    tasks.qbo_drain_due_jobs()


@pytest.mark.django_db
def test_quickbooks_numbers_the_invoice_and_kadouri_shows_its_number(staff_client, auto, order_factory):
    order = order_factory(notes="Leave at the back door")

    response = _push(staff_client, order)

    assert response.status_code == 200, response.json()
    (invoice,) = entities(auto, "Invoice", AUTO)
    assert invoice["DocNumber"] == "1001"  # QuickBooks' own: Kadouri sent none
    assert invoice["PrivateNote"] == f"Leave at the back door\nKadouri order {order.number} [kadouri:{order.pk}]"
    order.refresh_from_db()
    assert (order.qbo_doc_number, order.status, order.qbo_link_problem) == ("1001", "posted_to_qb", "")
    assert response.json()["order"]["qboDocNumber"] == "1001"
    page = staff_client.get(f"/orders/{order.pk}/").content.decode()
    assert "Invoice 1001 in QuickBooks" in page and f"Order {order.number}" in page
    listing = staff_client.get("/").content.decode()
    assert "Invoice 1001 in QuickBooks" in listing
    assert order.activities.get(activity_type="invoice_created").description.startswith("Invoice #1001 created")


@pytest.mark.django_db
def test_the_idealised_company_still_numbers_with_the_order_number(staff_client, qbo_connected, order_factory):
    order = order_factory()

    assert _push(staff_client, order).status_code == 200

    (invoice,) = entities(qbo_connected, "Invoice")
    assert invoice["DocNumber"] == order.number and "PrivateNote" not in invoice
    assert "in QuickBooks</span>" not in staff_client.get(f"/orders/{order.pk}/").content.decode()


@pytest.mark.django_db
def test_an_update_keeps_quickbooks_number_and_the_marker(staff_client, auto, order_factory, staff_user):
    from orders.services import order_update

    order = order_factory()
    _push(staff_client, order)
    order = order_update(order_id=order.pk, fields={"notes": "re-weighed"}, lines=None, by=staff_user)

    response = staff_client.put(f"/api/quickbooks/sync/order/{order.pk}", content_type="application/json")

    assert response.status_code == 200, response.json()
    (invoice,) = entities(auto, "Invoice", AUTO)
    assert invoice["DocNumber"] == "1001" and invoice["PrivateNote"].endswith(f"[kadouri:{order.pk}]")
    assert invoice["PrivateNote"].startswith("re-weighed\n")
    order.refresh_from_db()
    assert order.qbo_doc_number == "1001" and not order.changed_since_push and not order.qbo_link_problem


@pytest.mark.django_db(transaction=True)
def test_a_double_click_creates_one_invoice(qbo, order_factory, django_user_model):
    connect_company(qbo, AUTO)
    order = order_factory()
    users = [django_user_model.objects.create_user(f"clerk{n}", password="x") for n in range(6)]
    barrier, statuses = threading.Barrier(len(users)), []

    def press(user):
        client = Client()
        client.force_login(user)
        try:
            barrier.wait()
            statuses.append(_push(client, order).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=press, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert set(statuses) <= {200, 202, 409} and statuses.count(200) >= 1, statuses
    assert len(entities(qbo, "Invoice", AUTO)) == 1
    assert qbo.count_requests(method="POST", subpath="invoice") == 1
    order.refresh_from_db()
    assert order.qbo_doc_number == "1001"


@pytest.mark.django_db
def test_a_dropped_answer_after_quickbooks_committed_is_found_by_its_marker(staff_client, auto, order_factory):
    order = order_factory()
    auto.add_fault("drop", method="POST", path="/invoice$")

    assert _push(staff_client, order).status_code == 202
    job = QboSyncJob.objects.get()
    assert job.in_doubt
    _drain_now()

    job.refresh_from_db()
    assert job.state == "done"
    (invoice,) = entities(auto, "Invoice", AUTO)
    order.refresh_from_db()
    assert (order.qbo_doc_id, order.qbo_doc_number) == (invoice["Id"], "1001")
    assert auto.count_requests(method="POST", subpath="invoice") == 1  # found by the marker, not sent again
    assert order.activities.filter(activity_type="invoice_created").count() == 1


@pytest.mark.django_db
def test_a_worker_killed_after_the_create_is_reclaimed_without_a_second_invoice(auto, order_factory, staff_user):
    order = order_factory()
    job, _ = enqueue_order_job(order=order, action=QboSyncJob.Action.CREATE_INVOICE, by=staff_user, ip=None)
    assert claim(job.pk)
    customer_id, item_ids = refs_for_order(order)
    payload = mapping.sales_document_payload(order, customer_id=customer_id, item_ids=item_ids, term_id="3")
    assert "DocNumber" not in payload
    calls.create("Invoice", payload, request_id=job.request_id)  # the worker died before recording it
    QboSyncJob.objects.filter(pk=job.pk).update(claimed_at=timezone.now() - STUCK_AFTER - timedelta(seconds=5))

    tasks.qbo_drain_due_jobs()

    job.refresh_from_db()
    assert job.state == "done" and job.in_doubt
    assert len(entities(auto, "Invoice", AUTO)) == 1
    assert auto.count_requests(method="POST", subpath="invoice") == 1
    order.refresh_from_db()
    assert order.qbo_doc_number == "1001" and order.status == "posted_to_qb"


@pytest.mark.django_db
def test_a_new_click_adopts_what_a_job_that_gave_up_in_doubt_created(staff_client, auto, order_factory, staff_user):
    order = order_factory()
    job, _ = enqueue_order_job(order=order, action=QboSyncJob.Action.CREATE_INVOICE, by=staff_user, ip=None)
    customer_id, item_ids = refs_for_order(order)
    payload = mapping.sales_document_payload(order, customer_id=customer_id, item_ids=item_ids, term_id="3")
    calls.create("Invoice", payload, request_id=job.request_id)
    QboSyncJob.objects.filter(pk=job.pk).update(state="failed", in_doubt=True, last_error="Gave up.")
    # Another order of the same buyer, already in QuickBooks: its invoice is not this order's.
    other = order_factory()
    assert _push(staff_client, other).status_code == 200
    auto.clear_requests()

    response = _push(staff_client, order)

    assert response.status_code == 200, response.json()
    assert auto.count_requests(method="POST", subpath="invoice") == 0
    order.refresh_from_db()
    other.refresh_from_db()
    assert (order.qbo_doc_number, other.qbo_doc_number) == ("1001", "1002")
    assert len(entities(auto, "Invoice", AUTO)) == 2


@pytest.mark.django_db
def test_a_bulk_push_creates_one_invoice_per_order_each_with_quickbooks_number(auto, seller, staff_user):
    buyers = [make_account(f"Buyer {n}", f"B{n}") for n in range(3)]
    products = [make_product(f"Product {n}", f"{n + 1}.25") for n in range(4)]
    orders = [
        make_order(
            seller=seller, buyer=buyers[n % 3], by=staff_user, ready_to_push=True, lines=[(products[n % 4], "2")]
        )
        for n in range(35)
    ]
    # One order's earlier single push reached QuickBooks but its answer was lost.
    lost = orders[7]
    job, _ = enqueue_order_job(order=lost, action=QboSyncJob.Action.CREATE_INVOICE, by=staff_user, ip=None)
    customer_id, item_ids = refs_for_order(lost)
    calls.create(
        "Invoice",
        mapping.sales_document_payload(lost, customer_id=customer_id, item_ids=item_ids, term_id="3"),
        request_id=job.request_id,
    )
    QboSyncJob.objects.filter(pk=job.pk).update(state="failed", in_doubt=True)

    bulk = bulk_push_run(bulk_id=bulk_push_start(by=staff_user).pk)

    assert (bulk.state, bulk.succeeded, bulk.failed) == ("done", 35, 0), bulk.message
    invoices = entities(auto, "Invoice", AUTO)
    assert len(invoices) == 35
    by_id = {i["Id"]: i for i in invoices}
    stored = Order.objects.filter(pk__in=[o.pk for o in orders])
    assert all(by_id[o.qbo_doc_id]["DocNumber"] == o.qbo_doc_number for o in stored)
    assert all(by_id[o.qbo_doc_id]["PrivateNote"].endswith(f"[kadouri:{o.pk}]") for o in stored)
    assert sorted(int(o.qbo_doc_number) for o in stored) == list(range(1001, 1036))
    assert BulkPush.objects.get().state == "done"


@pytest.mark.django_db
def test_an_estimate_converts_into_an_invoice_quickbooks_numbers(staff_client, auto, order_factory, staff_user):
    order = order_factory()
    assert _push(staff_client, order, "estimate").status_code == 200
    order.refresh_from_db()
    assert order.qbo_doc_number == "1001"
    auto.add_fault("drop", method="POST", path="/invoice$")  # the conversion's answer is lost

    job = order_convert_request(order=order, by=staff_user)
    assert job.state == "pending" and job.in_doubt
    _drain_now()

    (invoice,) = entities(auto, "Invoice", AUTO)
    (estimate,) = entities(auto, "Estimate", AUTO)
    assert invoice["DocNumber"] == "1001" and estimate["TxnStatus"] == "Closed"  # each its own sequence
    order.refresh_from_db()
    assert (order.qbo_doc_type, order.qbo_doc_id, order.qbo_doc_number) == ("invoice", invoice["Id"], "1001")
    assert not order.qbo_link_problem and not order.changed_since_push
    converted = order.activities.get(activity_type="estimate_converted").description
    assert converted.startswith("Estimate #1001 converted to Invoice #1001 in QuickBooks by")
    assert auto.count_requests(method="POST", subpath="invoice") == 1


@pytest.mark.django_db
def test_a_bookkeeper_renumbering_the_invoice_is_not_a_wrong_link(staff_client, auto, order_factory, staff_user):
    order = order_factory()
    _push(staff_client, order)
    (invoice,) = entities(auto, "Invoice", AUTO)
    body = {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"], "sparse": True, "DocNumber": "INV-77"}
    status, _ = auto.api.handle(AUTO, "POST", "invoice", {}, json.dumps(body).encode())
    assert status == 200

    response = staff_client.get(f"/api/quickbooks/status/order/{order.pk}")

    assert response.status_code == 200 and response.json()["wrongLink"] is False
    assert response.json()["docNumber"] == "INV-77"


@pytest.fixture
def auto_webhooks(qbo, db, client, django_capture_on_commit_callbacks):
    from django.conf import settings

    from .inbound_support import WEBHOOK, DjangoDeliverer

    connect_company(qbo, AUTO)
    qbo.configure_webhooks(
        url="http://testserver" + WEBHOOK, verifier_token=settings.QBO_WEBHOOK_VERIFIER_TOKEN, format="legacy"
    )
    qbo.webhooks.deliver = DjangoDeliverer(client, django_capture_on_commit_callbacks)
    return qbo


@pytest.mark.django_db
def test_an_estimate_converted_in_quickbooks_is_followed_and_its_payments_reach_the_order(
    auto_webhooks, order_factory, staff_user, admin_client
):
    from qbo_integration.reconcile import reconcile_run

    emu = auto_webhooks
    order = order_factory()
    assert order_push_request(order=order, doc_type="estimate", by=staff_user).state == "done"
    emu.flush_webhooks(force=True)
    (estimate,) = entities(emu, "Estimate", AUTO)
    lines = [ln for ln in estimate["Line"] if ln["DetailType"] == "SalesItemLineDetail"]
    body = {
        "CustomerRef": estimate["CustomerRef"],
        "Line": lines,
        "LinkedTxn": [{"TxnId": estimate["Id"], "TxnType": "Estimate"}],
    }
    status, answer = emu.api.handle(AUTO, "POST", "invoice", {}, json.dumps(body).encode())  # the bookkeeper converts
    assert status == 200

    emu.flush_webhooks(force=True)

    order.refresh_from_db()
    invoice = answer["Invoice"]
    assert (order.qbo_doc_type, order.qbo_doc_id, order.qbo_doc_number) == ("invoice", invoice["Id"], "1001")
    assert not order.qbo_link_problem
    emu.record_payment(AUTO, invoice["Id"])
    emu.flush_webhooks(force=True)
    order.refresh_from_db()
    assert (order.status, order.payment_status, order.qbo_link_problem) == ("paid", "paid", "")
    run = reconcile_run(by=staff_user)
    assert (run.checked, run.rows) == (1, [])  # reconciliation finds the order equal to QuickBooks, no wrong link
