"""Estimate (docs/quickbooks/entities.md#estimate): a quote; converting it into an invoice closes it, deleting that
invoice re-opens it."""

from __future__ import annotations

import copy

from ..errors import business, invalid_enum
from ..ledger import Ledger
from ..values import Obj, fields_of, names, to_date
from .sales import WRITABLE, SalesForm

STATUSES = frozenset({"Pending", "Accepted", "Closed", "Rejected"})  # docs/quickbooks/entities.md#estimate


class Estimate(SalesForm):
    name = "Estimate"
    writable = WRITABLE | names("TxnStatus ExpirationDate AcceptedBy AcceptedDate")
    read_only = names("TotalAmt HomeTotalAmt TxnTaxDetail DeliveryInfo")

    def finish(self, books: Ledger, obj: Obj, old: Obj | None) -> None:
        status = obj.get("TxnStatus", "Pending")
        if status not in STATUSES:
            raise invalid_enum("TxnStatus", status)
        obj["TxnStatus"] = status
        for key in ("ExpirationDate", "AcceptedDate"):
            day = to_date(obj.get(key), key)
            if day is not None:
                obj[key] = day.isoformat()
        # Links to invoices are made by the invoices (docs/quickbooks/entities.md#estimate), never by the client.
        obj["LinkedTxn"] = copy.deepcopy((old or {}).get("LinkedTxn", []))

    def check_unlinked(self, books: Ledger, obj: Obj, verb: str) -> None:
        if any(link.get("TxnType") == "Invoice" for link in obj.get("LinkedTxn", [])):
            raise business(f"You can't {verb} this estimate because an invoice is linked to it.")


def link_invoice(books: Ledger, estimate_id: str, invoice_id: str) -> None:
    estimate = books.table("Estimate")[estimate_id]
    fields = copy.deepcopy(fields_of(estimate))
    fields["LinkedTxn"] = [*fields.get("LinkedTxn", []), {"TxnId": invoice_id, "TxnType": "Invoice"}]
    fields["TxnStatus"] = "Closed"  # docs/quickbooks/entities.md#estimate (UNVERIFIED): conversion closes it
    books.replace("Estimate", estimate, fields)


def unlink_invoice(books: Ledger, estimate_id: str, invoice_id: str) -> None:
    estimate = books.table("Estimate").get(estimate_id)
    if estimate is None:
        return
    fields = copy.deepcopy(fields_of(estimate))
    fields["LinkedTxn"] = [
        link
        for link in fields.get("LinkedTxn", [])
        if not (link["TxnType"] == "Invoice" and link["TxnId"] == invoice_id)
    ]
    if not any(link["TxnType"] == "Invoice" for link in fields["LinkedTxn"]):
        fields["TxnStatus"] = "Pending"
    books.replace("Estimate", estimate, fields)
