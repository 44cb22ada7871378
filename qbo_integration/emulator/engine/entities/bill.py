"""Bill (docs/quickbooks/beyond.md#the-brokers-own-books): what the company owes a vendor. Required ``VendorRef``
and lines (``AccountBasedExpenseLineDetail`` or ``ItemBasedExpenseLineDetail``); ``APAccountRef`` an Accounts
Payable account (default: the company's own); ``TotalAmt`` and ``Balance`` computed, the Balance lowered by the
bill payments that link it. QuickBooks has no void for a bill: it is deleted, and only while no payment links it.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from ..errors import QboFault, business, invalid_enum, invalid_value, required, too_long
from ..ledger import Ledger
from ..values import ZERO, Obj, cents, names, ref_value, to_date, to_decimal
from .base import EntityKind
from .currency import render_home_amounts, transaction_currency
from .payables import ap_account, applied_to_bill, bill_links, not_sent_rate

DOC_NUMBER_MAX = 21  # docs/quickbooks/beyond.md#the-brokers-own-books: the bill's reference number
PRIVATE_NOTE_MAX = 4000
EXPENSE_DETAILS = ("AccountBasedExpenseLineDetail", "ItemBasedExpenseLineDetail")


class Bill(EntityKind):
    name = "Bill"
    deletable = True
    writable = names(
        "VendorRef Line TxnDate DueDate DocNumber SalesTermRef APAccountRef PrivateNote CurrencyRef ExchangeRate "
        "DepartmentRef GlobalTaxCalculation TransactionLocationType VendorAddr AttachableRef TxnTaxDetail"
    )
    read_only = names("TotalAmt Balance HomeBalance HomeTotalAmt LinkedTxn")

    def build(self, books: Ledger, fields: Obj, old: Obj | None, body: Obj, include: frozenset[str]) -> Obj:
        obj = dict(not_sent_rate(fields))
        obj.pop("AttachableRef", None)  # python-quickbooks sends it; attachments are not modelled
        obj.pop("TxnTaxDetail", None)  # purchases carry no sales tax here
        if "VendorRef" not in obj:
            raise required("VendorRef")
        obj["VendorRef"] = books.resolve_ref("Vendor", obj["VendorRef"], "VendorRef", [ref_value(old, "VendorRef")])
        vendor = books.table("Vendor")[obj["VendorRef"]["value"]]
        obj["Line"], obj["TotalAmt"] = expense_lines(books, obj.get("Line"), old)
        transaction_currency(books, obj, vendor)
        obj["APAccountRef"] = ap_account(books, obj.get("APAccountRef"), old)
        txn_date = to_date(obj.get("TxnDate"), "TxnDate") or books.now.date()
        obj["TxnDate"] = txn_date.isoformat()
        obj["DueDate"] = due_date(books, obj, vendor, txn_date, old)
        if obj.get("DocNumber") is not None:  # the vendor's reference: stored as sent, never numbered
            obj["DocNumber"] = str(obj["DocNumber"])
            if len(obj["DocNumber"]) > DOC_NUMBER_MAX:
                raise too_long("DocNumber", DOC_NUMBER_MAX, len(obj["DocNumber"]))
            if "allowduplicatedocnum" not in include:
                check_unique_number(books, obj, old)
        if len(str(obj.get("PrivateNote") or "")) > PRIVATE_NOTE_MAX:
            raise too_long("PrivateNote", PRIVATE_NOTE_MAX, len(str(obj["PrivateNote"])))
        applied = applied_to_bill(books, old["Id"]) if old else {}
        paid = sum(applied.values(), ZERO)
        if paid > obj["TotalAmt"]:
            raise business(f"The bill total can't be less than the payments applied ({paid}).", "Line")
        obj["Balance"] = cents(obj["TotalAmt"] - paid)
        obj["LinkedTxn"] = bill_links(books, applied)
        return obj

    def check_unlinked(self, books: Ledger, obj: Obj, verb: str) -> None:
        # docs/quickbooks/beyond.md#the-brokers-own-books: a bill is deleted only after unlinking its payments
        applied = applied_to_bill(books, obj["Id"])
        if applied:
            payments = ", ".join(f"BillPayment {pid}" for pid in sorted(applied, key=int))
            raise business(
                f"You can't {verb} this bill because {payments} pays it. Delete or void the bill payment first.",
                "LinkedTxn",
            )

    def render(self, books: Ledger, obj: Obj, out: Obj, balances: dict[str, Decimal] | None) -> None:
        render_home_amounts(obj, out)


def check_unique_number(books: Ledger, obj: Obj, old: Obj | None) -> None:
    """docs/quickbooks/next.md#vendors-and-bills: a bill number the vendor has used already is refused (6140) unless
    the request says ``include=allowduplicatedocnum``; other vendors' numbers do not count (see the README's
    Decisions)."""
    vendor_id = ref_value(obj, "VendorRef")
    for other in books.rows("Bill"):
        same = other.get("DocNumber") == obj["DocNumber"] and ref_value(other, "VendorRef") == vendor_id
        if same and (old is None or other["Id"] != old["Id"]):
            raise QboFault(
                400,
                "6140",
                "Duplicate Doc Num",
                "Duplicate Document Number Error : You must specify a different number. This number has already "
                f"been used. DocNumber={obj['DocNumber']} is assigned to TxnType=Bill with TxnId={other['Id']}",
                "DocNumber",
            )


def expense_lines(books: Ledger, lines: Any, old: Obj | None) -> tuple[list[Obj], Decimal]:
    """The lines to store (renumbered 1..n) and their total."""
    old_refs = {
        ref_value(line.get(detail), key)
        for line in (old or {}).get("Line", [])
        for detail in EXPENSE_DETAILS
        for key in ("AccountRef", "ItemRef", "CustomerRef")
    }
    built: list[Obj] = []
    for raw in lines if isinstance(lines, list) else []:
        if not isinstance(raw, dict):
            raise invalid_value("Line")
        line = {k: v for k, v in raw.items() if k not in ("Id", "LineNum", "LinkedTxn", "CustomField")}
        detail_type = line.get("DetailType")
        if detail_type is None:
            raise required("Line.DetailType")
        if detail_type not in EXPENSE_DETAILS:
            raise invalid_enum("Line.DetailType", detail_type)
        amount = to_decimal(line.get("Amount"), "Line.Amount")
        if amount is None:
            raise required("Line.Amount")
        if amount < 0:
            raise business("A bill line amount can't be negative.", "Line.Amount")
        line["Amount"] = cents(amount)
        line[detail_type] = expense_detail(books, detail_type, line.get(detail_type), line["Amount"], old_refs)
        built.append(line)
    if not built:
        raise required("Line")
    for number, line in enumerate(built, start=1):
        line["Id"], line["LineNum"] = str(number), number
    return built, cents(sum((line["Amount"] for line in built), ZERO))


def expense_detail(books: Ledger, detail_type: str, detail: Any, amount: Decimal, keep: set[str | None]) -> Obj:
    """An account-based line needs its AccountRef, an item-based one its ItemRef (2020); Intuit's sample answers
    BillableStatus NotBillable and TaxCodeRef NON when not sent."""
    detail = dict(detail) if isinstance(detail, dict) else {}
    key, entity = ("AccountRef", "Account") if detail_type == "AccountBasedExpenseLineDetail" else ("ItemRef", "Item")
    if key not in detail:
        raise required(f"Line.{detail_type}.{key}")
    detail[key] = books.resolve_ref(entity, detail[key], key, keep)
    if "CustomerRef" in detail:  # a billable expense names the customer it is billed to
        detail["CustomerRef"] = books.resolve_ref("Customer", detail["CustomerRef"], "CustomerRef", keep)
    if entity == "Item":
        qty, price = to_decimal(detail.get("Qty"), "Qty"), to_decimal(detail.get("UnitPrice"), "UnitPrice")
        if qty and price is not None and cents(qty * price) != amount:
            raise QboFault(
                400,
                "6070",
                "Amount calculation incorrect in the request",
                f"Amount is not equal to UnitPrice * Qty. Supplied value:{amount}",
                "Line.Amount",
            )
    detail.setdefault("BillableStatus", "NotBillable")
    detail.setdefault("TaxCodeRef", {"value": "NON"})
    return detail


def due_date(books: Ledger, obj: Obj, vendor: Obj, txn_date: date, old: Obj | None) -> str:
    """DueDate as sent, else TxnDate plus the days of the bill's SalesTermRef, else of the vendor's TermRef."""
    given = to_date(obj.get("DueDate"), "DueDate")
    if "SalesTermRef" in obj:
        obj["SalesTermRef"] = books.resolve_ref(
            "Term", obj["SalesTermRef"], "SalesTermRef", [ref_value(old, "SalesTermRef")]
        )
    if given is not None:
        return given.isoformat()
    term = books.table("Term").get(ref_value(obj, "SalesTermRef") or ref_value(vendor, "TermRef") or "")
    days = int(term.get("DueDays") or 0) if term else 0
    return (txn_date + timedelta(days=days)).isoformat()
