"""A QuickBooks payment stored as QboMoney rows: one per Kadouri order whose invoice it pays
(docs/quickbooks/money.md#payments). Used by Kadouri's own payment runner, the inbound payment handler (webhook,
inbox, CDC catch-up) and the delete runner, so every path keeps the same rows. QuickBooks' amounts are what is
stored; a row is only rewritten when a value changed, so Kadouri's own write coming back as a webhook changes
nothing."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q

from orders.models import Order
from orders.services import user_display_name

from ..models import QboMoney, QboSyncJob
from .reading import ZERO, is_voided, money, money_marker, txn_date

PAYMENT = QboMoney.Entity.PAYMENT
CENT = Decimal("0.01")
# The money jobs that write a payment: a payment, and the payment applying a credit (issued, or applied later).
PAYING_ACTIONS = (QboSyncJob.Action.RECORD_PAYMENT, QboSyncJob.Action.ISSUE_CREDIT, QboSyncJob.Action.APPLY_CREDIT)


def _linked(payment: dict, txn_type: str) -> dict[str, Decimal]:
    """TxnId → the amount of the payment's lines linking a transaction of that type."""
    amounts: dict[str, Decimal] = {}
    for line in payment.get("Line") or []:
        for link in (line or {}).get("LinkedTxn") or []:
            if link.get("TxnType") == txn_type:
                txn_id = str(link.get("TxnId"))
                amounts[txn_id] = amounts.get(txn_id, ZERO) + (money(line.get("Amount")) or ZERO)
    return amounts


def credit_shares(invoices: dict[str, Decimal], credit_used: Decimal) -> dict[str, Decimal]:
    """The part of each invoice's amount that was paid with credit. A QuickBooks payment does not say which credit
    memo line went to which invoice: its credit-memo lines are a pool spent on all of its invoice lines, so the pool
    is shared pro rata to each invoice's amount, in cents, the last invoice taking the rounding remainder so the
    parts add up to the pool exactly."""
    total = sum(invoices.values(), ZERO)
    if credit_used <= 0 or total <= 0:
        return dict.fromkeys(invoices, ZERO)
    used = min(credit_used, total)
    shares, given = {}, ZERO
    ids = list(invoices)
    for txn_id in ids[:-1]:
        share = (used * invoices[txn_id] / total).quantize(CENT, rounding=ROUND_HALF_UP)
        shares[txn_id], given = share, given + share
    shares[ids[-1]] = used - given
    return shares


def invoice_parts(payment: dict) -> dict[str, tuple[Decimal, Decimal]]:
    """Invoice id → (what the payment pays on it in money, what it pays there with credit memos), as the rows hold
    them (`amount`, `credit_applied`)."""
    invoices = _linked(payment, "Invoice")
    shares = credit_shares(invoices, sum(_linked(payment, "CreditMemo").values(), ZERO))
    return {txn_id: (paid - shares[txn_id], shares[txn_id]) for txn_id, paid in invoices.items()}


def _kadouri_job(payment: dict, job: QboSyncJob | None) -> QboSyncJob | None:
    """The Kadouri job that recorded this payment, known by the marker in its private note: a payment's own, or the
    apply step's of an issued credit (outbound/money_jobs.py keeps it in the job's params as `applyMarker`)."""
    marker = money_marker(payment)
    if not marker:
        return None
    if job is not None:
        params = job.params or {}
        return job if marker in (params.get("marker"), params.get("applyMarker")) else None
    return (
        QboSyncJob.objects.filter(action__in=PAYING_ACTIONS)
        .filter(Q(params__marker=marker) | Q(params__applyMarker=marker))
        .select_related("created_by")
        .order_by("pk")
        .first()
    )


def _values(payment: dict, order: Order, in_money: Decimal, credit_part: Decimal, credit_row) -> dict:
    method = payment.get("PaymentMethodRef") or {}
    deposit = payment.get("DepositToAccountRef") or {}
    return {
        "state": QboMoney.State.VOIDED if is_voided(payment) else QboMoney.State.ACTIVE,
        "sync_token": str(payment.get("SyncToken") or "")[:16],
        "account_id": order.buyer_id,
        "credit_id": credit_row.pk if credit_row is not None else None,
        "total": money(payment.get("TotalAmt")) or ZERO,
        "amount": in_money,
        "credit_applied": credit_part,
        "unapplied": money(payment.get("UnappliedAmt")) or ZERO,
        "currency": str((payment.get("CurrencyRef") or {}).get("value") or "")[:3],
        "txn_date": txn_date(payment),
        "method_id": str(method.get("value") or "")[:32],
        "method_name": str(method.get("name") or "")[:100],
        "reference": str(payment.get("PaymentRefNum") or "")[:21],
        "deposit_account_id": str(deposit.get("value") or "")[:32],
        "deposit_account_name": str(deposit.get("name") or "")[:100],
    }


