"""Applying a QuickBooks invoice or estimate to its order under the order's lock: never backwards, only while
the order follows that very document. Used by the inbound handlers, the outbound runners (a document read back
after a write, a conversion) and reconciliation."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from kadouri.display import money as display_money
from orders.models import Order, OrderActivity
from orders.services import order_activity_log

from ..client.errors import QboNotFoundError
from ..connection import calls
from ..models import QboWebhookEvent
from .reading import GONE_STATES, ZERO, Version, converting_invoice_id
from .store import (
    Actor,
    document_apply,
    document_store,
    entity_of,
    follow_invoice,
    follows,
    label_of,
    link_problem,
    link_problem_clear,
    link_problem_record,
    partial_payment_text,
    reopened_text,
)


@dataclass(frozen=True)
class Outcome:
    """What a handler did: `changed` is stored on the event (catch-up lists the changes), `text` is its result."""

    changed: bool
    text: str

    @classmethod
    def of(cls, outcomes: list[Outcome], default: str = "") -> Outcome:
        changed = [o.text for o in outcomes if o.changed]
        return cls(bool(changed), " ".join(changed) or " ".join(o.text for o in outcomes) or default)


@dataclass(frozen=True)
class Cause:
    """Why a document is being applied: shapes the activity entry's wording and author."""

    source: str = "manual"
    event_id: int | None = None
    payment_id: str = ""
    payment_operation: str = ""  # Create / Update / Delete / Void
    operation: str = ""

    @property
    def user_name(self) -> str:
        return {
            QboWebhookEvent.Source.LEGACY: "QuickBooks Webhook",
            QboWebhookEvent.Source.CLOUDEVENTS: "QuickBooks Webhook",
            QboWebhookEvent.Source.CDC: "QuickBooks Catch-up",
            "sync": "QuickBooks sync",  # Kadouri's own push read the document back
        }.get(self.source, "QuickBooks Reconciliation")

    def details(self, **extra) -> dict:
        data = {"source": self.source, "event_id": self.event_id}
        if self.payment_id:
            data |= {"payment_id": self.payment_id, "payment_operation": self.payment_operation}
        return data | extra


def _reversal_text(cause: Cause) -> str:
    if cause.payment_id and cause.payment_operation in ("Delete", "Void"):
        verb = "deleted" if cause.payment_operation == "Delete" else "voided"
        return f"Payment {cause.payment_id} {verb} in QuickBooks"
    return "Invoice balance went up in QuickBooks"


def _actor(cause: Cause) -> Actor:
    return Actor(user_name=cause.user_name, details=cause.details())


def _change_text(order: Order, change: str, cause: Cause, entity: str = "Invoice") -> str:
    doc, label = f"#{order.qbo_doc_number or order.qbo_doc_id}", label_of(entity)
    if change == "cancelled":
        how = "voided" if order.qbo_doc_state == "Voided" else "deleted"
        return f"Order {order.number} cancelled: {label} {order.qbo_doc_id} {how} in QuickBooks."
    if change == "paid":
        return f"Order {order.number} marked PAID ({label} {doc} balance {display_money(0, order)})."
    return f"Order {order.number}: {reopened_text(order, _reversal_text(cause))}."


def _amounts_changed(order: Order, before: tuple, cause: Cause, entity: str = "Invoice") -> Outcome:
    """No status change: a partial payment or an edit in QuickBooks, recorded in the activity log."""
    old_total, old_balance, old_payment = before
    doc, label = f"#{order.qbo_doc_number or order.qbo_doc_id}", label_of(entity)
    if (old_total, old_balance, old_payment) == (order.qbo_total, order.qbo_balance, order.payment_status):
        return Outcome(False, f"Order {order.number}: {label} {doc} has no change that matters to Kadouri.")
    log_kw = dict(
        order=order,
        user_name=cause.user_name,
        details=cause.details(
            invoice_id=order.qbo_doc_id,
            total=str(order.qbo_total),
            balance=str(order.qbo_balance),
            payment_status=order.payment_status,
        ),
    )
    if (
        old_balance is not None
        and order.qbo_balance is not None
        and order.qbo_balance < old_balance
        and old_total == order.qbo_total
    ):
        text = partial_payment_text(order)
        order_activity_log(activity_type=OrderActivity.Type.PAYMENT_RECEIVED, description=text, **log_kw)
    else:
        prefix = (
            _reversal_text(cause)
            if (old_balance or ZERO) < (order.qbo_balance or ZERO) and old_total == order.qbo_total
            else f"{label.capitalize()} {doc} updated in QuickBooks"
        )
        text = (
            f"{prefix}: total {display_money(old_total, order)} → {display_money(order.qbo_total, order)}, balance "
            f"{display_money(old_balance, order)} → {display_money(order.qbo_balance, order)} "
            f"({order.get_payment_status_display().lower()})"
        )
        order_activity_log(activity_type=OrderActivity.Type.SYNCED_FROM_QB, description=text, **log_kw)
    return Outcome(True, f"Order {order.number}: {text}.")


