"""Processing inbox events: every handler, against the emulator, delivered through the real endpoint."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from conftest import make_account, make_order
from orders.models import Order, OrderActivity
from orders.services import LineInput, order_update
from qbo_integration import mapping
from qbo_integration.connection import calls as client
from qbo_integration.inbound import inbox
from qbo_integration.models import QboConnection, QboInboxLease, QboWebhookEvent, SyncConflict
from qbo_integration.outbound.requests import order_update_request
from qbo_integration.refs import ensure as sync
from qbo_integration.testing import REALM_ID

from .inbound_support import entities, invoiced, posted, webhooks  # noqa: F401

pytestmark = pytest.mark.django_db


def activities(order, activity_type=None):
    qs = order.activities.order_by("id")
    if activity_type:
        qs = qs.filter(activity_type=activity_type)
    return [a.description for a in qs]


def payment_id_for(emu, invoice_id):
    return next(
        p["Id"]
        for p in entities(emu, "Payment")
        if any(ln["TxnId"] == invoice_id for line in p["Line"] for ln in line.get("LinkedTxn", []))
    )


def test_it_treats_the_invoice_created_by_kadouri_as_an_echo(posted):
    assert activities(posted, OrderActivity.Type.SYNCED_FROM_QB) == []
    assert activities(posted, OrderActivity.Type.PAYMENT_RECEIVED) == []
    assert set(QboWebhookEvent.objects.values_list("status", flat=True)) == {"done"}
    assert not QboWebhookEvent.objects.filter(changed=True).exists()


def test_it_marks_the_order_paid_when_a_payment_settles_the_invoice(webhooks, posted):
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id)
    webhooks.flush()

    posted.refresh_from_db()
    assert (posted.status, posted.payment_status, posted.qbo_balance) == ("paid", "paid", Decimal("0.00"))
    assert activities(posted, OrderActivity.Type.PAYMENT_RECEIVED) == [
        f"Payment received in QuickBooks - Invoice marked as PAID (invoice #{posted.number}: $472.00 paid in full)"
    ]
    assert posted.activities.filter(activity_type="status_changed", user_name="QuickBooks Webhook").exists()
    assert set(webhooks.statuses) == {200}
    assert not QboWebhookEvent.objects.filter(status__in=["pending", "failed"]).exists()


def test_it_records_a_partial_payment_then_the_rest(webhooks, posted):
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id, 100)
    webhooks.flush()
    posted.refresh_from_db()
    assert (posted.status, posted.payment_status, posted.qbo_balance, posted.qbo_total) == (
        "posted_to_qb",
        "partial",
        Decimal("372.00"),
        Decimal("472.00"),
    )
    assert activities(posted, OrderActivity.Type.PAYMENT_RECEIVED) == [
        f"Payment received in QuickBooks - invoice #{posted.number} is partially paid, balance $372.00 of $472.00"
    ]

    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id)
    webhooks.flush()
    posted.refresh_from_db()
    assert (posted.status, posted.payment_status) == ("paid", "paid")


@pytest.mark.parametrize("action, verb", [("delete_payment", "deleted"), ("void_payment", "voided")])
def test_it_makes_a_paid_order_unpaid_when_the_payment_goes_away(webhooks, posted, action, verb):
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id)
    webhooks.flush()
    payment_id = payment_id_for(webhooks.emu, posted.qbo_doc_id)

    getattr(webhooks.emu, action)(REALM_ID, payment_id)
    webhooks.flush()

    posted.refresh_from_db()
    assert (posted.status, posted.payment_status, posted.qbo_balance) == ("posted_to_qb", "unpaid", Decimal("472.00"))
    assert activities(posted, OrderActivity.Type.SYNCED_FROM_QB) == [
        f"Payment {payment_id} {verb} in QuickBooks - invoice #{posted.number} balance is $472.00 of $472.00; "
        "the order is unpaid again"
    ]


def test_it_makes_a_paid_order_partial_when_one_of_two_payments_is_deleted(webhooks, posted):
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id, 72)
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id)
    webhooks.flush()
    first = sorted(p["Id"] for p in entities(webhooks.emu, "Payment"))[0]

    webhooks.emu.delete_payment(REALM_ID, first)
    webhooks.flush()

    posted.refresh_from_db()
    assert (posted.status, posted.payment_status, posted.qbo_balance) == ("posted_to_qb", "partial", Decimal("72.00"))
    assert "partially paid again" in activities(posted, OrderActivity.Type.SYNCED_FROM_QB)[-1]


@pytest.mark.parametrize("action", ["void_invoice", "delete_invoice"])
def test_it_cancels_the_order_when_the_invoice_is_voided_or_deleted(webhooks, posted, action):
    getattr(webhooks.emu, action)(REALM_ID, posted.qbo_doc_id)
    webhooks.flush()

    posted.refresh_from_db()
    assert posted.status == "cancelled"
    assert posted.qbo_doc_state == ("Voided" if action == "void_invoice" else "Deleted")
    voided = activities(posted, OrderActivity.Type.INVOICE_VOIDED)
    assert len(voided) == 1 and voided[0].startswith("Invoice voided in QuickBooks")


def test_it_follows_an_invoice_edited_in_quickbooks(webhooks, posted):
    invoice = client.read("Invoice", posted.qbo_doc_id)
    lines = [line for line in invoice["Line"] if line["DetailType"] == "SalesItemLineDetail"]
    lines[0]["SalesItemLineDetail"]["Qty"] = 12
    lines[0]["Amount"] = 390.0  # 12 × 32.50
    client.update(
        "Invoice",
        {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"], "sparse": True, "Line": lines},
        request_id="bookkeeper-edit-1",
    )
    webhooks.flush()

    posted.refresh_from_db()
    assert (posted.qbo_total, posted.qbo_balance, posted.status) == (
        Decimal("537.00"),
        Decimal("537.00"),
        "posted_to_qb",
    )
    assert activities(posted, OrderActivity.Type.SYNCED_FROM_QB) == [
        f"Invoice #{posted.number} updated in QuickBooks: total $472.00 → $537.00, balance $472.00 → $537.00 (unpaid)"
    ]


def test_it_ignores_the_echo_of_kadouris_own_update(webhooks, posted, staff_user):
    posted.notes = "Deliver to dock 7"
    posted.save()
    job = order_update_request(order=posted, by=staff_user)
    assert job.state == "done"
    webhooks.flush()

    posted.refresh_from_db()
    assert activities(posted, OrderActivity.Type.SYNCED_FROM_QB) == []
    last = QboWebhookEvent.objects.filter(entity="Invoice").latest("id")
    assert last.status == "done" and "already known" in last.result


def test_it_never_moves_an_order_backwards_on_an_older_version(webhooks, posted):
    stale_snapshot = client.read("Invoice", posted.qbo_doc_id)  # SyncToken 0, unpaid
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id)
    webhooks.flush()
    # A late catch-up event carrying the old version arrives after the payment was applied.
    event = QboWebhookEvent.objects.create(
        dedupe_key="cdc:old",
        source="cdc",
        realm_id=REALM_ID,
        entity="Invoice",
        entity_id=posted.qbo_doc_id,
        operation="Update",
        raw=stale_snapshot,
    )

    inbox.inbox_process_realm(realm_id=REALM_ID)

    event.refresh_from_db()
    posted.refresh_from_db()
    assert (posted.status, posted.payment_status) == ("paid", "paid")
    assert event.status == "done" and "skipped an older version" in event.result


def test_it_reaches_the_same_state_whatever_the_delivery_order(webhooks, posted):
    webhooks.emu.configure_webhooks(reorder=True)  # newest first (docs/quickbooks/webhooks.md#delivery)
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id, 100)
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id)
    webhooks.flush()

    posted.refresh_from_db()
    assert (posted.status, posted.payment_status) == ("paid", "paid")
    assert activities(posted, OrderActivity.Type.PAYMENT_RECEIVED) == [
        f"Payment received in QuickBooks - Invoice marked as PAID (invoice #{posted.number}: $472.00 paid in full)"
    ]


def test_it_applies_a_duplicated_delivery_once(webhooks, posted):
    webhooks.emu.configure_webhooks(duplicate_rate=1.0)
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id)
    webhooks.flush()

    assert webhooks.statuses[-2:] == [200, 200]
    posted.refresh_from_db()
    assert len(activities(posted, OrderActivity.Type.PAYMENT_RECEIVED)) == 1
    assert QboWebhookEvent.objects.filter(entity="Payment").count() == 1


def test_it_reflects_the_estimate_state(webhooks, order_factory, staff_user):
    order = invoiced(order_factory(), by=staff_user, doc_type="estimate")
    webhooks.flush()
    estimate = client.read("Estimate", order.qbo_doc_id)
    client.update(
        "Estimate",
        {"Id": estimate["Id"], "SyncToken": estimate["SyncToken"], "sparse": True, "TxnStatus": "Accepted"},
        request_id="accept-1",
    )
    webhooks.flush()
    order.refresh_from_db()
    assert order.qbo_doc_state == "Accepted"
    assert activities(order, OrderActivity.Type.SYNCED_FROM_QB) == [
        f"Estimate #{order.number} is now Accepted in QuickBooks (was Pending)"
    ]

    # The bookkeeper turns it into an invoice in QuickBooks.
    lines = [ln for ln in estimate["Line"] if ln["DetailType"] == "SalesItemLineDetail"]
    invoice = client.create(
        "Invoice",
        {
            "CustomerRef": estimate["CustomerRef"],
            "Line": lines,
            "LinkedTxn": [{"TxnId": estimate["Id"], "TxnType": "Estimate"}],
        },
        request_id="convert-1",
    )
    webhooks.flush()
    order.refresh_from_db()
    assert (order.qbo_doc_type, order.qbo_doc_id, order.qbo_doc_number) == (
        "invoice",
        invoice["Id"],
        invoice["DocNumber"],
    )
    assert order.qbo_doc_state == "Open" and order.qbo_balance == order.total
    assert activities(order, OrderActivity.Type.ESTIMATE_CONVERTED) == [
        f"Estimate #{order.number} converted to invoice #{invoice['DocNumber']} in QuickBooks; the order now follows "
        "the invoice"
    ]

    # Its payments now reach the order.
    webhooks.emu.record_payment(REALM_ID, invoice["Id"])
    webhooks.flush()
    order.refresh_from_db()
    assert (order.status, order.payment_status) == ("paid", "paid")


def test_it_marks_a_deleted_estimate(webhooks, order_factory, staff_user):
    order = invoiced(order_factory(), by=staff_user, doc_type="estimate")
    estimate = client.read("Estimate", order.qbo_doc_id)
    client.delete("Estimate", estimate["Id"], estimate["SyncToken"], request_id="del-est-1")
    webhooks.flush()
    order.refresh_from_db()
    assert order.qbo_doc_state == "Deleted" and order.status == "posted_to_qb"
    assert "deleted in QuickBooks" in activities(order, OrderActivity.Type.SYNCED_FROM_QB)[-1]


def test_it_renames_the_account_after_the_customer(webhooks, posted):
    buyer = posted.buyer
    webhooks.emu.rename_customer(REALM_ID, buyer.qbo_customer_id, "Harbor Fresh Market Inc")
    webhooks.flush()
    buyer.refresh_from_db()
    assert buyer.name == "Harbor Fresh Market Inc"
    assert QboWebhookEvent.objects.filter(entity="Customer", result__contains="renamed").exists()


def test_it_points_the_account_at_the_surviving_customer_after_a_merge(webhooks, posted):
    survivor = client.create("Customer", {"DisplayName": "Harbor Fresh Holdings"}, request_id="survivor-1")
    buyer = posted.buyer
    merged_away = buyer.qbo_customer_id
    webhooks.emu.configure_webhooks(format="cloudevents")  # merges carry data.deletedid
    webhooks.emu.merge_customers(REALM_ID, merged_away, survivor["Id"])
    webhooks.flush()

    buyer.refresh_from_db()
    assert buyer.qbo_customer_id == survivor["Id"]
    event = QboWebhookEvent.objects.get(entity="Customer", operation="Merge")
    assert event.source == "cloudevents" and f"customer {merged_away} was merged" in event.result


def test_an_item_price_change_follows_quickbooks_and_stays_in_sync(webhooks, posted, apples):
    apples.refresh_from_db()
    item = client.read("Item", apples.qbo_item_id)
    client.update(
        "Item",
        {
            "Id": item["Id"],
            "SyncToken": item["SyncToken"],
            "sparse": True,
            "UnitPrice": 34.0,
            "Name": "Gala Apples Premium",
        },
        request_id="price-1",
    )
    webhooks.flush()

    apples.refresh_from_db()
    assert (apples.name, apples.unit_price) == ("Gala Apples Premium", Decimal("34.00"))
    income = QboConnection.objects.get().income_account_id or item["IncomeAccountRef"]["value"]
    # The outbound sync sees nothing to push back (one fingerprint definition).
    assert apples.qbo_fingerprint == mapping.fingerprint(mapping.item_payload(apples, income_account_id=income))


def test_an_item_change_conflicts_with_a_kadouri_edit(webhooks, posted, apples):
    apples.refresh_from_db()
    apples.unit_price = Decimal("31.00")  # edited in Kadouri, not pushed yet
    apples.save()
    item = client.read("Item", apples.qbo_item_id)
    client.update(
        "Item",
        {"Id": item["Id"], "SyncToken": item["SyncToken"], "sparse": True, "UnitPrice": 34.0},
        request_id="price-2",
    )
    webhooks.flush()

    apples.refresh_from_db()
    assert apples.unit_price == Decimal("31.00")
    conflict = SyncConflict.objects.get()
    assert (
        conflict.object_type,
        conflict.object_id,
        conflict.field,
        conflict.kadouri_value,
        conflict.quickbooks_value,
    ) == ("product", apples.pk, "unit_price", "31.00", "34.00")


def test_an_inactive_item_clears_the_product_link(webhooks, posted, pears):
    pears.refresh_from_db()
    webhooks.emu.set_item_active(REALM_ID, pears.qbo_item_id, False)
    webhooks.flush()
    pears.refresh_from_db()
    assert pears.qbo_item_id is None and pears.qbo_sync_token == ""
    assert pears.active is False  # not offered on new orders, whose invoices QuickBooks would refuse


def test_it_ignores_documents_kadouri_does_not_know(webhooks, posted):
    other = client.create("Customer", {"DisplayName": "Walk-in"}, request_id="walkin-1")
    webhooks.flush()
    event = QboWebhookEvent.objects.get(entity="Customer", entity_id=other["Id"])
    assert event.status == "ignored" and "not linked" in event.result


def fail_invoice_reads(emu) -> None:
    """QuickBooks fails every read of an invoice: one by one, and in a batch's query."""
    emu.add_fault("500", method="GET", path=r"/invoice/", count=100)
    emu.add_fault("500", method="POST", path=r"/query", body=r"from Invoice ", count=100)