def _save(row: QboMoney, values: dict) -> bool:
    changed = [name for name, value in values.items() if getattr(row, name) != value]
    for name in changed:
        setattr(row, name, values[name])
    if changed:
        row.save(update_fields=[*changed, "updated_at"])
    return bool(changed)


def _mark_gone(rows, state: str) -> bool:
    changed = False
    for row in rows:
        if row.state != state:
            row.state = state
            row.save(update_fields=["state", "updated_at"])
            changed = True
    return changed


def payment_store_changed(
    payment: dict, *, realm_id: str, deleted: bool = False, job: QboSyncJob | None = None
) -> tuple[list[QboMoney], bool]:
    """Stores the payment's rows; answers (the rows of the orders it pays now, whether anything changed)."""
    payment_id = str(payment.get("Id") or "")
    with transaction.atomic():
        existing = {
            row.order_id: row
            for row in QboMoney.objects.select_for_update().filter(realm_id=realm_id, entity=PAYMENT, qbo_id=payment_id)
        }
        if deleted:
            return [], _mark_gone(existing.values(), QboMoney.State.DELETED)
        if is_voided(payment) and not payment.get("Line"):
            # A voided payment has lost its links: its rows stay, voided (docs/quickbooks/api.md#void).
            return list(existing.values()), _mark_gone(existing.values(), QboMoney.State.VOIDED)
        parts = invoice_parts(payment)
        memos = _linked(payment, "CreditMemo")
        orders = {o.qbo_doc_id: o for o in Order.objects.linked_to(Order.DocType.INVOICE, list(parts))}
        credit_row = (
            QboMoney.objects.filter(realm_id=realm_id, entity=QboMoney.Entity.CREDIT_MEMO, qbo_id__in=list(memos))
            .order_by("pk")
            .first()
            if memos
            else None
        )
        ours = _kadouri_job(payment, job)
        rows, changed = [], False
        for invoice_id, order in orders.items():
            values = _values(payment, order, *parts[invoice_id], credit_row)
            row = existing.pop(order.pk, None)
            if row is None:
                row, created = _created(realm_id, payment_id, order, values, ours)
                changed |= created
            else:
                changed |= _save(row, values | _recorded(row, ours))
            rows.append(row)
        # Orders the payment no longer pays (a bookkeeper moved it to another invoice): their rows are deleted.
        changed |= _mark_gone(existing.values(), QboMoney.State.DELETED)
        return rows, changed


def _recorded(row: QboMoney, ours: QboSyncJob | None) -> dict:
    if ours is None or row.recorded_in_kadouri:
        return {}
    return _recorded_values(ours)


def _recorded_values(job: QboSyncJob) -> dict:
    person = job.created_by
    name = user_display_name(person) if person is not None else "QuickBooks sync"
    return {
        "recorded_in_kadouri": True,
        "recorded_by": person,
        "recorded_by_name": name[:150],
        "request_id": job.request_id,
    }


def _created(realm_id: str, payment_id: str, order: Order, values: dict, ours: QboSyncJob | None):
    fields = values | (_recorded_values(ours) if ours is not None else {})
    try:
        with transaction.atomic():
            row = QboMoney.objects.create(realm_id=realm_id, entity=PAYMENT, qbo_id=payment_id, order=order, **fields)
        return row, True
    except IntegrityError:  # stored meanwhile by the other path (the runner and a webhook): update that row
        row = QboMoney.objects.select_for_update().get(
            realm_id=realm_id, entity=PAYMENT, qbo_id=payment_id, order=order
        )
        return row, _save(row, values | _recorded(row, ours))


def payment_store(
    payment: dict, *, realm_id: str, deleted: bool = False, job: QboSyncJob | None = None
) -> list[QboMoney]:
    """One QboMoney(Payment) row per Kadouri order whose invoice the payment pays, as QuickBooks has it now:
    `amount` is what it paid on that invoice in money, `credit_applied` what it paid there with credit memos;
    rows of orders it no longer pays are marked deleted; a voided payment's rows voided, a deleted one's deleted.
    Who recorded it is kept from Kadouri's job when the payment carries that job's marker."""
    return payment_store_changed(payment, realm_id=realm_id, deleted=deleted, job=job)[0]
