"""The broker's own books when the worker running a bulk push is killed
(docs/quickbooks/beyond.md#the-brokers-own-books, docs/multi-machine.md#proving-it): the invoices it created and
recorded before it died, their jobs never closed, still get their bill to the seller when the push is resumed —
nothing is lost with the process."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from qbo_integration import mapping
from qbo_integration.bulk.push import bulk_push_run
from qbo_integration.connection import calls
from qbo_integration.models import BulkPush, QboSyncJob
from qbo_integration.outbound.record import mark_created
from qbo_integration.outbound.requests import enqueue_order_job
from qbo_integration.outbox.jobs import STUCK_AFTER, claim
from qbo_integration.refs.accounts import term_id_for
from qbo_integration.refs.ensure import refs_for_order

from .broker_support import (
    BROKER,
    PROCEEDS,
    books,  # noqa: F401  (fixture)
    entities,
    run_broker_jobs,
)

pytestmark = pytest.mark.django_db


def _killed_after_recording(bulk: BulkPush, orders, *, recorded: int) -> None:
    """What a SIGKILLed push leaves: the push and its jobs `running` with a stale heartbeat, and its first
    invoices created in QuickBooks and recorded on their orders, their jobs never closed."""
    long_ago = timezone.now() - STUCK_AFTER - timedelta(seconds=5)
    BulkPush.objects.filter(pk=bulk.pk).update(
        state="running", started_at=long_ago, heartbeat_at=long_ago, total=len(orders)
    )
    for order in orders:
        job, _ = enqueue_order_job(order=order, action="create_invoice", by=None, ip=None, bulk=bulk)
        assert claim(job.pk)
    QboSyncJob.objects.filter(bulk_push=bulk).update(claimed_at=long_ago)
    for order in orders[:recorded]:
        job = QboSyncJob.objects.get(order=order)
        customer_id, item_ids = refs_for_order(order)
        payload = mapping.sales_document_payload(
            order, customer_id=customer_id, item_ids=item_ids, term_id=term_id_for(order)
        )
        mark_created(job, calls.create("Invoice", payload, request_id=job.request_id), "invoice", "")


def test_invoices_recorded_before_the_push_was_killed_get_their_bill_when_it_resumes(books, order_factory):
    orders = [order_factory(ready_to_push=True) for _ in range(4)]
    bulk = BulkPush.objects.create(total=0)
    _killed_after_recording(bulk, orders, recorded=2)

    resumed = bulk_push_run(bulk_id=bulk.pk)
    jobs = run_broker_jobs()

    assert (resumed.state, resumed.succeeded, resumed.failed) == ("done", 4, 0)
    assert len(entities(books, "Invoice")) == 4
    assert [j.state for j in jobs] == ["done"] * 4
    assert sorted(j.order_id for j in jobs) == sorted(o.pk for o in orders)
    bills = entities(books, "Bill")
    assert sorted(b["DocNumber"] for b in bills) == sorted(o.number for o in orders)
    assert all(Decimal(str(b["TotalAmt"])) == PROCEEDS for b in bills)
    assert not QboSyncJob.objects.exclude(state="done").exists()
    assert QboSyncJob.objects.filter(action=BROKER).count() == 4  # one each: the resume recorded none twice