def test_it_retries_with_backoff_then_gives_up_visibly(webhooks, posted):
    fail_invoice_reads(webhooks.emu)
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id)
    webhooks.flush()
    event = QboWebhookEvent.objects.get(entity="Payment")
    assert (event.status, event.attempts) == ("pending", 1)
    assert event.not_before > timezone.now() + timedelta(seconds=20) and "transient" in event.last_error

    for _ in range(inbox.MAX_ATTEMPTS):
        QboWebhookEvent.objects.filter(status="pending").update(not_before=timezone.now())
        inbox.inbox_process_due()
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("failed", inbox.MAX_ATTEMPTS)
    posted.refresh_from_db()
    assert posted.status == "posted_to_qb"

    webhooks.emu.clear_faults()
    inbox.inbox_replay(event_ids=[event.pk])
    inbox.inbox_process_realm(realm_id=REALM_ID)
    event.refresh_from_db()
    posted.refresh_from_db()
    assert event.status == "done" and posted.status == "paid"


def test_each_retry_waits_the_next_step_of_qbo_inbox_backoff_seconds(webhooks, posted, settings):
    assert inbox.BACKOFF_SECONDS == tuple(settings.QBO_INBOX_BACKOFF_SECONDS)
    fail_invoice_reads(webhooks.emu)
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id)
    webhooks.flush()
    event = QboWebhookEvent.objects.get(entity="Payment")

    waits = []
    for attempt in range(1, inbox.MAX_ATTEMPTS):
        event.refresh_from_db()
        assert (event.status, event.attempts) == ("pending", attempt)
        waits.append((event.not_before - timezone.now()).total_seconds())
        QboWebhookEvent.objects.filter(pk=event.pk).update(not_before=timezone.now())
        inbox.inbox_process_due()

    steps = inbox.BACKOFF_SECONDS
    expected = [steps[min(n, len(steps)) - 1] for n in range(1, inbox.MAX_ATTEMPTS)]
    assert len(waits) == len(expected) and all(e - 5 < w <= e for w, e in zip(waits, expected, strict=True)), (
        waits,
        expected,
    )


