"""A QuickBooks sales document (invoice or estimate) stored on its order: the one place that moves the order
to paid, back to posted, or to cancelled, and decides whether a document is the order's own.

Used after every outbound write, by the inbound handlers (webhooks, CDC catch-up) and by
reconciliation, so the three never disagree about what a document means.
Facts: docs/quickbooks/api.md#void (a voided invoice keeps its number; every amount is 0 and its
PrivateNote starts with "Voided").
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kadouri.display import money as display_money
from orders.models import Order, OrderActivity
from orders.services import order_activity_log, order_set_status

from ..adapt.currency import store_currency
from ..adapt.numbering import carries_marker
from ..adapt.tax import document_tax
from ..client.errors import QboWrongLinkError
from .delivery import store_delivery
from .reading import (
    GONE_STATES,
    ZERO,
    Version,
    doc_state,
    document_balance,
    money,
    paid_amount,
    parse_time,
    payment_status,
)

ENTITY_OF_TYPE = {
    Order.DocType.INVOICE: "Invoice",
    Order.DocType.ESTIMATE: "Estimate",
    Order.DocType.SALES_RECEIPT: "SalesReceipt",
}
TYPE_OF_ENTITY = {entity: doc_type for doc_type, entity in ENTITY_OF_TYPE.items()}
LABELS = {"Invoice": "invoice", "Estimate": "estimate", "SalesReceipt": "sales receipt"}
PAID_ENTITIES = ("Invoice", "SalesReceipt")  # documents that carry what is owed: a balance and a payment status
PAID_TEXT = "Payment received in QuickBooks - Invoice marked as PAID"
VOIDED_TEXT = "Invoice voided in QuickBooks"


# --- which document an order follows --------------------------------------------------------------
# QuickBooks numbers invoices and estimates apart, so an id is only ever stored, compared or looked up with its
# type (the order's qbo_doc_type; a database constraint keeps the two together). A document at the right id
# whose DocNumber is neither the order's number nor the number QuickBooks gave it when Kadouri linked it is a
# wrong link: nothing is applied from it and nothing is sent to it (docs/quickbooks.md#wrong-links).


def entity_of(order: Order) -> str:
    return ENTITY_OF_TYPE.get(order.qbo_doc_type, "Invoice")


def label_of(entity: str) -> str:
    """The document's kind in words for staff: "invoice", "estimate", "sales receipt"."""
    return LABELS.get(entity, entity.lower())


def follows(order: Order, entity: str, doc_id) -> bool:
    """True when the order's link is exactly this QuickBooks document (type and id)."""
    return (
        bool(order.qbo_doc_id)
        and order.qbo_doc_type == TYPE_OF_ENTITY.get(entity)
        and str(order.qbo_doc_id) == str(doc_id)
    )


def known_numbers(order: Order) -> list[str]:
    return [n for n in dict.fromkeys((order.number, order.qbo_doc_number)) if n]


def link_problem(order: Order, entity: str, doc: dict | None) -> str:
    """Why `doc` is not this order's own document, in words for staff; "" when it is (or is gone)."""
    if doc is None:
        return ""
    doc_id = str(doc.get("Id") or "")
    if not follows(order, entity, doc_id):
        return (
            f"QuickBooks {entity.lower()} {doc_id} is not the document order {order.number} follows "
            f"({entity_of(order).lower()} {order.qbo_doc_id or 'none'})."
        )
    number = str(doc.get("DocNumber") or "")
    # Where QuickBooks numbers documents, a bookkeeper may renumber one: its marker still names the order.
    if number and number not in known_numbers(order) and not carries_marker(doc, order):
        return (
            f"QuickBooks {entity.lower()} {doc_id} carries number {number}, not this order's "
            f"{' or '.join(known_numbers(order))}: it is another document."
        )
    return ""


@dataclass(frozen=True)
class WriteTarget:
    """A QuickBooks document Kadouri may write to (update, void, payment): only `write_target` makes one, after
    checking that the document QuickBooks returned is the order's own."""

    entity: str
    doc_id: str
    sync_token: str


