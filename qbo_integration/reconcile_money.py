"""Reconciliation of an order's money (docs/quickbooks/money.md#reconciling-money): the payments its invoice links
and its payment rows, its credit memos and their refunds, compared with QuickBooks' own transactions.

Webhooks and the catch-up keep the QboMoney rows; a lost webhook whose catch-up window has passed leaves a row
missing or stale while the invoice's balance is right. The report reads every transaction it compares with one
query per 100 ids of each kind (`read_many`), never one request per payment. QuickBooks is the book of record for
money, so the only fix is to store its transactions as it has them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal

from django.db.models import Q
from django.template.defaultfilters import pluralize

from kadouri.display import money as display_money
from orders.models import Order, OrderActivity
from orders.services import order_activity_log

from .documents.apply import Cause
from .documents.credits import credit_store, refund_store
from .documents.payments import invoice_parts, payment_store
from .documents.reading import ZERO, is_voided, money
from .models import QboMoney
from .reads import read_many

Entity = QboMoney.Entity
MONEY_FIELDS = frozenset({"payments", "credits", "refunds"})  # QuickBooks' to decide: never pushed from Kadouri

# Entity → QuickBooks id → the transaction as QuickBooks has it (None: QuickBooks no longer has it).
Book = dict[str, dict[str, dict | None]]


@dataclass
class Drift:
    field: str
    kadouri: str
    quickbooks: str


@dataclass
class MoneyDrift(Drift):
    detail: str = ""  # which transactions differ


def money_rows(orders, realm_id: str) -> dict[int, list[QboMoney]]:
    """Order id → its active money rows, in one query: its payments and credit memos, and the refunds of those
    memos. `orders`: the orders or a query of their ids."""
    rows: dict[int, list[QboMoney]] = {}
    found = (
        QboMoney.objects.filter(realm_id=realm_id, state=QboMoney.State.ACTIVE)
        .filter(Q(order__in=orders) | Q(entity=Entity.REFUND_RECEIPT, credit__order__in=orders))
        .select_related("credit")
        .order_by("pk")
    )
    for row in found:
        # A refund belongs with the memo it gives back: it is compared among that memo's order's credits.
        order_id = row.credit.order_id if row.entity == Entity.REFUND_RECEIPT and row.credit_id else row.order_id
        if order_id is not None:
            rows.setdefault(order_id, []).append(row)
    return rows


def _of(rows: list[QboMoney], entity: str) -> list[QboMoney]:
    return [r for r in rows if r.entity == entity]


def _links(doc: dict | None, txn_type: str) -> list[str]:
    """Ids of the transactions of `txn_type` a document links at its top level (an invoice's payments, a credit
    memo's payments and refunds)."""
    return [str(link.get("TxnId")) for link in (doc or {}).get("LinkedTxn") or [] if link.get("TxnType") == txn_type]


def _refund_rows(rows: list[QboMoney]) -> list[QboMoney]:
    """The refunds of the order's own credit memos."""
    memos = {r.pk for r in _of(rows, Entity.CREDIT_MEMO)}
    return [r for r in _of(rows, Entity.REFUND_RECEIPT) if r.credit_id in memos]


def _pays_invoice(order: Order) -> bool:
    return order.qbo_doc_type == Order.DocType.INVOICE


def _read(entity: str, ids: list[str], realm_id: str) -> dict[str, dict | None]:
    return read_many(entity, ids, realm_id=realm_id) if ids else {}


def money_read(
    orders: list[Order], docs: dict[int, dict | None], rows: dict[int, list[QboMoney]], realm_id: str
) -> Book:
    """Every transaction the orders' money is compared with: the payments their invoices link or their rows hold,
    their credit memos, then the refunds of those memos (rows, or links on the memos QuickBooks answered). One query
    per 100 ids of each kind; `docs`: order id → its document as the report read it."""
    payment_ids: list[str] = []
    memo_ids: list[str] = []
    for order in orders:
        mine = rows.get(order.pk, [])
        if _pays_invoice(order):
            payment_ids += _links(docs.get(order.pk), "Payment") + [r.qbo_id for r in _of(mine, Entity.PAYMENT)]
        memo_ids += [r.qbo_id for r in _of(mine, Entity.CREDIT_MEMO)]
    book: Book = {
        Entity.PAYMENT: _read("Payment", payment_ids, realm_id),
        Entity.CREDIT_MEMO: _read("CreditMemo", memo_ids, realm_id),
    }
    refund_ids = [r.qbo_id for order in orders for r in _refund_rows(rows.get(order.pk, []))]
    refund_ids += [i for memo in book[Entity.CREDIT_MEMO].values() for i in _links(memo, "RefundReceipt")]
    book[Entity.REFUND_RECEIPT] = _read("RefundReceipt", refund_ids, realm_id)
    return book


# --- the comparison (pure) -------------------------------------------------------------------------------------


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{pluralize(n)}" if n else f"no {noun}s"


def _gone(doc: dict | None) -> str:
    if doc is None:
        return "deleted in QuickBooks"
    return "voided in QuickBooks" if is_voided(doc) else "no longer on this order in QuickBooks"


def _drift(name: str, ours: dict, theirs: dict, book: dict, summary, changed) -> list[MoneyDrift]:
    """One drift line for a kind of transaction: both sides summed up, and which transactions differ."""
    if ours == theirs:
        return []
    notes = []
    for txn_id in dict.fromkeys([*ours, *theirs]):
        label = f"{name.capitalize()} {txn_id}"
        if txn_id not in theirs:
            notes.append(f"{label} {_gone(book.get(txn_id))}")
        elif txn_id not in ours:
            notes.append(f"{label} has no row in Kadouri")
        elif ours[txn_id] != theirs[txn_id]:
            notes.append(f"{label}: {changed(ours[txn_id])} → {changed(theirs[txn_id])}")
    return [MoneyDrift(f"{name}s", summary(ours), summary(theirs), "; ".join(notes))]


def _payments_drift(order: Order, doc: dict | None, rows: list[QboMoney], payments: dict) -> list[MoneyDrift]:
    ours = {r.qbo_id: (r.amount, r.credit_applied) for r in rows}
    theirs: dict[str, tuple[Decimal, Decimal]] = {}
    for payment_id in dict.fromkeys([*_links(doc, "Payment"), *ours]):
        payment = payments.get(payment_id)
        part = None if payment is None or is_voided(payment) else invoice_parts(payment).get(order.qbo_doc_id)
        if part is not None:
            theirs[payment_id] = part

    def parts(part: tuple[Decimal, Decimal]) -> str:
        paid, credit = part
        return display_money(paid, order) + (f" + {display_money(credit, order)} credit" if credit else "")

    def summary(side: dict) -> str:
        if not side:
            return _count(0, "payment")
        paid, credit = (sum((p[i] for p in side.values()), ZERO) for i in (0, 1))
        return f"{_count(len(side), 'payment')}, {parts((paid, credit))}"

    return _drift("payment", ours, theirs, payments, summary, parts)


def _credits_drift(order: Order, rows: list[QboMoney], memos: dict) -> list[MoneyDrift]:
    ours = {r.qbo_id: (r.amount, r.unapplied) for r in rows}
    theirs = {
        memo_id: (money(memo.get("TotalAmt")) or ZERO, money(memo.get("RemainingCredit")) or ZERO)
        for memo_id in ours
        if (memo := memos.get(memo_id)) is not None
    }

    def amounts(credit: tuple[Decimal, Decimal]) -> str:
        return f"{display_money(credit[0], order)}, {display_money(credit[1], order)} left"

    def summary(side: dict) -> str:
        if not side:
            return _count(0, "credit")
        total, left = (sum((c[i] for c in side.values()), ZERO) for i in (0, 1))
        return f"{_count(len(side), 'credit')}, {amounts((total, left))}"

    return _drift("credit", ours, theirs, memos, summary, amounts)


def _refunds_drift(order: Order, credits: list[QboMoney], rows: list[QboMoney], book: Book) -> list[MoneyDrift]:
    ours = {r.qbo_id: r.amount for r in rows}
    linked = [i for r in credits for i in _links(book[Entity.CREDIT_MEMO].get(r.qbo_id), "RefundReceipt")]
    refunds = book[Entity.REFUND_RECEIPT]
    theirs = {
        refund_id: money(refund.get("TotalAmt")) or ZERO
        for refund_id in dict.fromkeys([*linked, *ours])
        if (refund := refunds.get(refund_id)) is not None
    }

    def summary(side: dict) -> str:
        total = sum(side.values(), ZERO)
        return f"{_count(len(side), 'refund')}, {display_money(total, order)}" if side else _count(0, "refund")

    return _drift("refund", ours, theirs, refunds, summary, lambda amount: display_money(amount, order))


def money_drift(order: Order, doc: dict | None, rows: list[QboMoney], book: Book) -> list[MoneyDrift]:
    """Pure comparison of the order's money rows with QuickBooks' transactions (`book`, from `money_read`): a
    missing row, a row for a transaction deleted, voided or moved to another invoice, and a different amount, credit
    part or remaining credit. `doc`: the order's document as the report read it."""
    drift: list[MoneyDrift] = []
    if _pays_invoice(order):
        drift += _payments_drift(order, doc, _of(rows, Entity.PAYMENT), book.get(Entity.PAYMENT, {}))
    credits = _of(rows, Entity.CREDIT_MEMO)
    if credits:
        drift += _credits_drift(order, credits, book.get(Entity.CREDIT_MEMO, {}))
        drift += _refunds_drift(order, credits, _refund_rows(rows), book)
    return drift


# --- the fix ----------------------------------------------------------------------------------------------------


def money_take_quickbooks(order: Order, doc: dict | None, realm_id: str) -> str:
    """Stores the order's transactions as QuickBooks has them (deleted ones marked deleted), through the same stores
    as a webhook, and logs what changed on the order. Answers that in words ("" when the money was in step)."""
    rows = money_rows([order.pk], realm_id).get(order.pk, [])
    book = money_read([order], {order.pk: doc}, {order.pk: rows}, realm_id)
    drift = money_drift(order, doc, rows, book)
    if not drift:
        return ""
    # Memos before refunds and payments: their rows point at the memo's row.
    for memo_id, memo in book[Entity.CREDIT_MEMO].items():
        credit_store(memo or {"Id": memo_id}, realm_id=realm_id, deleted=memo is None)
    for refund_id, refund in book[Entity.REFUND_RECEIPT].items():
        refund_store(refund or {}, realm_id=realm_id, deleted=refund is None, refund_id=refund_id)
    for payment_id, payment in book[Entity.PAYMENT].items():
        payment_store(payment or {"Id": payment_id}, realm_id=realm_id, deleted=payment is None)
    text = " ".join(
        f"QuickBooks' {d.field} taken: Kadouri had {d.kadouri}, QuickBooks has {d.quickbooks} ({d.detail})."
        for d in drift
    )
    cause = Cause(source="manual")
    order_activity_log(
        order=order,
        activity_type=OrderActivity.Type.SYNCED_FROM_QB,
        description=text,
        user_name=cause.user_name,
        details=cause.details(money=[asdict(d) for d in drift]),
    )
    return text