def test_waiting_for_a_pause_does_not_use_up_an_events_attempts(webhooks, posted):
    """Found by the soak: while the company was paused after a 429, every due event "failed" an attempt without
    anything being sent, and a burst of throttling marked events failed for good."""
    paused_until = timezone.now() + timedelta(minutes=5)
    QboConnection.objects.update(paused_until=paused_until)
    before = list(QboWebhookEvent.objects.values_list("pk", flat=True))
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id)
    webhooks.flush()

    for _ in range(inbox.MAX_ATTEMPTS + 2):
        QboWebhookEvent.objects.filter(status="pending").update(not_before=timezone.now())
        inbox.inbox_process_due()

    events = QboWebhookEvent.objects.exclude(pk__in=before)
    assert len(events) == 2 and {(e.status, e.attempts) for e in events} == {("pending", 0)}
    assert all(e.not_before >= paused_until - timedelta(seconds=1) and "throttled" in e.last_error for e in events)
    QboConnection.objects.update(paused_until=None)
    QboWebhookEvent.objects.filter(status="pending").update(not_before=timezone.now())
    inbox.inbox_process_due()
    posted.refresh_from_db()
    assert posted.status == "paid"


def test_a_company_is_processed_by_one_worker_at_a_time(webhooks, posted):
    assert inbox._lease_take(REALM_ID) is not None
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id)
    webhooks.flush()  # the task finds the lease taken and leaves the events for its holder

    assert QboWebhookEvent.objects.filter(status="pending").exists()
    posted.refresh_from_db()
    assert posted.status == "posted_to_qb"
    QboInboxLease.objects.update(expires_at=timezone.now() - timedelta(seconds=1))  # the holder died
    inbox.inbox_process_due()
    posted.refresh_from_db()
    assert posted.status == "paid"