def write_target(order: Order, current: dict) -> WriteTarget:
    """The order's document as just read from QuickBooks, cleared for a write; QboWrongLinkError otherwise."""
    entity = entity_of(order)
    problem = link_problem(order, entity, current)
    if problem:
        raise QboWrongLinkError(problem, code="wrong_link")
    return WriteTarget(entity, str(current["Id"]), str(current.get("SyncToken", "0")))


def link_problem_record(*, order: Order, problem: str, actor: Actor) -> bool:
    """Marks the (locked) order as wrongly linked, once per distinct problem, with an activity entry."""
    if order.qbo_link_problem == problem[:500]:
        return False
    order.qbo_link_problem = problem[:500]
    order.save(update_fields=["qbo_link_problem", "updated_at"])
    order_activity_log(
        order=order,
        activity_type=OrderActivity.Type.CONFLICT,
        user=actor.user,
        user_name=actor.user_name,
        ip=actor.ip,
        description=f"Wrong QuickBooks link: {problem}",
        details=actor.details | {"docId": order.qbo_doc_id, "docType": order.qbo_doc_type},
    )
    return True


def link_problem_clear(*, order: Order, actor: Actor) -> None:
    """The document carries a number Kadouri knows again (the bookkeeper put it back)."""
    if not order.qbo_link_problem:
        return
    order.qbo_link_problem = ""
    order.save(update_fields=["qbo_link_problem", "updated_at"])
    order_activity_log(
        order=order,
        activity_type=OrderActivity.Type.SYNCED_FROM_QB,
        user=actor.user,
        user_name=actor.user_name,
        ip=actor.ip,
        description=f"QuickBooks {entity_of(order).lower()} {order.qbo_doc_id} carries this order's "
        "number again; the link is sound and syncing resumes.",
        details=actor.details | {"docId": order.qbo_doc_id},
    )


def older_than_stored(order: Order, doc: dict, *, entity: str) -> bool:
    """True when `doc` is an older version of the very document the (locked) order follows: a webhook stored a
    newer one between QuickBooks' answer and the lock. Another document (an estimate's invoice) is never older."""
    return (
        follows(order, entity, doc.get("Id"))
        and Version.of(doc).compare(order.qbo_sync_token, order.qbo_last_updated) < 0
    )


@dataclass(frozen=True)
class Actor:
    """Who applies the document, for the status change and activity entries."""

    user_name: str
    user: object = None
    ip: str | None = None
    details: dict = field(default_factory=dict)


def document_store(order: Order, doc: dict | None, *, entity: str, void_hint: bool = False) -> None:
    """QuickBooks' values on the (locked) order, saved: number, total, tax, balance, payment status, state,
    SyncToken and last-updated time. None (deleted) changes only the state. Only ever the order's own document:
    a link is made by `document_link` or `follow_invoice`, never here."""
    if doc is not None and not follows(order, entity, doc.get("Id")):
        raise ValueError(
            f"order {order.pk} follows {order.qbo_doc_type} {order.qbo_doc_id}, not {entity} {doc.get('Id')}"
        )
    order.qbo_doc_state = doc_state(entity, doc, void_hint=void_hint)
    fields = ["qbo_doc_state", "updated_at"]
    if doc is not None:
        order.qbo_doc_number = str(doc.get("DocNumber") or order.qbo_doc_number or "")[:21]
        if doc.get("SyncToken") is not None:
            order.qbo_sync_token = str(doc["SyncToken"])
        order.qbo_last_updated = (
            parse_time((doc.get("MetaData") or {}).get("LastUpdatedTime")) or order.qbo_last_updated
        )
        order.qbo_total = money(doc.get("TotalAmt"))
        # QuickBooks' tax, as it computed it (adapt/tax.py): Kadouri never computes tax itself
        order.qbo_tax_total, order.qbo_tax_lines = document_tax(doc)
        fields += [
            "qbo_doc_number",
            "qbo_sync_token",
            "qbo_last_updated",
            "qbo_total",
            "qbo_tax_total",
            "qbo_tax_lines",
        ]
        fields += store_currency(order, doc)  # the document's currency, rate and home total
        fields += store_delivery(order, doc, entity=entity)  # emailed when and to whom, paid online how
        if entity in PAID_ENTITIES:
            voided = order.qbo_doc_state == "Voided"
            order.qbo_balance = ZERO if voided else document_balance(entity, doc)
            order.payment_status = payment_status(order.qbo_total, order.qbo_balance)
            fields += ["qbo_balance", "payment_status"]
    order.save(update_fields=fields)


