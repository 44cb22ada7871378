"""CreditMemo (docs/quickbooks/entities.md#creditmemo): credit owed to a customer, used up by payments that apply it
to invoices and by refund receipts that pay it out; ``RemainingCredit`` (and ``Balance``, the same) is what is left.
"""

from __future__ import annotations

from ..errors import business
from ..ledger import Ledger
from ..values import ZERO, Obj, cents, names
from .credit import memo_links, used_credit
from .sales import WRITABLE, SalesForm


class CreditMemo(SalesForm):
    name = "CreditMemo"
    due_dated = False
    writable = WRITABLE | names("PaymentMethodRef DepositToAccountRef")
    read_only = names("TotalAmt Balance RemainingCredit HomeBalance HomeTotalAmt TxnTaxDetail DeliveryInfo")

    def build(self, books: Ledger, fields: Obj, old: Obj | None, body: Obj, include: frozenset[str]) -> Obj:
        if fields.get("ExchangeRate") == 0:
            # python-quickbooks' CreditMemo sends ExchangeRate 0 by default: not given (see the README's Decisions)
            fields = {k: v for k, v in fields.items() if k != "ExchangeRate"}
        return super().build(books, fields, old, body, include)

    def finish(self, books: Ledger, obj: Obj, old: Obj | None) -> None:
        used = used_credit(books, old["Id"]) if old else ZERO
        if used > obj["TotalAmt"]:
            raise business(
                f"The credit memo total ({obj['TotalAmt']}) can't be less than the credit already applied or "
                f"refunded ({used})."
            )
        obj["RemainingCredit"] = obj["Balance"] = cents(obj["TotalAmt"] - used)
        # Links are made by the payments and refunds that use the memo, never by the client.
        obj["LinkedTxn"] = memo_links(books, old["Id"]) if old else []
        for key in ("PaymentMethodRef", "DepositToAccountRef"):
            obj.pop(key, None)  # accepted (python-quickbooks has them) and not stored: a memo moves no money

    def check_unlinked(self, books: Ledger, obj: Obj, verb: str) -> None:
        links = memo_links(books, obj["Id"])
        if links:
            users = ", ".join(f"{link['TxnType']} {link['TxnId']}" for link in links)
            raise business(
                f"You can't {verb} this credit memo because {users} still uses it. "
                "Delete or void those transactions first.",
                "LinkedTxn",
            )
