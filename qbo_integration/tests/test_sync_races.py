"""Outbound writes racing the bookkeeper: a conversion done in QuickBooks first, an invoice paid between a
read and a write, a payment webhook processed between QuickBooks' answer and the order lock."""

import json

import pytest

from accounts.models import Account
from orders.models import Order, OrderActivity
from orders.services import order_update
from products.models import Product
from qbo_integration.bulk.push import bulk_push_run
from qbo_integration.client.errors import QboTransientError
from qbo_integration.connection import calls
from qbo_integration.inbound.inbox import inbox_process_realm
from qbo_integration.models import BulkPush, QboSyncJob
from qbo_integration.outbound.requests import order_convert_request, order_update_request
from qbo_integration.refs.ensure import ensure_refs
from qbo_integration.testing import REALM_ID

from .inbound_support import entities, invoiced, webhooks  # noqa: F401

pytestmark = pytest.mark.django_db


def convert_in_quickbooks(emu, estimate_id: str) -> dict:
    """The bookkeeper turns the estimate into an invoice in QuickBooks (its own API, not Kadouri's client):
    QuickBooks gives the invoice its next automatic number and closes the estimate."""
    estimate = calls.read("Estimate", estimate_id)
    lines = [line for line in estimate["Line"] if line["DetailType"] == "SalesItemLineDetail"]
    body = {
        "CustomerRef": estimate["CustomerRef"],
        "Line": lines,
        "LinkedTxn": [{"TxnId": estimate["Id"], "TxnType": "Estimate"}],
    }
    status, payload = emu.api.handle(REALM_ID, "POST", "invoice", {}, json.dumps(body, default=str).encode())
    assert status == 200, payload
    return payload["Invoice"]


def test_converting_an_estimate_the_bookkeeper_already_converted_adopts_their_invoice(
    qbo_connected, order_factory, staff_user
):
    order = invoiced(order_factory(), by=staff_user, doc_type="estimate")
    theirs = convert_in_quickbooks(qbo_connected, order.qbo_doc_id)
    assert theirs["DocNumber"] != order.number  # so the DocNumber look-up cannot find it
    qbo_connected.clear_requests()

    job = order_convert_request(order=order, by=staff_user)

    assert job.state == "done", job.last_error
    assert [i["Id"] for i in entities(qbo_connected, "Invoice")] == [theirs["Id"]]  # no second invoice
    assert qbo_connected.count_requests(method="POST", subpath="invoice") == 0
    order.refresh_from_db()
    assert (order.qbo_doc_type, order.qbo_doc_id, order.qbo_doc_number, order.status) == (
        "invoice",
        theirs["Id"],
        theirs["DocNumber"],
        "posted_to_qb",
    )
    converted = order.activities.get(activity_type=OrderActivity.Type.ESTIMATE_CONVERTED)
    assert "already converted" in converted.description and f"#{theirs['DocNumber']}" in converted.description
    assert converted.user == staff_user
    assert (job.result["docId"], job.result.get("adopted")) == (theirs["Id"], True)


class BeforeTheBatch:
    """Runs `act` (a bookkeeper action) just before QuickBooks receives the first batch that updates invoices."""

    def __init__(self, emu, act):
        self.emu, self.handle, self.act, self.fired = emu, emu.handle, act, False

    def __call__(self, method, path, headers=None, body=b""):
        text = body.decode() if isinstance(body, bytes) else (body or "")
        if not self.fired and path.split("?")[0].endswith("/batch") and '"operation": "update"' in text:
            self.fired = True
            self.act()
        return self.handle(method, path, headers, body)


def test_a_bulk_reapply_after_5010_does_not_overwrite_an_invoice_paid_meanwhile(
    qbo_connected, order_factory, staff_user, monkeypatch
):
    orders = [order_factory(ready_to_push=True) for _ in range(2)]
    bulk_push_run(bulk_id=BulkPush.objects.create().pk)
    first, second = (Order.objects.get(pk=o.pk) for o in orders)
    for order in (first, second):
        order_update(order_id=order.pk, fields={"notes": "late edit"}, lines=None, by=staff_user)
    # Paid in QuickBooks after Kadouri's settled check read it, before the batch: the update answers 5010.
    lose = BeforeTheBatch(qbo_connected, lambda: qbo_connected.record_payment(REALM_ID, first.qbo_doc_id))
    monkeypatch.setattr(qbo_connected, "handle", lose)

    bulk = bulk_push_run(bulk_id=BulkPush.objects.create().pk)

    assert lose.fired
    assert (bulk.succeeded, bulk.failed) == (1, 1)
    job = QboSyncJob.objects.get(bulk_push=bulk, order=first)
    assert (job.state, job.error_kind) == ("failed", "validation") and "paid" in job.last_error
    invoices = {i["Id"]: i for i in entities(qbo_connected, "Invoice")}
    assert invoices[first.qbo_doc_id].get("PrivateNote") != "late edit"  # the paid invoice was left alone
    assert invoices[second.qbo_doc_id].get("PrivateNote") == "late edit"


class PaidBeforeTheAnswer:
    """QuickBooks runs the write; before its answer reaches Kadouri, the bookkeeper pays the invoice and the
    payment's webhook is processed (the order turns paid)."""

    def __init__(self, emu, hooks, *, creates: bool):
        self.emu, self.hooks, self.handle, self.creates, self.fired = emu, hooks, emu.handle, creates, False

    def __call__(self, method, path, headers=None, body=b""):
        status, response_headers, payload = self.handle(method, path, headers, body)
        text = body.decode() if isinstance(body, bytes) else (body or "")
        write = method == "POST" and path.split("?")[0].endswith("/invoice") and status == 200
        if not self.fired and write and (('"Id"' not in text) if self.creates else ('"Id"' in text)):
            self.fired = True
            self.emu.record_payment(REALM_ID, json.loads(payload)["Invoice"]["Id"])
            self.hooks.flush()
        return status, response_headers, payload