def document_apply(
    *,
    order: Order,
    doc: dict | None,
    entity: str,
    actor: Actor,
    void_hint: bool = False,
    voided_text: str = "",
    reopened_because: str = "",
    payments_since: tuple | None = None,
) -> str:
    """Applies QuickBooks' document (None = deleted) to the locked order: its values, then the status change
    they imply, each with its activity entry — voided or deleted → cancelled; balance 0 → paid; a paid order
    whose balance opens again → posted. Returns what changed: "cancelled", "paid", "reopened" or "".
    `payments_since` = (total, balance) as Kadouri knew them, for callers that read the document for another
    reason (an update's answer, the invoice an order starts following): a partial payment since is logged."""
    old_state = order.qbo_doc_state
    document_store(order, doc, entity=entity, void_hint=void_hint)
    if entity not in PAID_ENTITIES:
        return ""
    ref = f"#{order.qbo_doc_number or order.qbo_doc_id}"
    label = label_of(entity)
    who = {"by": actor.user, "user_name": actor.user_name, "ip": actor.ip}
    log_kw = {
        "order": order,
        "user": actor.user,
        "user_name": actor.user_name,
        "ip": actor.ip,
        "details": actor.details
        | {
            "invoice_id": order.qbo_doc_id,
            "total": str(order.qbo_total),
            "balance": str(order.qbo_balance),
            "payment_status": order.payment_status,
            "state": order.qbo_doc_state,
        },
    }
    if order.qbo_doc_state in GONE_STATES:
        if order.status == Order.Status.CANCELLED and old_state == order.qbo_doc_state:
            return ""
        how = order.qbo_doc_state.lower()
        if order.status != Order.Status.CANCELLED:
            order_set_status(
                order=order, status=Order.Status.CANCELLED, reason=f"{label} {ref} was {how} in QuickBooks", **who
            )
        if entity == "Invoice":
            default = VOIDED_TEXT + ("" if how == "voided" else f" (invoice {ref} was deleted)")
        else:
            default = f"Sales receipt {ref} {how} in QuickBooks; the cash sale is cancelled"
        text = voided_text or default
        order_activity_log(activity_type=OrderActivity.Type.INVOICE_VOIDED, description=text, **log_kw)
        return "cancelled"
    paid = order.payment_status == Order.PaymentStatus.PAID
    if paid and order.status in (Order.Status.DRAFT, Order.Status.POSTED_TO_QB):
        order_set_status(
            order=order,
            status=Order.Status.PAID,
            reason=f"{label} {ref} balance reached {display_money(0, order)} in QuickBooks",
            **who,
        )
        order_activity_log(
            activity_type=OrderActivity.Type.PAYMENT_RECEIVED, description=paid_text(order, label), **log_kw
        )
        return "paid"
    if not paid and order.status == Order.Status.PAID:
        order_set_status(
            order=order,
            status=Order.Status.POSTED_TO_QB,
            reason=f"invoice {ref} has an open balance again in QuickBooks",
            **who,
        )
        order_activity_log(
            activity_type=OrderActivity.Type.SYNCED_FROM_QB,
            description=reopened_text(order, reopened_because),
            **log_kw,
        )
        return "reopened"
    if payments_since is not None:
        _payment_seen_log(order=order, before=payments_since, actor=actor)
    return ""


