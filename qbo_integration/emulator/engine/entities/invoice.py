"""Invoice (docs/quickbooks/entities.md#invoice): balance after payments, the link to the estimate it converts, void and
delete rules."""

from __future__ import annotations

from typing import Any

from ..errors import business, invalid_ref, unsupported
from ..ledger import Ledger
from ..values import ZERO, Obj, cents, names
from .estimate import link_invoice, unlink_invoice
from .payment import applied_to_invoice, payment_links
from .sales import WRITABLE, SalesForm


class Invoice(SalesForm):
    name = "Invoice"
    voidable = True
    open_amount = "Balance"
    writable = WRITABLE | names(
        "AllowIPNPayment AllowOnlinePayment AllowOnlineCreditCardPayment AllowOnlineACHPayment DepositToAccountRef"
    )
    read_only = names(
        "TotalAmt Balance HomeBalance HomeTotalAmt TxnTaxDetail InvoiceLink DeliveryInfo EInvoiceStatus Deposit"
    )

    def finish(self, books: Ledger, obj: Obj, old: Obj | None) -> None:
        estimates = estimate_links(books, obj.get("LinkedTxn", []))
        applied = applied_to_invoice(books, old["Id"]) if old else {}
        paid = sum(applied.values(), ZERO)
        if paid > obj["TotalAmt"]:
            raise business(f"The invoice total can't be less than the payments applied ({paid}).")
        obj["Balance"] = cents(obj["TotalAmt"] - paid)
        obj["Deposit"] = ZERO
        obj["LinkedTxn"] = estimates + payment_links(applied)

    def check_unlinked(self, books: Ledger, obj: Obj, verb: str) -> None:
        # docs/quickbooks/api.md#delete: "Invoice: unlink linked transactions first".
        if applied_to_invoice(books, obj["Id"]):
            raise business(
                f"You can't {verb} this invoice because payments are applied to it. Delete or void the payments first."
            )

    def after_write(self, books: Ledger, old: Obj | None, new: Obj | None) -> None:
        super().after_write(books, old, new)
        invoice_id = (new or old or {})["Id"]
        before, after = linked_ids(old, "Estimate"), linked_ids(new, "Estimate")
        for estimate_id in sorted(after - before):
            link_invoice(books, estimate_id, invoice_id)
        for estimate_id in sorted(before - after):
            unlink_invoice(books, estimate_id, invoice_id)


def estimate_links(books: Ledger, links: Any) -> list[Obj]:
    result: list[Obj] = []
    for link in links if isinstance(links, list) else []:
        txn_type = link.get("TxnType") if isinstance(link, dict) else None
        if txn_type == "Payment":
            continue  # docs/quickbooks/entities.md#invoice: payment links are read-only, set by payments
        if txn_type != "Estimate":
            raise unsupported(f"Linking an Invoice to {txn_type} is not supported")
        txn_id = str(link.get("TxnId", ""))
        if txn_id not in books.table("Estimate"):
            raise invalid_ref("LinkedTxn", txn_id)
        if not any(r["TxnId"] == txn_id for r in result):
            result.append({"TxnId": txn_id, "TxnType": "Estimate"})
    if len(result) > 1:  # docs/quickbooks/entities.md#invoice: only one Estimate link per invoice
        raise business("An invoice can be linked to only one estimate.", "LinkedTxn")
    return result


def linked_ids(obj: Obj | None, txn_type: str) -> set[str]:
    return {link["TxnId"] for link in (obj or {}).get("LinkedTxn", []) if link.get("TxnType") == txn_type}