def _not_followed(order: Order, entity: str, doc_id: str) -> Outcome:
    """A late event for a document the order no longer follows (an estimate whose order moved to its invoice)."""
    return Outcome(
        False,
        f"Order {order.number} follows {entity_of(order).lower()} "
        f"#{order.qbo_doc_number or order.qbo_doc_id}, not {entity.lower()} {doc_id}: nothing applied.",
    )


def _checked_link(order: Order, entity: str, doc_id: str, doc: dict | None, cause: Cause) -> Outcome | None:
    """Under the order's lock: an Outcome when the document must not be applied to this order (it no longer
    follows it, or it is a wrong link); None when it may, after clearing a wrong link the document has healed."""
    if not follows(order, entity, doc_id):
        return _not_followed(order, entity, doc_id)
    problem = link_problem(order, entity, doc)
    if problem:
        recorded = link_problem_record(order=order, problem=problem, actor=_actor(cause))
        return Outcome(recorded, f"Order {order.number}: {problem}")
    if doc is not None:
        link_problem_clear(order=order, actor=_actor(cause))
    return None


def invoice_apply(
    *, order_id: int, doc_id: str, invoice: dict | None, cause: Cause, void_hint: bool = False, force: bool = False
) -> Outcome:
    """Applies QuickBooks invoice `doc_id` (None = deleted) to its order (documents.document_apply), never moving
    backwards and only while the order follows that very invoice. `force` (an operator taking QuickBooks'
    values) skips the version checks, never the link check."""
    return paid_document_apply(
        "Invoice", order_id=order_id, doc_id=doc_id, doc=invoice, cause=cause, void_hint=void_hint, force=force
    )


def paid_document_apply(
    entity: str,
    *,
    order_id: int,
    doc_id: str,
    doc: dict | None,
    cause: Cause,
    void_hint: bool = False,
    force: bool = False,
) -> Outcome:
    """Applies QuickBooks document `doc_id` of `entity` (an invoice, or a cash sale's SalesReceipt; None = deleted)
    to its order like `invoice_apply`: voided or deleted cancels the order, changed amounts are followed
    (docs/quickbooks/money.md#cash-sales)."""
    label = label_of(entity)
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        refused = _checked_link(order, entity, doc_id, doc, cause)
        if refused is not None:
            return refused
        seen = 1
        if doc is not None:
            seen = Version.of(doc).compare(order.qbo_sync_token, order.qbo_last_updated)
            if seen < 0 and not force:
                return Outcome(
                    False,
                    f"Order {order.number}: skipped an older version of {label} {order.qbo_doc_id} "
                    f"(SyncToken {doc.get('SyncToken')}, Kadouri has {order.qbo_sync_token}).",
                )
        before = (order.qbo_total, order.qbo_balance, order.payment_status)
        change = document_apply(
            order=order,
            doc=doc,
            entity=entity,
            actor=_actor(cause),
            void_hint=void_hint,
            reopened_because=_reversal_text(cause),
        )
        if change:
            return Outcome(True, _change_text(order, change, cause, entity))
        if order.qbo_doc_state in GONE_STATES:
            return Outcome(
                False, f"Order {order.number}: {label} already {order.qbo_doc_state.lower()}; nothing changed."
            )
        if seen == 0 and not force:
            # An echo of Kadouri's own write or a duplicate: values refreshed silently, nothing logged.
            return Outcome(
                False,
                f"Order {order.number}: {label} {order.qbo_doc_id} SyncToken "
                f"{order.qbo_sync_token} already known; nothing changed.",
            )
        return _amounts_changed(order, before, cause, entity)


