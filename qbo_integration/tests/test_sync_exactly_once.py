"""Exactly once: concurrent clicks, a dropped connection after QuickBooks committed, a worker that died.
CI runs these on PostgreSQL (row locks); on SQLite they still run and must hold (SQLite serializes writers)."""

import json
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from qbo_integration import mapping, tasks
from qbo_integration.client.errors import QboTransientError
from qbo_integration.connection import calls
from qbo_integration.models import QboSyncJob
from qbo_integration.outbound.requests import enqueue_order_job, order_push_request
from qbo_integration.outbox.jobs import STUCK_AFTER, claim
from qbo_integration.refs.ensure import ensure_refs, refs_for_order
from qbo_integration.testing import REALM_ID

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
                f"/api/quickbooks/sync/order/{order.pk}", data=json.dumps(body or {}), content_type="application/json"
            )
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
def test_it_creates_exactly_one_invoice_for_20_concurrent_requests(
    qbo_connected, order_factory, django_user_model, settings
):
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
    order_push_request(order=order, doc_type="invoice", by=staff_user)
    users = [django_user_model.objects.create_user(f"clerk{n}", password="x") for n in range(8)]

    statuses = _press_together(users, order, method="DELETE")

    assert set(statuses) <= {200, 202, 409} and statuses.count(200) >= 1, statuses
    assert qbo_connected.count_requests(method="POST", subpath="invoice", status=200) == 2  # create + one void
    order.refresh_from_db()
    assert order.status == "cancelled" and order.activities.filter(activity_type="invoice_voided").count() == 1


@pytest.mark.django_db
def test_it_creates_one_invoice_when_the_connection_drops_after_quickbooks_committed(
    staff_client, qbo_connected, order_factory
):
    order = order_factory()
    qbo_connected.add_fault("drop", method="POST", path="/invoice$")

    response = staff_client.post(
        f"/api/quickbooks/sync/order/{order.pk}", data={"docType": "invoice"}, content_type="application/json"
    )

    assert response.status_code == 202  # the click's one try lost its answer: the worker retries
    job = QboSyncJob.objects.get()
    assert (job.state, job.in_doubt) == ("pending", True)
    QboSyncJob.objects.filter(pk=job.pk).update(not_before=timezone.now() - timedelta(seconds=1))
    tasks.qbo_drain_due_jobs()

    job.refresh_from_db()
    assert job.state == "done"
    (invoice,) = entities(qbo_connected, "Invoice")
    order.refresh_from_db()
    assert order.qbo_doc_id == invoice["Id"]
    # The retry looked the DocNumber up and adopted the committed invoice instead of creating again.
    assert qbo_connected.count_requests(method="POST", subpath="invoice") == 1
    assert order.activities.filter(activity_type="invoice_created").count() == 1


@pytest.mark.django_db
class LookupsFailAfterTheCreate:
    """Once QuickBooks has run the invoice create, the next `count` queries answer 503."""

    def __init__(self, emu, count: int):
        self.handle, self.count, self.created = emu.handle, count, False

    def __call__(self, method, path, headers=None, body=b""):
        if method == "POST" and path.split("?")[0].endswith("/invoice"):
            self.created = True
        elif self.created and self.count and path.split("?")[0].endswith("/query"):
            self.count -= 1
            return 503, {"Content-Type": "text/plain"}, b"Service Unavailable"
        return self.handle(method, path, headers, body)


def test_it_adopts_the_committed_invoice_when_the_retry_comes_much_later(
    staff_client, qbo_connected, order_factory, monkeypatch
):
    order = order_factory()
    qbo_connected.add_fault("drop", method="POST", path="/invoice$")
    # The look-ups of the worker's next three tries fail too. (Before the create, nothing would be in doubt.)
    monkeypatch.setattr(qbo_connected, "handle", LookupsFailAfterTheCreate(qbo_connected, count=3))

    response = staff_client.post(
        f"/api/quickbooks/sync/order/{order.pk}", data={"docType": "invoice"}, content_type="application/json"
    )

    assert response.status_code == 202
    job = QboSyncJob.objects.get()
    assert job.in_doubt
    states = []
    for _ in range(4):  # the worker's tries, each when the job is due
        QboSyncJob.objects.filter(pk=job.pk).update(not_before=timezone.now() - timedelta(seconds=1))
        tasks.qbo_drain_due_jobs()
        job.refresh_from_db()
        states.append(job.state)

    assert states == ["pending", "pending", "pending", "done"] and job.attempts == 5
    assert len(entities(qbo_connected, "Invoice")) == 1
    assert qbo_connected.count_requests(method="POST", subpath="invoice") == 1


