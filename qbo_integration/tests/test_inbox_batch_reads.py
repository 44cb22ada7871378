"""The inbox reads what a batch of events needs with one query per entity and page of ids, not one read per event:
requests counted in the emulator's log, the outcome on the orders, accounts and products."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from orders.models import Order, OrderActivity
from products.models import Product
from qbo_integration.connection import calls
from qbo_integration.inbound import inbox
from qbo_integration.models import QboWebhookEvent
from qbo_integration.reads import QUERY_MAX_CHARS, QUERY_MAX_RESULTS, id_pages, quoted
from qbo_integration.testing import REALM_ID

from .inbound_support import entities, invoiced, posted, webhooks  # noqa: F401

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def doorbell(entity: str, entity_id: str, *, at: datetime = T0, key: str = "", **fields) -> QboWebhookEvent:
    """An event as the intake stores a webhook's (its delivery lost in the emulator, or held for the test)."""
    return QboWebhookEvent.objects.create(
        dedupe_key=key or f"legacy:{entity}:{entity_id}:{at.isoformat()}",
        source=fields.pop("source", "legacy"),
        realm_id=REALM_ID,
        entity=entity,
        entity_id=str(entity_id),
        operation=fields.pop("operation", "Update"),
        occurred_at=at,
        **fields,
    )


def queried_entities(emu, monkeypatch) -> list[str]:
    """The entity of every query the emulator answers, in order."""
    seen: list[str] = []
    handle = emu.handle

    def watching(method, path_with_query, headers=None, body=b"", slot=None):
        text = body.decode() if isinstance(body, bytes) else str(body or "")
        if "/query" in path_with_query and (found := re.search(r"from (\w+) ", text)):
            seen.append(found[1])
        return handle(method, path_with_query, headers, body, slot)

    monkeypatch.setattr(emu, "handle", watching)
    return seen


def reads_by_id(emu) -> list[str]:
    return [r["subpath"] for r in emu.requests(method="GET", path="/v3/company/")]


@pytest.fixture
def paid_quietly(webhooks, order_factory, staff_user):
    """Orders whose invoices a bookkeeper paid in QuickBooks while their webhooks were lost."""

    def make(count: int) -> list[Order]:
        orders = [invoiced(order_factory(), by=staff_user) for _ in range(count)]
        webhooks.flush()
        webhooks.emu.configure_webhooks(drop_rate=1.0)
        for order in orders:
            webhooks.emu.record_payment(REALM_ID, order.qbo_doc_id)
        webhooks.flush()
        webhooks.emu.configure_webhooks(drop_rate=0.0)
        webhooks.emu.clear_requests()
        return orders

    return make


@pytest.mark.parametrize("batch", [1000, 4])
def test_n_events_of_one_entity_cost_one_query_per_batch_page(paid_quietly, webhooks, settings, batch):
    settings.QBO_INBOX_BATCH = batch
    orders = paid_quietly(10)
    for n, order in enumerate(orders):
        doorbell("Invoice", order.qbo_doc_id, at=T0 + timedelta(seconds=n))

    assert inbox.inbox_process_realm(realm_id=REALM_ID) == 10

    assert webhooks.emu.count_requests(subpath="query") == math.ceil(10 / batch)
    assert reads_by_id(webhooks.emu) == []
    assert {o.status for o in Order.objects.filter(pk__in=[o.pk for o in orders])} == {Order.Status.PAID}
    assert set(QboWebhookEvent.objects.values_list("status", flat=True)) == {"done"}


def test_ids_are_paged_by_count_and_by_query_length():
    short = [str(n) for n in range(1, 2501)]
    assert [len(page) for page in id_pages(short)] == [QUERY_MAX_RESULTS, QUERY_MAX_RESULTS, 500]

    long = [f"{n:032d}" for n in range(600)]  # ids are opaque strings: a company could have long ones
    head = "select * from Invoice where Id in ("
    pages = id_pages(long, prefix_chars=len(head) + 20)
    assert [i for page in pages for i in page] == long and len(pages) > 1
    assert all(len(head) + 20 + len(", ".join(map(quoted, page))) <= QUERY_MAX_CHARS for page in pages)


def test_mixed_entities_are_read_with_one_query_each(webhooks, posted, apples, monkeypatch):
    emu = webhooks.emu
    customer_id, item_id = posted.buyer.qbo_customer_id, Product.objects.get(pk=apples.pk).qbo_item_id
    emu.rename_customer(REALM_ID, customer_id, "Harbor Fresh West")
    emu.set_item_active(REALM_ID, item_id, False)  # an inactive item: a plain query would leave it out
    emu.record_payment(REALM_ID, posted.qbo_doc_id)
    emu.clear_requests()
    queried = queried_entities(emu, monkeypatch)

    webhooks.flush()  # one delivery: the customer, the item, the payment and the invoice it paid

    assert sorted(queried) == ["Customer", "Invoice", "Item", "Payment"]
    assert queried.index("Payment") < queried.index("Invoice")  # an invoice is never older than its payment
    assert reads_by_id(emu) == []
    posted.refresh_from_db()
    apples.refresh_from_db()
    assert posted.status == Order.Status.PAID and posted.buyer.name == "Harbor Fresh West"
    assert (apples.qbo_item_id, apples.active) == (None, False)
    assert set(QboWebhookEvent.objects.values_list("status", flat=True)) == {"done"}


