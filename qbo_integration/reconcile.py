"""Reconciliation: every linked order compared with its QuickBooks document, drift listed, one-click fixes.

Runs in the worker (a report reads every linked document: one query per 100, reads only for the ones a
query leaves out); the page shows the last stored report. Each order's money (payments, credits, refunds) is
compared too (reconcile_money.py). Fixes: take QuickBooks' values (the document is read again and applied as the
truth, like a webhook but without the version guard, and its money transactions stored as QuickBooks has them) or
push Kadouri's (the outbound sync's update, a queued job with its own retries; never for money, which is QuickBooks'
to decide).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

from django.utils import timezone

from kadouri.display import money as display_money
from orders.models import Order

from .adapt.currency import buyer_currency
from .adapt.tax import document_tax, subtotal_in_quickbooks
from .client.errors import NOT_CONNECTED_MESSAGE, QboError, QboNotConnected, QboNotFoundError
from .connection import calls
from .connection.vault import current_connection
from .documents.apply import Cause, converting_invoice, estimate_apply, paid_document_apply
from .documents.reading import converting_invoice_id, doc_state, document_balance, money, payment_status
from .documents.stock import all_quantities_refresh
from .documents.store import ENTITY_OF_TYPE, PAID_ENTITIES, entity_of, known_numbers, link_problem
from .models import BrokerBooks, QboReconcileRun
from .outbound.requests import order_update_request
from .reads import read_many
from .reconcile_broker import broker_drifted, broker_drifts, broker_push_kadouri, broker_take_quickbooks
from .reconcile_money import MONEY_FIELDS, Drift, money_drift, money_read, money_rows, money_take_quickbooks

log = logging.getLogger(__name__)


@dataclass
class Row:
    order_id: int
    number: str
    doc_type: str
    doc_id: str
    status: str
    qbo_state: str
    drift: list[Drift] = field(default_factory=list)
    fixed: str = ""
    pushable: bool = False  # Kadouri owns the drifted content (the total); balances and states are QuickBooks'
    status_label: str = ""
    wrong_link: str = ""  # the document is not the order's own: no fix is offered, nothing is sent
    tax: str = ""  # QuickBooks' tax on the document (adapt/tax.py): its own column, never drift
    broker_pushable: bool = False  # its broker document drifted (reconcile_broker.py): Kadouri's may be pushed


PUSHABLE = {"total"}


def _linked_orders():
    # The total comes from the lines: prefetched in one query, not one per order.
    return Order.objects.linked().prefetch_related("lines").order_by("pk")


def _expected_status(order: Order, state: str) -> str | None:
    """The Kadouri status the QuickBooks state implies (None: no opinion, e.g. an estimate still open)."""
    if order.qbo_doc_type == Order.DocType.ESTIMATE:
        return None
    if state in ("Voided", "Deleted"):
        return Order.Status.CANCELLED
    return Order.Status.PAID if state == "Paid" else Order.Status.POSTED_TO_QB


def compare(order: Order, doc: dict | None) -> Row:
    """Pure comparison of one order with its document (None = gone from QuickBooks)."""
    state = doc_state(entity_of(order), doc)
    row = Row(
        order.pk,
        order.number,
        order.qbo_doc_type,
        order.qbo_doc_id,
        order.status,
        state,
        status_label=order.get_status_display(),
    )
    drift = row.drift
    # A document whose number is not the order's is another document: comparing its amounts or status with the
    # order's would invite "taking QuickBooks' values" from someone else's invoice.
    row.wrong_link = link_problem(order, entity_of(order), doc)
    if row.wrong_link:
        drift.append(
            Drift(
                "link", f"#{' or #'.join(known_numbers(order))}", f"#{(doc or {}).get('DocNumber')} (another document)"
            )
        )
        return row
    expected = _expected_status(order, state)
    if expected and expected != order.status:
        drift.append(Drift("status", order.get_status_display(), f"{state} → {Order.Status(expected).label}"))
    if doc is None or state == "Voided":
        return row
    converted_to = converting_invoice_id(doc) if order.qbo_doc_type == Order.DocType.ESTIMATE else None
    if converted_to:  # converted in QuickBooks while Kadouri did not hear: the order should follow the invoice
        drift.append(
            Drift(
                "document", f"Estimate #{order.qbo_doc_number or order.number}", f"Converted to invoice #{converted_to}"
            )
        )
    # Kadouri's amounts are the document's own currency: TotalAmt and Balance, never HomeTotalAmt or HomeBalance
    # (docs/quickbooks/next.md#multicurrency).
    code = str((doc.get("CurrencyRef") or {}).get("value") or "")
    if code and order.buyer_id and code != buyer_currency(order.buyer):
        drift.append(Drift("currency", buyer_currency(order.buyer), code))
    total, (tax, _) = money(doc.get("TotalAmt")), document_tax(doc)
    row.tax = display_money(tax, order) if tax else ""  # QuickBooks' own: shown in its column, never drift
    before_tax = subtotal_in_quickbooks(doc)  # like with like: Kadouri's subtotal against QuickBooks' before tax
    if before_tax is not None and before_tax != order.total:
        shown = display_money(before_tax, order) + (f" before {display_money(tax, order)} tax" if tax else "")
        drift.append(Drift("total", display_money(order.total, order), shown))
    if order.qbo_doc_type != Order.DocType.ESTIMATE:
        balance = document_balance(entity_of(order), doc)
        if balance != order.qbo_balance:
            drift.append(Drift("balance", display_money(order.qbo_balance, order), display_money(balance, order)))
        payment = payment_status(total, balance)
        if payment != order.payment_status:
            drift.append(
                Drift("payment status", order.get_payment_status_display(), Order.PaymentStatus(payment).label)
            )
    return row


def _documents(orders: list[Order], realm_id: str) -> dict[tuple[str, str], dict | None]:
    docs: dict[tuple[str, str], dict | None] = {}
    for doc_type, entity in ENTITY_OF_TYPE.items():  # one query per 100 ids of each kind
        ids = [o.qbo_doc_id for o in orders if o.qbo_doc_type == doc_type]
        if ids:
            docs |= {(doc_type, i): d for i, d in read_many(entity, ids, realm_id=realm_id).items()}
    return docs


def pushable(row: Row) -> bool:
    """Kadouri's values may be pushed: the order's own document, still open, whose total drifted. Never while its
    money drifted: QuickBooks is the book of record for money (docs/quickbooks/money.md#reconciling-money)."""
    fields = {d.field for d in row.drift}
    return (
        not row.wrong_link
        and row.status == Order.Status.POSTED_TO_QB
        and bool(fields & PUSHABLE)
        and not fields & MONEY_FIELDS
    )


def reconcile_run(*, by=None) -> QboReconcileRun:
    """Builds and stores the report. QuickBooks errors are recorded on the run, never raised."""
    conn = current_connection()
    run = QboReconcileRun.objects.create(realm_id=conn.realm_id if conn else "", requested_by=by)
    orders = list(_linked_orders())
    try:
        if conn is None:
            raise QboNotConnected(NOT_CONNECTED_MESSAGE)
        docs = _documents(orders, conn.realm_id)
        doc_of = {o.pk: docs.get((o.qbo_doc_type, o.qbo_doc_id)) for o in orders}
        rows = [compare(o, doc_of[o.pk]) for o in orders]
        # A wrong link's money is someone else's document's: it is not compared (no fix is offered anyway).
        followed = [o for o, row in zip(orders, rows, strict=True) if not row.wrong_link]
        money_of = money_rows(Order.objects.linked().values("pk"), conn.realm_id)
        book = money_read(followed, doc_of, money_of, conn.realm_id)
        all_quantities_refresh(realm_id=conn.realm_id)  # stock is QuickBooks' to keep (docs/quickbooks/beyond.md#stock)
        broker = broker_drifts(orders, conn.realm_id, keeps_books=conn.broker_books != BrokerBooks.KADOURI_ONLY)
    except QboError as e:
        run.error = e.message[:500]
    else:
        for order, row in zip(orders, rows, strict=True):
            if not row.wrong_link:
                row.drift += money_drift(order, doc_of[order.pk], money_of.get(order.pk, []), book)
            row.drift += broker.get(order.pk, [])
            row.pushable = pushable(row)
            row.broker_pushable = broker_drifted({d.field for d in row.drift})
        run.rows = [asdict(r) for r in rows if r.drift]
        run.checked = len(orders)
    run.finished_at = timezone.now()
    run.save()
    return run


def _mark_fixed(run_id: int | None, order_id: int, text: str) -> None:
    if not run_id:
        return
    run = QboReconcileRun.objects.filter(pk=run_id).first()
    if run is None:
        return
    for row in run.rows:
        if row["order_id"] == order_id:
            row["fixed"] = text[:300]
    run.save(update_fields=["rows"])


def reconcile_take_quickbooks(*, order_id: int, run_id: int | None = None) -> str:
    """QuickBooks' document is the truth: its number, total, balance, payment status and state (voided or
    deleted → cancelled) are applied to the order, with an activity entry. Its payments, credits and refunds are
    stored as QuickBooks has them first, as a payment's webhook stores them before the invoice."""
    order = Order.objects.get(pk=order_id)
    cause = Cause(source="manual")
    entity, doc_id = entity_of(order), order.qbo_doc_id
    try:
        doc = calls.read(entity, doc_id)
    except QboNotFoundError:
        doc = None
    conn = current_connection()
    money_text = ""
    if conn is not None and entity in PAID_ENTITIES and not link_problem(order, entity, doc):
        money_text = money_take_quickbooks(order, doc, conn.realm_id)
    # A wrong link is refused inside the apply functions, under the order's lock (documents.link_problem).
    if entity == "Estimate":
        # Converted in QuickBooks: the order follows the invoice, as the estimate's webhook would have made it.
        invoice = converting_invoice(doc)
        outcome = estimate_apply(
            order_id=order.pk, doc_id=doc_id, estimate=doc, cause=cause, force=True, invoice=invoice
        )
    else:
        outcome = paid_document_apply(entity, order_id=order.pk, doc_id=doc_id, doc=doc, cause=cause, force=True)
    broker_text = broker_take_quickbooks(order)  # the order's bill or commission invoice, as QuickBooks has it
    text = " ".join(filter(None, [f"Took QuickBooks' values: {outcome.text}", money_text, broker_text]))
    _mark_fixed(run_id, order.pk, text)
    return text


def money_drifted(run: QboReconcileRun | None, order_id: int) -> bool:
    """The report's row for the order lists money drift: Kadouri's values are not to be pushed for it."""
    rows = run.rows if run is not None else []
    return any(d["field"] in MONEY_FIELDS for r in rows if r["order_id"] == order_id for d in r["drift"])


def reconcile_push_kadouri(*, order_id: int, by=None, run_id: int | None = None) -> str:
    """Kadouri's order is the truth: the outbound sync updates the QuickBooks document (a queued job)."""
    order = Order.objects.get(pk=order_id)
    try:
        job = order_update_request(order=order, by=by)
    except Exception as e:  # SyncRefused (paid, cancelled, …) or a domain error: say why
        text = f"Could not push Kadouri's values: {e}"
    else:
        text = f"Pushed Kadouri's values (sync job {job.pk}: {job.get_state_display().lower()})."
    _mark_fixed(run_id, order.pk, text)
    return text


def reconcile_push_broker(*, order_id: int, by=None, run_id: int | None = None) -> str:
    """Kadouri's broker document is the truth (reconcile_broker.py): its job creates, updates or removes it."""
    text = broker_push_kadouri(Order.objects.get(pk=order_id), by=by)
    _mark_fixed(run_id, order_id, text)
    return text