def test_doorbells_for_the_same_document_share_one_read(webhooks, posted):
    webhooks.emu.configure_webhooks(drop_rate=1.0)
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id, 100)
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id)
    webhooks.flush()
    for n in range(3):  # three notifications for the invoice arrive before the worker runs
        QboWebhookEvent.objects.create(
            dedupe_key=f"legacy:x:{n}",
            source="legacy",
            realm_id=REALM_ID,
            entity="Invoice",
            entity_id=posted.qbo_doc_id,
            operation="Update",
        )
    webhooks.emu.clear_requests()

    assert inbox.inbox_process_realm(realm_id=REALM_ID) == 3

    assert webhooks.emu.count_requests(path=r"/v3/company/") == 1  # the batch's query, nothing more
    first, *others = QboWebhookEvent.objects.filter(dedupe_key__startswith="legacy:x:").order_by("id")
    assert first.status == "done" and all(
        e.status == "done" and f"Covered by event {first.pk}" in e.result for e in others
    )
    posted.refresh_from_db()
    assert posted.status == "paid"


def test_it_marks_the_order_paid_when_kadouri_edits_the_invoice_down_to_what_was_paid(
    webhooks, posted, staff_user, apples
):
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id, 325)  # the apples; the pears were not delivered
    webhooks.flush()
    order_update(
        order_id=posted.pk, fields={}, lines=[LineInput(product=apples, quantity=Decimal("10"))], by=staff_user
    )

    job = order_update_request(order=Order.objects.get(pk=posted.pk), by=staff_user)

    assert job.state == "done"
    posted.refresh_from_db()
    assert (posted.status, posted.payment_status, posted.qbo_balance, posted.qbo_doc_state) == (
        "paid",
        "paid",
        Decimal("0.00"),
        "Paid",
    )
    assert activities(posted, OrderActivity.Type.PAYMENT_RECEIVED)[-1] == (
        f"Payment received in QuickBooks - Invoice marked as PAID (invoice #{posted.number}: $325.00 paid in full)"
    )
    logged = posted.activities.count()
    webhooks.flush()  # the echo of Kadouri's own update changes nothing, silently
    posted.refresh_from_db()
    assert (posted.status, posted.activities.count()) == ("paid", logged)