def estimate_apply(
    *, order_id: int, doc_id: str, estimate: dict | None, cause: Cause, force: bool = False, invoice: dict | None = None
) -> Outcome:
    """Applies QuickBooks estimate `doc_id` (None = deleted) to its order while the order still follows it; an
    `invoice` made from it moves the order to that invoice. A late event for an estimate whose order already
    follows its invoice changes nothing (it once moved an order onto another order's invoice)."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        refused = _checked_link(order, "Estimate", doc_id, estimate, cause)
        if refused is not None:
            return refused
        if invoice is not None:
            return _follow_converting_invoice(order, invoice, cause)
        return _estimate_changed(order, estimate, cause, force=force)


def _estimate_changed(order: Order, estimate: dict | None, cause: Cause, *, force: bool) -> Outcome:
    doc = f"#{order.qbo_doc_number or order.qbo_doc_id}"
    if estimate is None:
        if order.qbo_doc_state == "Deleted":
            return Outcome(False, f"Order {order.number}: estimate already deleted.")
        document_store(order, None, entity="Estimate")
        text = f"Estimate {doc} deleted in QuickBooks; the order stays {order.get_status_display().lower()}"
        order_activity_log(
            order=order,
            activity_type=OrderActivity.Type.SYNCED_FROM_QB,
            description=text,
            user_name=cause.user_name,
            details=cause.details(estimate_id=order.qbo_doc_id),
        )
        return Outcome(True, f"Order {order.number}: {text}.")
    version = Version.of(estimate)
    seen = version.compare(order.qbo_sync_token, order.qbo_last_updated)
    if seen < 0 and not force:
        return Outcome(False, f"Order {order.number}: skipped an older version of estimate {order.qbo_doc_id}.")
    old_state, old_total = order.qbo_doc_state, order.qbo_total
    document_store(order, estimate, entity="Estimate")
    state = order.qbo_doc_state
    if (seen == 0 and not force) or (old_state, old_total) == (state, order.qbo_total):
        return Outcome(False, f"Order {order.number}: estimate {doc} unchanged ({state}).")
    invoices = [str(link.get("TxnId")) for link in estimate.get("LinkedTxn") or [] if link.get("TxnType") == "Invoice"]
    if state == "Closed" and invoices:
        text = f"Estimate {doc} closed in QuickBooks by invoice {', '.join(invoices)}"
    elif state != old_state:
        text = f"Estimate {doc} is now {state} in QuickBooks" + (f" (was {old_state})" if old_state else "")
    else:
        text = (
            f"Estimate {doc} updated in QuickBooks: total {display_money(old_total, order)} → "
            f"{display_money(order.qbo_total, order)}"
        )
    order_activity_log(
        order=order,
        activity_type=OrderActivity.Type.SYNCED_FROM_QB,
        description=text,
        user_name=cause.user_name,
        details=cause.details(estimate_id=order.qbo_doc_id, state=state, invoices=invoices),
    )
    return Outcome(True, f"Order {order.number}: {text}.")


def _follow_converting_invoice(order: Order, invoice: dict, cause: Cause) -> Outcome:
    """Converted in QuickBooks, not through Kadouri: the order now follows the invoice, so its payments reach
    the order (the estimate is closed and changes no more)."""
    estimate_ref = f"#{order.qbo_doc_number or order.qbo_doc_id}"
    text = (
        f"Estimate {estimate_ref} converted to invoice #{invoice.get('DocNumber') or invoice.get('Id')} in "
        "QuickBooks; the order now follows the invoice"
    )
    # The conversion first, then what the invoice brings (a payment already on it): the log reads in order.
    order_activity_log(
        order=order,
        activity_type=OrderActivity.Type.ESTIMATE_CONVERTED,
        description=text,
        user_name=cause.user_name,
        details=cause.details(invoice_id=str(invoice.get("Id"))),
    )
    follow_invoice(order=order, invoice=invoice, actor=_actor(cause))
    return Outcome(True, f"Order {order.number}: {text}.")


def converting_invoice(estimate: dict | None, *, realm_id: str | None = None) -> dict | None:
    """The invoice a bookkeeper made from the estimate in QuickBooks, read before the order is locked (also used
    by the outbound Convert to Invoice and by reconciliation; `realm_id` None: the current connection)."""
    invoice_id = converting_invoice_id(estimate)
    if invoice_id is None:
        return None
    try:
        return calls.read("Invoice", invoice_id, realm_id=realm_id)
    except QboNotFoundError:
        return None
