"""The broker's own documents changed in QuickBooks (docs/quickbooks/beyond.md#the-brokers-own-books): a seller's
bill paid, partly paid or deleted there, a bill payment voided or deleted, a commission invoice paid by the seller or
voided, the seller's vendor changed. Each is applied to its `BrokerDocument` row (never backwards), so the order page
shows "paid to the seller". The commission invoice is an Invoice of the seller's customer: it is no order's document
(`Order.objects.linked_to` never finds it), so the invoice and payment handlers hand it here first."""

from __future__ import annotations

from accounts.models import Account

from ...documents.apply import Outcome
from ...documents.broker_store import broker_apply, broker_rows
from ...documents.reading import is_voided
from ...models import BrokerDocument, QboWebhookEvent
from ..prefetch import Reads
from .common import Ignored, fetch


def _applied(rows: list[BrokerDocument], docs: dict[str, dict | None], event: QboWebhookEvent) -> Outcome:
    void_hint = event.operation == "Void"
    results = [broker_apply(row.pk, docs.get(row.qbo_id), source=event.source, void_hint=void_hint) for row in rows]
    return Outcome.of(results)


def handle_bill(event: QboWebhookEvent, reads: Reads) -> Outcome:
    rows = broker_rows(event.realm_id, "Bill", [event.entity_id])
    if not rows:
        raise Ignored(f"Bill {event.entity_id} is no Kadouri order's bill to a seller; nothing was changed.")
    bill = fetch(event, "Bill", event.entity_id, reads)
    return _applied(rows, {event.entity_id: bill}, event)


def commission_invoice(event: QboWebhookEvent, reads: Reads) -> Outcome | None:
    """The seller's commission invoice applied to its row; None when the invoice is not one (an order's own)."""
    rows = broker_rows(event.realm_id, "Invoice", [event.entity_id])
    if not rows:
        return None
    invoice = fetch(event, "Invoice", event.entity_id, reads)
    return _applied(rows, {event.entity_id: invoice}, event)


def commission_invoices_paid(event: QboWebhookEvent, invoice_ids: list[str], reads: Reads) -> Outcome | None:
    """A payment on sellers' commission invoices: those invoices read again (one query) and applied; None when the
    payment pays none of them."""
    rows = broker_rows(event.realm_id, "Invoice", invoice_ids)
    if not rows:
        return None
    invoices = reads.many("Invoice", [row.qbo_id for row in rows])
    return _applied(rows, invoices, event)


def _bill_ids(payment: dict | None) -> list[str]:
    return sorted(
        {
            str(link.get("TxnId"))
            for line in (payment or {}).get("Line") or []
            for link in (line or {}).get("LinkedTxn") or []
            if link.get("TxnType") == "Bill"
        }
    )


def handle_bill_payment(event: QboWebhookEvent, reads: Reads) -> Outcome:
    """A payment to a vendor: the bills it pays are read again and applied. A deleted payment comes back as an Id
    only, and a voided one has lost its lines: then every seller bill Kadouri knows as paid or partly paid is read
    again (one query per 100), as the invoice payment handler does for orders."""
    payment = fetch(event, "BillPayment", event.entity_id, reads)
    voided = payment is not None and is_voided(payment, void_hint=event.operation == "Void")
    ids = _bill_ids(payment)
    if ids and not voided:
        rows = broker_rows(event.realm_id, "Bill", ids)
    else:
        rows = [
            row
            for row in BrokerDocument.objects.filter(
                realm_id=event.realm_id, entity="Bill", state=BrokerDocument.State.ACTIVE
            ).exclude(qbo_id="")
            if row.total is not None and row.balance is not None and row.balance < row.total
        ]
    if not rows:
        raise Ignored(f"Bill payment {event.entity_id} pays no seller bill of a Kadouri order; nothing was changed.")
    bills = reads.many("Bill", [row.qbo_id for row in rows])
    return _applied(rows, bills, event)


def handle_vendor(event: QboWebhookEvent, reads: Reads) -> Outcome:
    """A seller's vendor changed in QuickBooks: its version is kept (Kadouri writes nothing to a vendor it linked)."""
    accounts = list(Account.objects.filter(qbo_vendor_id=event.entity_id).order_by("pk"))
    if not accounts:
        raise Ignored(f"Vendor {event.entity_id} is no Kadouri seller's; nothing was changed.")
    vendor = fetch(event, "Vendor", event.entity_id, reads)
    if vendor is None:
        return Outcome(False, f"Vendor {event.entity_id} could not be read; its sellers keep their link.")
    token = str(vendor.get("SyncToken") or "")[:16]
    changed = Account.objects.filter(pk__in=[a.pk for a in accounts]).exclude(qbo_vendor_sync_token=token)
    count = changed.update(qbo_vendor_sync_token=token)
    active = "" if vendor.get("Active", True) else " It is inactive in QuickBooks: new bills to it will be refused."
    names = ", ".join(a.code for a in accounts)
    return Outcome(bool(count), f"Vendor “{vendor.get('DisplayName')}” of {names} is at version {token}.{active}")
