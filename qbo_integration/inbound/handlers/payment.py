"""A payment changed in QuickBooks: the invoices it was (or had been) applied to are read again and applied
to their orders — the balance on the invoice is what Kadouri follows, not the payment itself."""

from __future__ import annotations

from django.template.defaultfilters import pluralize

from orders.models import Order

from ...documents.apply import Outcome, invoice_apply
from ...documents.payments import payment_store_changed
from ...documents.reading import is_voided, payment_invoice_ids
from ...models import QboWebhookEvent
from ..prefetch import Reads
from .broker import commission_invoices_paid
from .common import Ignored, event_cause, fetch, invoice_orders


def _links_seen(event: QboWebhookEvent) -> list[str]:
    """The invoices this payment was applied to, as earlier events of it recorded them."""
    seen: list[str] = []
    earlier = QboWebhookEvent.objects.filter(realm_id=event.realm_id, entity="Payment", entity_id=event.entity_id)
    for ids in earlier.exclude(pk=event.pk).values_list("invoice_ids", flat=True):
        seen += [str(i) for i in ids or [] if str(i) not in seen]
    return seen


def handle(event: QboWebhookEvent, reads: Reads) -> Outcome:
    payment = fetch(event, "Payment", event.entity_id, reads)
    voided = payment is not None and is_voided(payment, void_hint=event.operation == "Void")
    operation = "Delete" if payment is None else ("Void" if voided else event.operation)
    linked = payment_invoice_ids(payment)
    if linked:  # remembered for the day the payment is deleted: it then comes back as an Id only
        event.invoice_ids = linked
        QboWebhookEvent.objects.filter(pk=event.pk).update(invoice_ids=linked)
    # The payment's own rows (what it paid on each order, by which method, who recorded it) before the invoices:
    # Kadouri's own payment coming back finds them as they are and changes nothing.
    _, rows_changed = payment_store_changed(
        payment or {"Id": event.entity_id}, realm_id=event.realm_id, deleted=payment is None
    )
    orders = invoice_orders(linked)
    seen = _links_seen(event) if payment is None or voided else []
    if seen:
        # A deleted payment comes back as an Id only (610 on read, {"Id", "status": "Deleted"} in CDC) and a
        # voided one has lost its links: the invoices it was applied to when Kadouri saw it are re-read.
        orders = invoice_orders(set(linked) | set(seen))
    elif payment is None or voided:
        # Never seen with its links (e.g. created and deleted while the webhooks were lost): every order it could
        # have paid is re-checked — the invoices partly or fully paid in Kadouri. One query per 100 of them.
        known = {o.pk for o in orders}
        orders += [
            o
            for o in Order.objects.linked()
            .filter(
                qbo_doc_type=Order.DocType.INVOICE,
                payment_status__in=[Order.PaymentStatus.PARTIAL, Order.PaymentStatus.PAID],
            )
            .exclude(status=Order.Status.CANCELLED)
            .order_by("pk")
            if o.pk not in known
        ]
    commission = commission_invoices_paid(event, linked, reads)  # a seller paying its commission invoices
    if not orders:
        if commission is not None:
            return commission
        raise Ignored(f"Payment {event.entity_id} concerns no invoice of a Kadouri order; nothing was changed.")
    invoices = reads.many("Invoice", [o.qbo_doc_id for o in orders])
    cause = event_cause(event, payment_id=event.entity_id, payment_operation=operation)
    results = [
        invoice_apply(order_id=o.pk, doc_id=o.qbo_doc_id, invoice=invoices[o.qbo_doc_id], cause=cause) for o in orders
    ]
    if any(r.changed for r in results):
        return Outcome.of(results)
    if rows_changed:
        return Outcome(True, f"Payment {event.entity_id} ({operation}): its details were updated on the order page.")
    count = len(results)
    return Outcome(
        False, f"Payment {event.entity_id} ({operation}): {count} linked order{pluralize(count)} already up to date."
    )
