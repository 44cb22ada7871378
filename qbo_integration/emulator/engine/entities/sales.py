"""What sales forms (Invoice, Estimate, CreditMemo, SalesReceipt, RefundReceipt) share
(docs/quickbooks/entities.md#invoice): the customer, lines and their amounts, dates, DocNumber sequences, addresses
copied from the customer, the subtotal line, and sales tax (``sales_tax.py``)."""

from __future__ import annotations

import copy
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from ..errors import QboFault, invalid_enum, invalid_value, required, too_long, unsupported
from ..ledger import Ledger
from ..times import public_time
from ..values import ZERO, Obj, cents, names, ref_value, to_bool, to_date, to_decimal
from .base import EntityKind
from .currency import render_home_amounts, transaction_currency
from .custom_fields import keep_custom_fields, render_custom_fields
from .preferences import custom_txn_numbers
from .sales_tax import apply_sales_tax
from .stock import move_stock, require_quantities

DOC_NUMBER_MAX = 21  # docs/quickbooks/entities.md#invoice
WRITABLE = names(
    "CustomerRef Line TxnDate DueDate DocNumber SalesTermRef PrivateNote CustomerMemo "
    "BillAddr ShipAddr ShipFromAddr BillEmail BillEmailCc BillEmailBcc ShipDate "
    "ShipMethodRef TrackingNum ClassRef DepartmentRef CurrencyRef ExchangeRate "
    "CustomField LinkedTxn PrintStatus EmailStatus ApplyTaxAfterDiscount "
    "GlobalTaxCalculation TaxExemptionRef ProjectRef TransactionLocationType TxnSource "
    "RecurDataRef FreeFormAddress"
)


