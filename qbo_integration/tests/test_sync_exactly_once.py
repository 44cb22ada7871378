"""Exactly once: concurrent clicks, a dropped connection after QuickBooks committed, a worker that died.
CI runs these on PostgreSQL (row locks); on SQLite they still run and must hold (SQLite serializes writers)."""

import json
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from qbo_integration import sync, tasks
from qbo_integration.models import QboSyncJob

from .conftest import entities

CONCURRENT = 20


def _press_together(users, order, method="POST", body=None) -> list[int]:
    barrier = threading.Barrier(len(users))
    statuses: list[int] = []

    def press(user):
        client = Client()
        client.force_login(user)
        try:
            barrier.wait()
            response = getattr(client, method.lower())(
                f"/api/quickbooks/sync/order/{order.pk}", data=json.dumps(body or {}), content_type="application/json")
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=press, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return statuses


@pytest.mark.django_db(transaction=True)
def test_it_creates_exactly_one_invoice_for_20_concurrent_requests(qbo_connected, order_factory, django_user_model, settings):
    settings.QBO_INLINE_RETRY_DELAYS = (0.05, 0.1)
    order = order_factory()
    users = [django_user_model.objects.create_user(f"clerk{n}", password="x") for n in range(CONCURRENT)]

    statuses = _press_together(users, order, body={"docType": "invoice"})

    assert len(statuses) == CONCURRENT and set(statuses) <= {200, 202, 409}, statuses
    assert statuses.count(200) >= 1
    assert len(entities(qbo_connected, "Invoice")) == 1
    assert len(entities(qbo_connected, "Customer")) == 1 and len(entities(qbo_connected, "Item")) == 2
    assert qbo_connected.count_requests(method="POST", subpath="invoice") == 1
    order.refresh_from_db()
    assert order.status == "posted_to_qb"
    assert order.activities.filter(activity_type="invoice_created").count() == 1
    assert QboSyncJob.objects.filter(order=order).count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_voids_once_for_concurrent_void_requests(qbo_connected, order_factory, django_user_model, staff_user):
    order = order_factory()
    sync.order_push_request(order=order, doc_type="invoice", by=staff_user)
    users = [django_user_model.objects.create_user(f"clerk{n}", password="x") for n in range(8)]

    statuses = _press_together(users, order, method="DELETE")

    assert set(statuses) <= {200, 202, 409} and statuses.count(200) >= 1, statuses
    assert qbo_connected.count_requests(method="POST", subpath="invoice", status=200) == 2  # create + one void
    order.refresh_from_db()
    assert order.status == "cancelled" and order.activities.filter(activity_type="invoice_voided").count() == 1


@pytest.mark.django_db
def test_it_creates_one_invoice_when_the_connection_drops_after_quickbooks_committed(staff_client, qbo_connected, order_factory):
    order = order_factory()
    qbo_connected.add_fault("drop", method="POST", path="/invoice$")

    response = staff_client.post(f"/api/quickbooks/sync/order/{order.pk}", data={"docType": "invoice"},
                                 content_type="application/json")

    assert response.status_code == 200
    invoice, = entities(qbo_connected, "Invoice")
    order.refresh_from_db()
    assert order.qbo_doc_id == invoice["Id"]
    # The retry looked the DocNumber up and adopted the committed invoice instead of creating again.
    assert qbo_connected.count_requests(method="POST", subpath="invoice") == 1
    assert order.activities.filter(activity_type="invoice_created").count() == 1


@pytest.mark.django_db
def test_it_adopts_the_committed_invoice_when_the_retry_comes_much_later(staff_client, qbo_connected, order_factory):
    order = order_factory()
    qbo_connected.add_fault("drop", method="POST", path="/invoice$")
    qbo_connected.add_fault("503", method="POST", path="/query$", count=3)  # the look-ups fail too: queued

    response = staff_client.post(f"/api/quickbooks/sync/order/{order.pk}", data={"docType": "invoice"},
                                 content_type="application/json")

    assert response.status_code == 202
    job = QboSyncJob.objects.get()
    assert job.in_doubt
    QboSyncJob.objects.filter(pk=job.pk).update(not_before=timezone.now() - timedelta(seconds=1))
    tasks.qbo_drain_due_jobs()

    job.refresh_from_db()
    assert job.state == "done"
    assert len(entities(qbo_connected, "Invoice")) == 1
    assert qbo_connected.count_requests(method="POST", subpath="invoice") == 1


@pytest.mark.django_db
def test_it_reuses_the_request_id_and_reclaims_a_job_whose_worker_died(staff_client, qbo_connected, order_factory, staff_user):
    order = order_factory()
    job, created = sync._enqueue_order_job(order=order, action=QboSyncJob.Action.CREATE_INVOICE, by=staff_user, ip=None)
    again, created_again = sync._enqueue_order_job(order=order, action=QboSyncJob.Action.CREATE_INVOICE, by=staff_user, ip=None)
    assert created and not created_again and again.pk == job.pk  # a double click joins the same job
    # A worker claimed it, sent the invoice, and died before recording the outcome.
    assert sync._claim(job.pk)
    from qbo_integration import client, mapping
    customer_id, item_ids = sync._refs_for_order(order)
    payload = mapping.sales_document_payload(order, customer_id=customer_id, item_ids=item_ids, term_id="3")
    client.create("Invoice", payload, request_id=job.request_id)
    QboSyncJob.objects.filter(pk=job.pk).update(claimed_at=timezone.now() - timedelta(minutes=11))

    tasks.qbo_drain_due_jobs()

    job.refresh_from_db()
    assert job.state == "done" and job.in_doubt and job.attempts == 2
    assert len(entities(qbo_connected, "Invoice")) == 1 and len(entities(qbo_connected, "Customer")) == 1
    assert qbo_connected.count_requests(method="POST", subpath="invoice") == 1  # adopted by DocNumber, not re-sent