def follow_invoice(*, order: Order, invoice: dict, actor: Actor) -> str:
    """The (locked) estimate's order now follows the invoice made from it — by Kadouri's Convert to Invoice or
    by a bookkeeper in QuickBooks: its type switches, the invoice's own version starts here, and the invoice
    is applied (a payment already recorded on it makes the order paid). Returns what document_apply changed."""
    if order.qbo_doc_type != Order.DocType.ESTIMATE:
        raise ValueError(f"order {order.pk} follows {order.qbo_doc_type} {order.qbo_doc_id}, not an estimate")
    order.version += 1  # a new document: later sync jobs must not be taken for ones done on the estimate
    order.save(update_fields=["version", "updated_at"])
    document_link(order, invoice, doc_type=Order.DocType.INVOICE)
    total = money(invoice.get("TotalAmt"))  # nothing was paid as far as the order knew
    return document_apply(order=order, doc=invoice, entity="Invoice", actor=actor, payments_since=(total, total))


def document_link(order: Order, doc: dict, *, doc_type: str) -> None:
    """The (locked) order starts following `doc`: its type, id and the number QuickBooks gave it, with no version
    seen yet. Refuses to move an order off a document it already follows, but an estimate to its invoice."""
    moving = order.qbo_doc_id and not follows(order, ENTITY_OF_TYPE[doc_type], doc.get("Id"))
    if moving and not (order.qbo_doc_type == Order.DocType.ESTIMATE and doc_type == Order.DocType.INVOICE):
        raise ValueError(f"order {order.pk} already follows {order.qbo_doc_type} {order.qbo_doc_id}")
    order.qbo_doc_type, order.qbo_doc_id = doc_type, str(doc["Id"])
    order.qbo_doc_number = str(doc.get("DocNumber") or "")[:21]
    order.qbo_sync_token, order.qbo_last_updated, order.qbo_link_problem = "", None, ""
    order.save(
        update_fields=[
            "qbo_doc_type",
            "qbo_doc_id",
            "qbo_doc_number",
            "qbo_sync_token",
            "qbo_last_updated",
            "qbo_link_problem",
            "updated_at",
        ]
    )


def paid_text(order: Order, label: str = "invoice") -> str:
    number = order.qbo_doc_number or order.qbo_doc_id
    return f"{PAID_TEXT} ({label} #{number}: {display_money(order.qbo_total, order)} paid in full)"


def reopened_text(order: Order, because: str) -> str:
    return (
        f"{because or 'Invoice balance went up in QuickBooks'} - invoice #{order.qbo_doc_number or order.qbo_doc_id} "
        f"balance is {display_money(order.qbo_balance, order)} of {display_money(order.qbo_total, order)}; the order "
        f"is {order.get_payment_status_display().lower()} again"
    )


def partial_payment_text(order: Order) -> str:
    return (
        f"Payment received in QuickBooks - invoice #{order.qbo_doc_number or order.qbo_doc_id} is partially paid, "
        f"balance {display_money(order.qbo_balance, order)} of {display_money(order.qbo_total, order)}"
    )


def _payment_seen_log(*, order: Order, before: tuple, actor: Actor) -> bool:
    """A payment Kadouri learns of from a document it read for another reason (its own update's answer): logged
    as a payment received, as a webhook would have logged it. `before` = (total, balance) before the read."""
    if order.payment_status != Order.PaymentStatus.PARTIAL or paid_amount(*before) >= paid_amount(
        order.qbo_total, order.qbo_balance
    ):
        return False
    order_activity_log(
        order=order,
        activity_type=OrderActivity.Type.PAYMENT_RECEIVED,
        description=partial_payment_text(order),
        user=actor.user,
        user_name=actor.user_name,
        ip=actor.ip,
        details=actor.details
        | {"invoice_id": order.qbo_doc_id, "total": str(order.qbo_total), "balance": str(order.qbo_balance)},
    )
    return True