@pytest.mark.django_db
def test_it_reuses_the_request_id_and_reclaims_a_job_whose_worker_died(
    staff_client, qbo_connected, order_factory, staff_user
):
    order = order_factory()
    job, created = enqueue_order_job(order=order, action=QboSyncJob.Action.CREATE_INVOICE, by=staff_user, ip=None)
    again, created_again = enqueue_order_job(
        order=order, action=QboSyncJob.Action.CREATE_INVOICE, by=staff_user, ip=None
    )
    assert created and not created_again and again.pk == job.pk  # a double click joins the same job
    # A worker claimed it, sent the invoice, and died before recording the outcome.
    assert claim(job.pk)
    customer_id, item_ids = refs_for_order(order)
    payload = mapping.sales_document_payload(order, customer_id=customer_id, item_ids=item_ids, term_id="3")
    calls.create("Invoice", payload, request_id=job.request_id)
    QboSyncJob.objects.filter(pk=job.pk).update(claimed_at=timezone.now() - STUCK_AFTER - timedelta(seconds=5))

    tasks.qbo_drain_due_jobs()

    job.refresh_from_db()
    assert job.state == "done" and job.in_doubt and job.attempts == 2
    assert len(entities(qbo_connected, "Invoice")) == 1 and len(entities(qbo_connected, "Customer")) == 1
    assert qbo_connected.count_requests(method="POST", subpath="invoice") == 1  # adopted by DocNumber, not re-sent


def _created_then_lost(qbo_connected, order, staff_user) -> QboSyncJob:
    """A try that created the invoice in QuickBooks and lost the answer (its job is queued, in doubt)."""

    job, _ = enqueue_order_job(order=order, action=QboSyncJob.Action.CREATE_INVOICE, by=staff_user, ip=None)
    assert claim(job.pk)
    customer_id, item_ids = refs_for_order(order)
    payload = mapping.sales_document_payload(order, customer_id=customer_id, item_ids=item_ids, term_id="3")
    invoice = calls.create("Invoice", payload, request_id=job.request_id)
    QboSyncJob.objects.filter(pk=job.pk).update(
        state="pending", in_doubt=True, not_before=timezone.now() - timedelta(seconds=1)
    )
    return invoice


@pytest.mark.django_db
@pytest.mark.parametrize(
    "bookkeeping, status, payment, entry",
    [
        ("full", "paid", "paid", "payment_received"),
        ("partial", "posted_to_qb", "partial", "payment_received"),
        ("void", "cancelled", "unpaid", "invoice_voided"),
    ],
)
def test_an_adopted_invoice_brings_what_the_bookkeeper_did_meanwhile(
    qbo_connected, order_factory, staff_user, bookkeeping, status, payment, entry
):
    """Found by the soak: the bookkeeper paid (or voided) an invoice whose creation Kadouri had not heard back
    about; the retry adopted it by DocNumber with its current version, so neither webhooks (ignored: unknown
    invoice then) nor catch-up (same version) ever moved the order — it stayed `posted` with a zero balance,
    and a voided one failed the job as "another customer or amount"."""
    order = order_factory()
    invoice = _created_then_lost(qbo_connected, order, staff_user)
    if bookkeeping == "void":
        qbo_connected.void_invoice("9130350000000001", invoice["Id"])
    else:
        qbo_connected.record_payment("9130350000000001", invoice["Id"], None if bookkeeping == "full" else 5)

    tasks.qbo_drain_due_jobs()

    order.refresh_from_db()
    assert QboSyncJob.objects.get(order=order).state == "done"
    assert (order.status, order.qbo_doc_id) == (status, invoice["Id"])
    if bookkeeping != "void":
        assert order.payment_status == payment
    kinds = list(order.activities.order_by("id").values_list("activity_type", flat=True))
    assert kinds.count("invoice_created") == 1 and entry in kinds
    assert kinds.index("invoice_created") < kinds.index(entry)
    assert len(entities(qbo_connected, "Invoice")) == 1


class AnotherPushCreatesFirst:
    """Another push wins the race: just before our first batch that creates customers or items reaches
    QuickBooks, the same records are created through the emulator's own API (after our name look-up)."""

    def __init__(self, emu):
        self.emu, self.handle, self.created = emu, emu.handle, []

    def __call__(self, method, path, headers=None, body=b""):
        text = body.decode() if isinstance(body, bytes) else (body or "")
        if not self.created and path.split("?")[0].endswith("/batch") and '"operation": "create"' in text:
            for item in json.loads(text)["BatchItemRequest"]:
                entity = next(key for key in ("Customer", "Item") if key in item)
                status, payload = self.emu.api.handle(
                    REALM_ID, "POST", entity.lower(), {}, json.dumps(item[entity]).encode()
                )
                assert status == 200, payload
                self.created.append(payload[entity]["Id"])
        return self.handle(method, path, headers, body)