class SalesForm(EntityKind):
    deletable = True
    customer_required = True  # a SalesReceipt or RefundReceipt may go without one
    due_dated = True  # has a DueDate (from TxnDate and the term when not sent)

    def finish(self, books: Ledger, obj: Obj, old: Obj | None) -> None:
        """The form's own fields, once the shared ones are built."""
        raise NotImplementedError

    def build(self, books: Ledger, fields: Obj, old: Obj | None, body: Obj, include: frozenset[str]) -> Obj:
        obj = dict(fields)
        customer: Obj = {}  # without one (a sales receipt), the rules read an empty customer
        if "CustomerRef" in obj:
            obj["CustomerRef"] = books.resolve_ref(
                "Customer", obj["CustomerRef"], "CustomerRef", [ref_value(old, "CustomerRef")]
            )
            customer = books.table("Customer")[obj["CustomerRef"]["value"]]
        elif self.customer_required:
            raise required("CustomerRef")
        if "ClassRef" in obj:  # docs/quickbooks/next.md#class-and-location-tracking
            obj["ClassRef"] = books.resolve_ref("Class", obj["ClassRef"], "ClassRef", [ref_value(old, "ClassRef")])
        obj["Line"], obj["TotalAmt"] = self.build_lines(books, obj.get("Line"), old)
        require_quantities(books, self.name, obj["Line"])  # docs/quickbooks/beyond.md#stock
        transaction_currency(books, obj, customer)  # docs/quickbooks/next.md#multicurrency
        txn_date = to_date(obj.get("TxnDate"), "TxnDate") or books.now.date()
        obj["TxnDate"] = txn_date.isoformat()
        if self.due_dated:
            obj["DueDate"] = self.due_date(books, obj, customer, txn_date, old)
        elif "DueDate" in obj:
            obj["DueDate"] = (to_date(obj["DueDate"], "DueDate") or txn_date).isoformat()
        sent = obj.get("DocNumber")
        obj["DocNumber"] = self.doc_number(books, sent, old, include)
        if obj["DocNumber"] is None:
            del obj["DocNumber"]
        elif old is None and (sent is None or str(sent) == "AUTO_GENERATE"):
            obj["_numbered"] = True
        obj.setdefault("PrintStatus", "NotSet")
        obj.setdefault("EmailStatus", "NotSet")
        obj["ApplyTaxAfterDiscount"] = to_bool(obj.get("ApplyTaxAfterDiscount"), "ApplyTaxAfterDiscount", False)
        for address in ("BillAddr", "ShipAddr"):  # docs/quickbooks/entities.md#invoice: copied from the customer
            if address not in obj and address in customer:
                obj[address] = copy.deepcopy(customer[address])
        apply_sales_tax(books, obj, customer, body, (old or {}).get("Line", []))
        keep_custom_fields(books, obj, old)  # docs/quickbooks/beyond.md#the-account-code-in-quickbooks
        self.finish(books, obj, old)
        return obj

    def due_date(self, books: Ledger, obj: Obj, customer: Obj, txn_date: date, old: Obj | None) -> str:
        given = to_date(obj.get("DueDate"), "DueDate")
        if "SalesTermRef" in obj:
            obj["SalesTermRef"] = books.resolve_ref(
                "Term", obj["SalesTermRef"], "SalesTermRef", [ref_value(old, "SalesTermRef")]
            )
        if given is not None:
            return given.isoformat()
        term_id = ref_value(obj, "SalesTermRef") or ref_value(customer, "SalesTermRef")
        term = books.table("Term").get(term_id or "")
        days = int(term.get("DueDays") or 0) if term else 0  # docs/quickbooks/entities.md#invoice: TxnDate + term days
        return (txn_date + timedelta(days=days)).isoformat()

    def doc_number(self, books: Ledger, given: Any, old: Obj | None, include: frozenset[str]) -> str | None:
        if given is None and old is not None:
            return str(old["DocNumber"]) if old.get("DocNumber") else None
        text = "AUTO_GENERATE" if given is None else str(given)
        numbers = {
            str(o["DocNumber"]): o["Id"]
            for o in books.table(self.name).values()
            if o.get("DocNumber") and (old is None or o["Id"] != old["Id"])
        }
        if text == "AUTO_GENERATE":  # docs/quickbooks/entities.md#invoice
            candidate = books.company.next_doc_numbers[self.name]
            while str(candidate) in numbers:
                candidate += 1
            return str(candidate)
        if len(text) > DOC_NUMBER_MAX:
            raise too_long("DocNumber", DOC_NUMBER_MAX, len(text))
        # Custom numbers off: a number sent is stored as sent, duplicates included
        # (docs/quickbooks/next.md#docnumber-and-custom-transaction-numbers).
        if text in numbers and "allowduplicatedocnum" not in include and custom_txn_numbers(books):
            raise QboFault(
                400,
                "6140",
                "Duplicate Doc Num",
                "Duplicate Document Number Error : You must specify a different number. "
                f"This number has already been used. DocNumber={text} is assigned to "
                f"TxnType={self.name} with TxnId={numbers[text]}",
                "DocNumber",
            )
        return text

    def build_lines(self, books: Ledger, lines: Any, old: Obj | None) -> tuple[list[Obj], Decimal]:
        if not isinstance(lines, list):
            lines = []
        old_details = [line.get("SalesItemLineDetail") for line in (old or {}).get("Line", [])]
        old_refs = {key: {ref_value(detail, key) for detail in old_details} for key in ("ItemRef", "ClassRef")}
        built: list[Obj] = []
        for raw in lines:
            if not isinstance(raw, dict):
                raise invalid_value("Line")
            detail_type = raw.get("DetailType")
            if detail_type == "SubTotalLineDetail":
                continue  # docs/quickbooks/entities.md#invoice: QBO computes the subtotal line itself
            line = {k: v for k, v in raw.items() if k not in ("Id", "LineNum")}
            if detail_type == "SalesItemLineDetail":
                sales_line(books, line, old_refs)
            elif detail_type == "DescriptionOnly":
                line["Amount"] = cents(to_decimal(line.get("Amount"), "Line.Amount") or ZERO)
            elif detail_type == "DiscountLineDetail":
                pass  # needs the subtotal, computed below
            elif detail_type is None:
                raise required("Line.DetailType")
            elif detail_type == "GroupLineDetail":
                raise unsupported(f"The emulator does not support {detail_type} lines")
            else:
                raise invalid_enum("Line.DetailType", detail_type)
            built.append(line)
        if not any(line["DetailType"] != "DiscountLineDetail" for line in built):
            raise required("Line")  # docs/quickbooks/entities.md#invoice: at least one line
        total = subtotal(built)
        discount = sum(
            (discount_line(books, line, total) for line in built if line["DetailType"] == "DiscountLineDetail"),
            ZERO,
        )
        for number, line in enumerate(built, start=1):
            line["Id"], line["LineNum"] = str(number), number
        return built, cents(total - discount)

    def after_write(self, books: Ledger, old: Obj | None, new: Obj | None) -> None:
        move_stock(books, self.name, old, new)  # docs/quickbooks/beyond.md#stock: sales lower it, credits raise it
        if new is None:
            return
        numbered = new.pop("_numbered", False)  # a number QuickBooks gave (not stored)
        # Custom numbers off: only QuickBooks' own numbers move its sequence
        # (docs/quickbooks/next.md#docnumber-and-custom-transaction-numbers).
        if numbered or custom_txn_numbers(books):
            advance_doc_number(books, self.name, str(new.get("DocNumber", "")))

    def render(self, books: Ledger, obj: Obj, out: Obj, balances: dict[str, Decimal] | None) -> None:
        subtotal_line = {"Amount": subtotal(out["Line"]), "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}
        out["Line"].append(subtotal_line)  # docs/quickbooks/entities.md#invoice: subtotal line appended in responses
        render_home_amounts(obj, out)
        render_custom_fields(books, obj, out)
        if obj.get("_delivered"):  # sent by engine/delivery.py; read-only, kept through updates
            out["DeliveryInfo"] = {"DeliveryType": "Email", "DeliveryTime": public_time(obj["_delivered"])}


def sales_line(books: Ledger, line: Obj, old_refs: dict[str, set[str | None]]) -> None:
    """A sales line's item (active, unless the stored form already had it: 2500), class and amount."""
    detail = line.get("SalesItemLineDetail")
    if not isinstance(detail, dict) or "ItemRef" not in detail:
        raise required("Line.SalesItemLineDetail.ItemRef")
    detail = dict(detail)
    detail["ItemRef"] = books.resolve_ref("Item", detail["ItemRef"], "ItemRef", old_refs["ItemRef"])
    if "ClassRef" in detail:  # docs/quickbooks/next.md#class-and-location-tracking: per-line classes
        detail["ClassRef"] = books.resolve_ref("Class", detail["ClassRef"], "ClassRef", old_refs["ClassRef"])
    amount = to_decimal(line.get("Amount"), "Line.Amount")
    if amount is None:
        raise required("Line.Amount")
    qty = to_decimal(detail.get("Qty"), "Qty")
    price = to_decimal(detail.get("UnitPrice"), "UnitPrice")
    # python-quickbooks' defaults (docs/quickbooks/libraries.md#what-python-quickbooks-sends): not given
    if qty == 0 and price == 0:
        del detail["Qty"], detail["UnitPrice"]
    elif qty is not None and price is not None and cents(qty * price) != cents(amount):
        raise QboFault(  # docs/quickbooks/entities.md#invoice
            400,
            "6070",
            "Amount calculation incorrect in the request",
            f"Amount is not equal to UnitPrice * Qty. Supplied value:{amount}",
            "Line.Amount",
        )
    line["Amount"] = cents(amount)
    line["SalesItemLineDetail"] = detail


def discount_line(books: Ledger, line: Obj, total: Decimal) -> Decimal:
    detail = dict(line.get("DiscountLineDetail") or {})
    if "DiscountAccountRef" in detail:
        detail["DiscountAccountRef"] = books.resolve_ref("Account", detail["DiscountAccountRef"], "DiscountAccountRef")
    if to_bool(detail.get("PercentBased"), "PercentBased", False):
        percent = to_decimal(detail.get("DiscountPercent"), "DiscountPercent") or ZERO
        amount = cents(total * percent / 100)
    else:
        amount = cents(to_decimal(line.get("Amount"), "Line.Amount") or ZERO)
    line["Amount"], line["DiscountLineDetail"] = amount, detail
    return amount


def subtotal(lines: list[Obj]) -> Decimal:
    return sum(
        (Decimal(str(line["Amount"])) for line in lines if line.get("DetailType") == "SalesItemLineDetail"),
        ZERO,
    )


def advance_doc_number(books: Ledger, entity: str, doc_number: str) -> None:
    # Auto-numbering continues after the highest number used (docs/quickbooks/entities.md#invoice).
    if doc_number.isdigit():
        counters = books.company.next_doc_numbers
        counters[entity] = max(counters[entity], int(doc_number) + 1)
