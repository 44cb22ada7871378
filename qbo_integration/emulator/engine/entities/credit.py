"""Credit applied: what payments apply to a document (an invoice or a credit memo) and what refund receipts take
out of a credit memo; ``refresh_credit_memo`` keeps a memo's RemainingCredit, Balance and links true
(docs/quickbooks/entities.md#creditmemo)."""

from __future__ import annotations

import copy
from decimal import Decimal

from ..ledger import Ledger
from ..values import ZERO, Obj, cents, fields_of


def applied_by_payments(books: Ledger, txn_type: str, txn_id: str, exclude: str | None = None) -> dict[str, Decimal]:
    """Payment id -> amount its lines apply to the document now (non-zero only)."""
    applied: dict[str, Decimal] = {}
    for payment in books.rows("Payment"):
        if payment["Id"] == exclude:
            continue
        for line in payment.get("Line", []):
            for link in line.get("LinkedTxn", []):
                if link.get("TxnType") == txn_type and link.get("TxnId") == txn_id:
                    applied[payment["Id"]] = applied.get(payment["Id"], ZERO) + line["Amount"]
    return {k: v for k, v in applied.items() if v != 0}


def refunded_from_memo(books: Ledger, memo_id: str, exclude: str | None = None) -> dict[str, Decimal]:
    """RefundReceipt id -> the amount it refunds out of the credit memo (its TotalAmt; non-zero only)."""
    refunded: dict[str, Decimal] = {}
    for refund in books.rows("RefundReceipt"):
        if refund["Id"] != exclude and memo_id in linked_ids(refund, "CreditMemo") and refund["TotalAmt"] != 0:
            refunded[refund["Id"]] = refund["TotalAmt"]
    return refunded


def used_credit(books: Ledger, memo_id: str, payment: str | None = None, refund: str | None = None) -> Decimal:
    """What payments and refunds (but ``payment`` and ``refund``, being rewritten) have used of a memo."""
    applied = applied_by_payments(books, "CreditMemo", memo_id, exclude=payment)
    refunded = refunded_from_memo(books, memo_id, exclude=refund)
    return sum(applied.values(), ZERO) + sum(refunded.values(), ZERO)


def remaining_credit(books: Ledger, memo: Obj, payment: str | None = None, refund: str | None = None) -> Decimal:
    return cents(memo["TotalAmt"] - used_credit(books, memo["Id"], payment, refund))


def memo_links(books: Ledger, memo_id: str) -> list[Obj]:
    """The memo's read-only links: the payments that apply it, then the refunds that pay it out."""
    applied = applied_by_payments(books, "CreditMemo", memo_id)
    refunded = refunded_from_memo(books, memo_id)
    return [{"TxnId": pid, "TxnType": "Payment"} for pid in sorted(applied, key=int)] + [
        {"TxnId": rid, "TxnType": "RefundReceipt"} for rid in sorted(refunded, key=int)
    ]


def refresh_credit_memo(books: Ledger, memo_id: str) -> None:
    """Bring a credit memo's RemainingCredit (and Balance, the same value) and links in line with what uses it now:
    a change there bumps its SyncToken and emits an Update, as a paid invoice does."""
    memo = books.table("CreditMemo").get(memo_id)
    if memo is None:
        return
    remaining, links = remaining_credit(books, memo), memo_links(books, memo_id)
    if remaining != memo["RemainingCredit"] or links != memo.get("LinkedTxn", []):
        fields = copy.deepcopy(fields_of(memo))
        fields["RemainingCredit"] = fields["Balance"] = remaining
        fields["LinkedTxn"] = links
        books.replace("CreditMemo", memo, fields)


def linked_ids(obj: Obj | None, txn_type: str) -> set[str]:
    """Ids of the documents of ``txn_type`` a document links at its top level (``LinkedTxn``)."""
    return {link["TxnId"] for link in (obj or {}).get("LinkedTxn", []) if link.get("TxnType") == txn_type}


def line_linked_ids(payment: Obj | None, txn_type: str) -> set[str]:
    """Ids of the documents of ``txn_type`` a payment's lines link."""
    return {
        link["TxnId"]
        for line in (payment or {}).get("Line", [])
        for link in line.get("LinkedTxn", [])
        if link.get("TxnType") == txn_type
    }