def test_it_keeps_the_account_name_when_quickbooks_shows_kadouris_own_display_name(
    webhooks, seller, apples, staff_user
):
    make_account("Acme", "ACM1")
    acme = make_account("Acme", "ACM2")  # a duplicate name: QuickBooks knows it as "Acme (ACM2)"
    invoiced(make_order(seller=seller, buyer=acme, lines=[(apples, "1")], by=staff_user), by=staff_user)
    webhooks.flush()
    acme.refresh_from_db()
    customer = client.read("Customer", acme.qbo_customer_id)
    assert customer["DisplayName"] == "Acme (ACM2)"

    client.update(
        "Customer",
        {
            "Id": customer["Id"],
            "SyncToken": customer["SyncToken"],
            "sparse": True,
            "PrimaryPhone": {"FreeFormNumber": "559-555-0199"},
        },
        request_id="bookkeeper-phone-1",
    )
    webhooks.flush()

    acme.refresh_from_db()
    assert acme.name == "Acme"
    last = QboWebhookEvent.objects.filter(entity="Customer").latest("id")
    assert last.status == "done" and "renamed" not in last.result


def test_a_rename_followed_from_quickbooks_is_not_pushed_back(webhooks, posted, caplog):
    buyer = posted.buyer
    webhooks.emu.rename_customer(REALM_ID, buyer.qbo_customer_id, "Harbor Fresh West")
    webhooks.flush()
    buyer.refresh_from_db()
    assert buyer.name == "Harbor Fresh West"
    assert "renamed from “Harbor Fresh Market” to “Harbor Fresh West”" in caplog.text
    webhooks.emu.clear_requests()

    sync.ensure_refs(accounts=[buyer], products=[])  # what the next push of one of its orders does first

    assert webhooks.emu.count_requests(subpath="batch") == 0
    assert client.read("Customer", buyer.qbo_customer_id)["DisplayName"] == "Harbor Fresh West"