@pytest.mark.django_db
def test_a_customer_created_by_a_concurrent_push_is_linked_not_refused(
    qbo_connected, order_factory, staff_user, monkeypatch
):
    """Found by the soak: two orders of a new buyer pushed at once both looked the name up (absent), one created
    the customer, the other's create answered 6240 and its job failed for good ("probably inactive")."""
    order = order_factory()
    race = AnotherPushCreatesFirst(qbo_connected)
    monkeypatch.setattr(qbo_connected, "handle", race)

    job = order_push_request(order=order, doc_type="invoice", by=staff_user)

    assert len(race.created) == 3  # the customer and both items existed before our create batch arrived
    assert job.state == "done", job.last_error
    assert len(entities(qbo_connected, "Customer")) == 1 and len(entities(qbo_connected, "Item")) == 2
    order.buyer.refresh_from_db()
    assert order.buyer.qbo_customer_id == entities(qbo_connected, "Customer")[0]["Id"]


def _create_failed_in_doubt(qbo_connected, order, staff_user) -> QboSyncJob:
    """QuickBooks committed the invoice but every answer was lost, until the job gave up (failed, in doubt)."""

    job, _ = enqueue_order_job(order=order, action=QboSyncJob.Action.CREATE_INVOICE, by=staff_user, ip=None)
    assert claim(job.pk)
    customer_id, item_ids = refs_for_order(order)
    payload = mapping.sales_document_payload(order, customer_id=customer_id, item_ids=item_ids, term_id="3")
    calls.create("Invoice", payload, request_id=job.request_id)
    QboSyncJob.objects.filter(pk=job.pk).update(state="failed", in_doubt=True, last_error="Gave up after 8 attempts.")
    qbo_connected.clear_requests()
    return job


@pytest.mark.django_db
def test_a_new_create_adopts_the_invoice_an_earlier_failed_in_doubt_job_created(
    staff_client, qbo_connected, order_factory, staff_user
):
    order = order_factory()
    failed = _create_failed_in_doubt(qbo_connected, order, staff_user)

    response = staff_client.post(
        f"/api/quickbooks/sync/order/{order.pk}", data={"docType": "invoice"}, content_type="application/json"
    )

    assert response.status_code == 200
    assert QboSyncJob.objects.exclude(pk=failed.pk).get().attempts == 1  # a new job, not a retry of the old one
    (invoice,) = entities(qbo_connected, "Invoice")
    order.refresh_from_db()
    assert order.qbo_doc_id == invoice["Id"]
    # Looked up by DocNumber before creating: nothing was sent to be refused as a duplicate.
    assert qbo_connected.count_requests(method="POST", subpath="invoice") == 0


@pytest.mark.django_db
def test_a_create_after_an_edit_refuses_when_the_invoice_with_that_number_does_not_match(
    staff_client, qbo_connected, order_factory, staff_user
):
    from decimal import Decimal

    from orders.services import LineInput, order_update

    order = order_factory()
    _create_failed_in_doubt(qbo_connected, order, staff_user)
    lines = [LineInput(product=line.product, quantity=line.quantity + Decimal("2")) for line in order.lines.all()]
    order = order_update(order_id=order.pk, fields={}, lines=lines, by=staff_user)  # a new version, a new total

    response = staff_client.post(
        f"/api/quickbooks/sync/order/{order.pk}", data={"docType": "invoice"}, content_type="application/json"
    )

    assert response.status_code == 502
    assert f"QuickBooks already has invoice #{order.number}" in response.json()["error"]
    assert qbo_connected.count_requests(method="POST", subpath="invoice") == 0
    assert len(entities(qbo_connected, "Invoice")) == 1


@pytest.mark.django_db
def test_a_customer_created_without_an_answer_and_renamed_meanwhile_is_not_created_twice(
    qbo_connected, order_factory, staff_user
):
    from conftest import make_account

    order = order_factory()
    other = make_account("Other Buyer", "OTB")
    # A bulk push's batch creates both buyers and the products; QuickBooks commits it, but no answer ever
    # arrives (every in-request retry is dropped too), as when a worker dies mid-request.
    qbo_connected.add_fault("drop", method="POST", path=r"/batch", count=10, body=r'"operation": "create"')
    with pytest.raises(QboTransientError):
        ensure_refs(accounts=[order.buyer, other], products=[line.product for line in order.lines.all()])
    qbo_connected.clear_faults()
    customer = next(c for c in entities(qbo_connected, "Customer") if c["DisplayName"] == order.buyer.name)
    qbo_connected.rename_customer("9130350000000001", customer["Id"], "Renamed By The Bookkeeper")

    job = order_push_request(order=order, doc_type="invoice", by=staff_user)  # the order's own retry

    assert job.state == "done"
    assert len(entities(qbo_connected, "Customer")) == 2  # the buyer's customer (renamed) and the other buyer's
