"""RefundReceipt (docs/quickbooks/entities.md#refundreceipt): money paid back to a customer out of a bank (or other
current asset) account, which it must name. Deletable, not voidable.

Emulator extension (UNVERIFIED against Intuit, see the README's Decisions): a refund may link one CreditMemo of the
same customer in ``LinkedTxn``; it then pays out that much of the memo's RemainingCredit, given back on delete.
"""

from __future__ import annotations

from typing import Any

from ..errors import business, invalid_ref, unsupported
from ..ledger import Ledger
from ..values import ZERO, Obj, names, ref_value
from .credit import linked_ids, refresh_credit_memo, remaining_credit
from .sales import SalesForm
from .sales_receipt import RECEIPT_WRITABLE, receipt_money


class RefundReceipt(SalesForm):
    name = "RefundReceipt"
    customer_required = False
    due_dated = False
    writable = RECEIPT_WRITABLE | names("PaymentType CheckPayment")
    read_only = names("TotalAmt Balance HomeBalance HomeTotalAmt TxnTaxDetail")

    def finish(self, books: Ledger, obj: Obj, old: Obj | None) -> None:
        obj["Balance"] = ZERO  # docs/quickbooks/entities.md#refundreceipt
        # docs/quickbooks/entities.md#refundreceipt: the account refunded from is required
        receipt_money(books, obj, old, account_needed=True)
        obj["LinkedTxn"] = memo_link(books, obj, old)
        if not obj["LinkedTxn"]:
            del obj["LinkedTxn"]

    def after_write(self, books: Ledger, old: Obj | None, new: Obj | None) -> None:
        super().after_write(books, old, new)
        for memo_id in sorted(linked_ids(old, "CreditMemo") | linked_ids(new, "CreditMemo"), key=int):
            refresh_credit_memo(books, memo_id)


def memo_link(books: Ledger, obj: Obj, old: Obj | None) -> list[Obj]:
    """The one credit memo this refund pays out, checked: same customer, no more than its remaining credit."""
    links = [link for link in _links(obj.get("LinkedTxn")) if link.get("TxnType") == "CreditMemo"]
    if len(links) != len(_links(obj.get("LinkedTxn"))):
        raise unsupported("A RefundReceipt can link only a CreditMemo in the emulator")
    if not links:
        return []
    memo_ids = {str(link.get("TxnId", "")) for link in links}
    if len(memo_ids) > 1:
        raise business("A refund receipt can pay out only one credit memo.", "LinkedTxn")
    memo_id = memo_ids.pop()
    memo = books.table("CreditMemo").get(memo_id)
    if memo is None:
        raise invalid_ref("LinkedTxn.TxnId", memo_id)
    if ref_value(memo, "CustomerRef") != ref_value(obj, "CustomerRef"):
        raise business(f"CreditMemo {memo_id} belongs to another customer.", "LinkedTxn")
    available = remaining_credit(books, memo, refund=old["Id"] if old else None)
    if obj["TotalAmt"] > available:
        raise business(
            f"The refund ({obj['TotalAmt']}) exceeds the remaining credit of credit memo {memo_id} ({available}).",
            "LinkedTxn",
        )
    return [{"TxnId": memo_id, "TxnType": "CreditMemo"}]


def _links(value: Any) -> list[Obj]:
    return [link for link in value if isinstance(link, dict)] if isinstance(value, list) else []