def test_a_deleted_payment_rereads_only_the_invoices_it_was_applied_to(webhooks, posted, order_factory, staff_user):
    other = invoiced(order_factory(), by=staff_user)
    webhooks.emu.record_payment(REALM_ID, other.qbo_doc_id, 100)  # partly paid: the old scan re-read it as well
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id)
    webhooks.flush()
    payment_id = payment_id_for(webhooks.emu, posted.qbo_doc_id)
    seen = QboWebhookEvent.objects.filter(entity="Payment", entity_id=payment_id).values_list("invoice_ids", flat=True)
    assert [posted.qbo_doc_id] in list(seen)  # remembered when the payment was first seen
    webhooks.emu.clear_requests()

    webhooks.emu.delete_payment(REALM_ID, payment_id)
    webhooks.flush()

    posted.refresh_from_db()
    assert (posted.status, posted.payment_status) == ("posted_to_qb", "unpaid")
    # The batch's two queries (the payment, gone, and the invoice its event names), the payment's own read (610):
    # the other partly paid order's invoice is not read.
    assert webhooks.emu.count_requests(subpath="query") == 2
    assert webhooks.emu.count_requests(path=r"/v3/company/") == 3
    assert webhooks.emu.count_requests(method="GET", subpath=f"invoice/{other.qbo_doc_id}") == 0
    deleted = QboWebhookEvent.objects.filter(entity="Payment", entity_id=payment_id, operation="Delete").get()
    assert deleted.changed and f"Payment {payment_id} deleted in QuickBooks" in deleted.result


class OddRead:
    """QuickBooks leaves invoices out of queries and answers their reads with a shape nobody expects: the handler
    crashes unexpectedly."""

    def __init__(self, emu):
        self.handle = emu.handle

    def __call__(self, method, path, headers=None, body=b""):
        status, response_headers, payload = self.handle(method, path, headers, body)
        text = body.decode() if isinstance(body, bytes) else str(body or "")
        if "/query" in path and "from Invoice " in text:
            return 200, response_headers, b'{"QueryResponse": {}}'
        if method == "GET" and "/invoice/" in path:
            return 200, response_headers, b'{"Customer": {"DisplayName": "Harbor Fresh Market"}}'
        return status, response_headers, payload


def test_an_unexpected_crash_stores_only_the_exception_class_on_the_event(webhooks, posted, monkeypatch):
    monkeypatch.setattr(webhooks.emu, "handle", OddRead(webhooks.emu))
    webhooks.emu.record_payment(REALM_ID, posted.qbo_doc_id)
    webhooks.flush()

    event = QboWebhookEvent.objects.get(entity="Payment")
    assert (event.status, event.attempts) == ("pending", 1)
    # The class and a fixed message: never the exception's text, which may hold anything QuickBooks sent.
    assert event.last_error == f"KeyError: {inbox.UNEXPECTED_ERROR}"