def test_an_id_missing_from_the_answer_is_read_on_its_own(paid_quietly, webhooks, order_factory, staff_user):
    deleted = invoiced(order_factory(), by=staff_user)
    (kept,) = paid_quietly(1)
    webhooks.emu.configure_webhooks(drop_rate=1.0)
    webhooks.emu.delete_invoice(REALM_ID, deleted.qbo_doc_id)
    webhooks.flush()
    webhooks.emu.clear_requests()
    doorbell("Invoice", kept.qbo_doc_id)
    doorbell("Invoice", deleted.qbo_doc_id, at=T0 + timedelta(seconds=1), operation="Delete")

    inbox.inbox_process_realm(realm_id=REALM_ID)

    assert webhooks.emu.count_requests(subpath="query") == 1
    assert reads_by_id(webhooks.emu) == [f"invoice/{deleted.qbo_doc_id}"]  # answered 610: gone
    kept.refresh_from_db()
    deleted.refresh_from_db()
    assert kept.status == Order.Status.PAID
    assert (deleted.status, deleted.qbo_doc_state) == (Order.Status.CANCELLED, "Deleted")


def test_events_of_one_document_are_applied_in_the_order_they_happened(webhooks, posted):
    emu = webhooks.emu
    emu.configure_webhooks(drop_rate=1.0)
    emu.record_payment(REALM_ID, posted.qbo_doc_id, 100)
    partly_paid = calls.read("Invoice", posted.qbo_doc_id)  # what a catch-up stored: the invoice at that moment
    emu.record_payment(REALM_ID, posted.qbo_doc_id)
    webhooks.flush()
    emu.clear_requests()
    # Stored in the other order: the webhook of the second change first, the catch-up's snapshot of the first after.
    later = doorbell("Invoice", posted.qbo_doc_id, at=T0 + timedelta(seconds=5))
    earlier = doorbell("Invoice", posted.qbo_doc_id, at=T0, source="cdc", raw=partly_paid, key="cdc:1")

    inbox.inbox_process_realm(realm_id=REALM_ID)

    assert earlier.pk > later.pk
    assert [d.split(" - ")[-1] for d in activity(posted, OrderActivity.Type.PAYMENT_RECEIVED)] == [
        f"invoice #{posted.number} is partially paid, balance $372.00 of $472.00",
        f"Invoice marked as PAID (invoice #{posted.number}: $472.00 paid in full)",
    ]
    assert emu.count_requests(subpath="query") == 1 and reads_by_id(emu) == []


def activity(order: Order, activity_type: str) -> list[str]:
    return list(
        order.activities.filter(activity_type=activity_type).order_by("id").values_list("description", flat=True)
    )


def test_an_event_arriving_while_a_batch_is_processed_is_read_again_after_it(webhooks, posted, monkeypatch):
    emu = webhooks.emu
    emu.configure_webhooks(drop_rate=1.0)
    emu.record_payment(REALM_ID, posted.qbo_doc_id, 100)
    webhooks.flush()
    emu.configure_webhooks(drop_rate=0.0)
    first = doorbell("Invoice", posted.qbo_doc_id)
    handle, state = emu.handle, {"answered": 0}

    def pays_the_rest_once_answered(method, path_with_query, headers=None, body=b"", slot=None):
        answer = handle(method, path_with_query, headers, body, slot)
        if "/query" in path_with_query and not state["answered"]:
            state["answered"] += 1  # the batch has its answer; the bookkeeper pays the rest, its webhook arrives
            emu.record_payment(REALM_ID, posted.qbo_doc_id)
            webhooks.flush()
        return answer

    monkeypatch.setattr(emu, "handle", pays_the_rest_once_answered)
    emu.clear_requests()

    inbox.inbox_process_realm(realm_id=REALM_ID)

    first.refresh_from_db()
    assert first.status == "done" and "partially paid" in first.result  # what the batch's answer said
    arrived = QboWebhookEvent.objects.filter(pk__gt=first.pk)
    assert {e.entity for e in arrived} == {"Payment", "Invoice"}
    assert all(e.status == "done" and not e.result.startswith("Covered by") for e in arrived)
    posted.refresh_from_db()
    assert (posted.status, posted.qbo_balance) == (Order.Status.PAID, Decimal("0.00"))
    assert emu.count_requests(subpath="query") == 3  # the first batch's invoice; the payment and its invoice after


def test_a_failed_batch_query_retries_its_events_without_a_read_each(paid_quietly, webhooks):
    orders = paid_quietly(3)
    for n, order in enumerate(orders):
        doorbell("Invoice", order.qbo_doc_id, at=T0 + timedelta(seconds=n))
    webhooks.emu.add_fault("503", method="POST", path=r"/query", count=1)

    inbox.inbox_process_realm(realm_id=REALM_ID)

    assert webhooks.emu.count_requests(subpath="query") == 1 and reads_by_id(webhooks.emu) == []
    events = list(QboWebhookEvent.objects.filter(entity="Invoice", status="pending"))
    assert len(events) == 3 and all(e.attempts == 1 and e.last_error.startswith("transient") for e in events)

    QboWebhookEvent.objects.filter(status="pending").update(not_before=T0)
    inbox.inbox_process_due()
    assert {o.status for o in Order.objects.filter(pk__in=[o.pk for o in orders])} == {Order.Status.PAID}
