"""What a QuickBooks credit memo, its refund and a payment applying it mean for Kadouri
(docs/quickbooks/money.md#credits): one QboMoney row each, holding QuickBooks' amounts. Kadouri's own writes and the
events they cause end in the same row: it is found by QuickBooks' id, and a version older than the stored one changes
nothing."""

from __future__ import annotations

import re

from django.db import transaction

from accounts.models import Account
from orders.models import Order
from orders.services import user_display_name

from ..models import QboMoney, QboSyncJob
from .reading import ZERO, Version, money, money_marker, txn_date

Entity = QboMoney.Entity
_ORDER_NUMBER = re.compile(r"Kadouri order (\S+) \[kadouri-money:")


def money_row(realm_id: str, entity: str, qbo_id: str) -> QboMoney | None:
    return QboMoney.objects.filter(realm_id=realm_id, entity=entity, qbo_id=str(qbo_id)).order_by("pk").first()


def _ref(doc: dict, key: str) -> str:
    return str((doc.get(key) or {}).get("value") or "")


def buyer_of(doc: dict) -> Account | None:
    customer_id = _ref(doc, "CustomerRef")
    return Account.objects.filter(qbo_customer_id=customer_id).first() if customer_id else None


def marked_order(doc: dict) -> Order | None:
    """The order a money transaction is for: its job's (by the marker), else the order its note names."""
    marker = money_marker(doc)
    if not marker:
        return None
    job = QboSyncJob.objects.filter(params__marker=marker).exclude(order=None).select_related("order").first()
    if job is not None:
        return job.order
    found = _ORDER_NUMBER.search(str(doc.get("PrivateNote") or ""))
    return Order.objects.filter(number=found.group(1)).first() if found else None


def memo_lines(memo: dict) -> list[dict]:
    """A credit memo's lines as QuickBooks has them (for a credit not issued from Kadouri)."""
    lines = []
    for line in memo.get("Line", []):
        if line.get("DetailType") != "SalesItemLineDetail":
            continue
        detail = line.get("SalesItemLineDetail") or {}
        qty, price = detail.get("Qty"), detail.get("UnitPrice")
        lines.append(
            {
                "description": str(line.get("Description") or (detail.get("ItemRef") or {}).get("name") or ""),
                "itemId": str((detail.get("ItemRef") or {}).get("value") or ""),
                "quantity": None if qty is None else str(qty),
                "unitPrice": None if price is None else str(money(price)),
                "amount": str(money(line.get("Amount")) or ZERO),
            }
        )
    return lines


def _older(row: QboMoney, doc: dict) -> bool:
    return bool(row.sync_token) and Version.of(doc).compare(row.sync_token, None) < 0


def _recorded_by(job: QboSyncJob | None) -> dict:
    if job is None:
        return {"recorded_in_kadouri": False}
    return {
        "recorded_in_kadouri": True,
        "recorded_by": job.created_by,
        "recorded_by_name": user_display_name(job.created_by) if job.created_by else "QuickBooks sync",
        "request_id": job.request_id,
    }


def _common(doc: dict) -> dict:
    return {
        "sync_token": str(doc.get("SyncToken") or ""),
        "doc_number": str(doc.get("DocNumber") or "")[:21],
        "total": money(doc.get("TotalAmt")) or ZERO,
        "currency": _ref(doc, "CurrencyRef")[:3],
        "txn_date": txn_date(doc),
    }


@transaction.atomic
def credit_store(
    memo: dict, *, realm_id: str, order: Order | None = None, job: QboSyncJob | None = None, deleted: bool = False
) -> QboMoney:
    """The credit memo's row, created or brought up to date (amount = its total, unapplied = RemainingCredit).
    A job's credit carries what was asked (reason, lines, note) and who asked."""
    row = (
        QboMoney.objects.select_for_update()
        .filter(realm_id=realm_id, entity=Entity.CREDIT_MEMO, qbo_id=str(memo["Id"]))
        .order_by("pk")
        .first()
    )
    if row is not None:
        if deleted:
            row.state = QboMoney.State.DELETED
            row.save(update_fields=["state", "updated_at"])
            return row
        if _older(row, memo):
            return row
    elif deleted:
        return QboMoney(realm_id=realm_id, entity=Entity.CREDIT_MEMO, qbo_id=str(memo["Id"]), total=0, amount=0)
    values = _common(memo) | {"unapplied": money(memo.get("RemainingCredit")) or ZERO, "state": QboMoney.State.ACTIVE}
    values["amount"] = values["total"]
    if job is not None and (row is None or not row.request_id):  # what the job asked, and who
        values |= {
            "reason": job.params.get("reason", ""),
            "note": str(job.params.get("note", ""))[:500],
            "lines": job.params.get("lines") or memo_lines(memo),
            **_recorded_by(job),
        }
    if row is None:
        order = order or (job.order if job is not None else None) or marked_order(memo)
        values = {"lines": memo_lines(memo)} | values
        values |= {"order": order, "account": order.buyer if order is not None else buyer_of(memo)}
        return QboMoney.objects.create(realm_id=realm_id, entity=Entity.CREDIT_MEMO, qbo_id=str(memo["Id"]), **values)
    for name, value in values.items():
        setattr(row, name, value)
    row.save()
    return row


def _ref_name(doc: dict, key: str) -> str:
    return str((doc.get(key) or {}).get("name") or "")[:100]


@transaction.atomic
def refund_store(
    refund: dict, *, realm_id: str, job: QboSyncJob | None = None, deleted: bool = False, refund_id: str = ""
) -> QboMoney | None:
    """The refund's row, its `credit` the memo whose RemainingCredit it consumed (None when it refunds no credit
    Kadouri knows and is not Kadouri's own)."""
    qbo_id = str(refund.get("Id") or refund_id)
    row = money_row(realm_id, Entity.REFUND_RECEIPT, qbo_id)
    if deleted:
        if row is not None:
            QboMoney.objects.filter(pk=row.pk).update(state=QboMoney.State.DELETED)
            row.refresh_from_db()
        return row
    if row is not None and _older(row, refund):
        return row
    memo_id = next(
        (str(link.get("TxnId")) for link in refund.get("LinkedTxn", []) if link.get("TxnType") == "CreditMemo"), ""
    )
    credit = money_row(realm_id, Entity.CREDIT_MEMO, memo_id) if memo_id else None
    if row is None and credit is None and job is None:
        return None
    values = _common(refund) | {
        "state": QboMoney.State.ACTIVE,
        "method_id": _ref(refund, "PaymentMethodRef"),
        "method_name": _ref_name(refund, "PaymentMethodRef"),
        "reference": str(refund.get("PaymentRefNum") or "")[:21],
        "deposit_account_id": _ref(refund, "DepositToAccountRef"),
        "deposit_account_name": _ref_name(refund, "DepositToAccountRef"),
    }
    values["amount"] = values["total"]
    if row is None:
        order = credit.order if credit is not None else (job.order if job is not None else None)
        account = credit.account if credit is not None else buyer_of(refund)
        values |= {"credit": credit, "order": order, "account": account, **_recorded_by(job)}
        return QboMoney.objects.create(realm_id=realm_id, entity=Entity.REFUND_RECEIPT, qbo_id=qbo_id, **values)
    for name, value in values.items():
        setattr(row, name, value)
    row.save()
    return row