def test_an_update_answer_older_than_a_payment_webhook_does_not_reopen_the_paid_order(
    webhooks, order_factory, staff_user, monkeypatch
):
    order = invoiced(order_factory(), by=staff_user)
    webhooks.flush()
    order_update(order_id=order.pk, fields={"notes": "re-weighed"}, lines=None, by=staff_user)
    race = PaidBeforeTheAnswer(webhooks.emu, webhooks, creates=False)
    monkeypatch.setattr(webhooks.emu, "handle", race)

    job = order_update_request(order=Order.objects.get(pk=order.pk), by=staff_user)

    assert race.fired and job.state == "done", job.last_error
    order.refresh_from_db()
    assert (order.status, order.payment_status, order.qbo_balance) == ("paid", "paid", 0)
    assert order.qbo_sync_token == calls.read("Invoice", order.qbo_doc_id)["SyncToken"]
    assert not order.changed_since_push
    assert order.activities.filter(activity_type=OrderActivity.Type.INVOICE_UPDATED).count() == 1
    assert not order.activities.filter(
        activity_type=OrderActivity.Type.SYNCED_FROM_QB, description__contains="again"
    ).exists()


def test_a_convert_answer_older_than_a_payment_webhook_does_not_reopen_the_paid_order(
    webhooks, order_factory, staff_user, monkeypatch
):
    order = invoiced(order_factory(), by=staff_user, doc_type="estimate")
    webhooks.flush()
    race = PaidBeforeTheAnswer(webhooks.emu, webhooks, creates=True)
    monkeypatch.setattr(webhooks.emu, "handle", race)

    job = order_convert_request(order=Order.objects.get(pk=order.pk), by=staff_user)

    assert race.fired and job.state == "done", job.last_error
    (invoice,) = entities(webhooks.emu, "Invoice")
    order.refresh_from_db()
    assert (order.qbo_doc_type, order.qbo_doc_id) == ("invoice", invoice["Id"])
    assert (order.status, order.payment_status, order.qbo_balance) == ("paid", "paid", 0)


@pytest.mark.django_db
def test_a_customer_another_push_began_creating_is_joined_not_created_again(qbo_connected, buyer, apples):
    """Push A's create of the buyer's customer is answered and lost (QuickBooks has it); the bookkeeper renames it;
    push B — another order of that buyer, with a product too, so its batch and requestid differ from A's — read the
    buyer before A marked it in flight. It must not create a second customer under the name now free (found by the
    soak): it sees A's marker under the row lock and replays A's requestid."""
    emu = qbo_connected
    stale = Account.objects.get(pk=buyer.pk)  # push B's copy, read before push A marked the buyer
    emu.add_fault("drop", method="POST", path="/batch$", body="create", count=1)
    with pytest.raises(QboTransientError):
        ensure_refs(accounts=[buyer], products=[])
    (created,) = entities(emu, "Customer")
    emu.rename_customer(REALM_ID, created["Id"], "Harbor Fresh Market (renamed)")

    result = ensure_refs(accounts=[stale], products=[apples])

    assert result.errors == {} and result.customers == {buyer.pk: created["Id"]} and apples.pk in result.items
    assert [c["Id"] for c in entities(emu, "Customer")] == [created["Id"]]  # one customer, not two
    buyer.refresh_from_db()
    assert (buyer.qbo_customer_id, buyer.qbo_create_request) == (created["Id"], "")
    # Linked by a replay, it is the version QuickBooks created; the rename made while Kadouri did not know the id
    # (its webhook ignored) is read by one inbox event and reaches the account.
    assert buyer.name == "Harbor Fresh Market"
    emu.clear_requests()
    assert inbox_process_realm(realm_id=REALM_ID) == 1
    buyer.refresh_from_db()
    assert buyer.name == "Harbor Fresh Market (renamed)"
    assert [r["subpath"] for r in emu.requests(path="/v3/company/")] == ["query"]  # the customer, read once


@pytest.mark.django_db
def test_a_replay_resends_the_whole_batch_never_a_part_of_it(qbo_connected, buyer, apples):
    """Push A marks the buyer and a product with its batch's requestid, and the batch never reaches QuickBooks.
    Push B, for another order of the buyer alone, replays that requestid: it must resend the whole batch (the
    product too). A part sent first would be the answer QuickBooks keeps for the requestid, and the product would
    never get one — its push failing on every retry."""
    emu = qbo_connected
    emu.add_fault("503", method="POST", path="/batch$", body="create", count=1)
    with pytest.raises(QboTransientError):
        ensure_refs(accounts=[buyer], products=[apples])
    assert entities(emu, "Customer") == [] and entities(emu, "Item") == []

    push_b = ensure_refs(accounts=[Account.objects.get(pk=buyer.pk)], products=[])
    push_a_again = ensure_refs(
        accounts=[Account.objects.get(pk=buyer.pk)], products=[Product.objects.get(pk=apples.pk)]
    )

    assert push_b.errors == {} and push_a_again.errors == {}
    (customer,), (item,) = entities(emu, "Customer"), entities(emu, "Item")
    buyer.refresh_from_db()
    apples.refresh_from_db()
    assert (buyer.qbo_customer_id, apples.qbo_item_id) == (customer["Id"], item["Id"])
    assert buyer.qbo_create_request == apples.qbo_create_request == ""
