"""Payment (docs/quickbooks/entities.md#payment): money received from a customer, applied to that customer's invoices.

A payment write changes the invoices it touches (Balance, payment links); ``refresh_invoice`` keeps them true.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from ..errors import business, invalid_ref, invalid_value, required, unsupported
from ..ledger import Ledger
from ..values import ZERO, Obj, cents, fields_of, names, ref_value, to_bool, to_date, to_decimal
from .base import EntityKind
from .currency import transaction_currency
from .receipts import deposit_account, payment_method


class Payment(EntityKind):
    name = "Payment"
    deletable = True
    voidable = True
    open_amount = "UnappliedAmt"
    writable = names(
        "CustomerRef TotalAmt Line TxnDate PaymentRefNum PaymentMethodRef "
        "DepositToAccountRef ARAccountRef PrivateNote CurrencyRef ExchangeRate "
        "CreditCardPayment TxnSource TransactionLocationType TaxExemptionRef "
        "ProcessPayment ProjectRef"
    )
    read_only = names("UnappliedAmt TxnStatus")

    def build(self, books: Ledger, fields: Obj, old: Obj | None, body: Obj, include: frozenset[str]) -> Obj:
        obj = dict(fields)
        if "CustomerRef" not in obj:
            raise required("CustomerRef")
        obj["CustomerRef"] = books.resolve_ref(
            "Customer", obj["CustomerRef"], "CustomerRef", [ref_value(old, "CustomerRef")]
        )
        transaction_currency(books, obj, books.table("Customer")[obj["CustomerRef"]["value"]])
        total = to_decimal(obj.get("TotalAmt"), "TotalAmt")
        if total is None:  # docs/quickbooks/entities.md#payment: TotalAmt and CustomerRef are required
            raise required("TotalAmt")
        if total < 0:
            raise business("The payment amount can't be negative.", "TotalAmt")
        lines, applied = payment_lines(books, obj.get("Line", []), obj, old)
        if sum(applied.values(), ZERO) > total:
            raise business("The amounts applied to invoices exceed the payment's TotalAmt.", "Line")
        obj["TotalAmt"] = cents(total)
        obj["UnappliedAmt"] = cents(total - sum(applied.values(), ZERO))  # docs/quickbooks/entities.md#payment
        obj["Line"] = lines
        txn_date = to_date(obj.get("TxnDate"), "TxnDate") or books.now.date()
        obj["TxnDate"] = txn_date.isoformat()
        obj["ProcessPayment"] = to_bool(obj.get("ProcessPayment"), "ProcessPayment", False)
        deposit_account(books, obj, old)
        payment_method(books, obj, old)
        return obj

    def after_write(self, books: Ledger, old: Obj | None, new: Obj | None) -> None:
        touched = linked_invoice_ids(old) | linked_invoice_ids(new)
        for invoice_id in sorted(touched, key=int):
            refresh_invoice(books, invoice_id)


def payment_lines(books: Ledger, lines: Any, payment: Obj, old: Obj | None) -> tuple[list[Obj], dict[str, Decimal]]:
    customer_id = payment["CustomerRef"]["value"]
    applied: dict[str, Decimal] = {}
    built: list[Obj] = []
    for raw in lines if isinstance(lines, list) else []:
        if not isinstance(raw, dict):
            raise invalid_value("Line")
        amount = to_decimal(raw.get("Amount"), "Line.Amount")
        if amount is None:
            raise required("Line.Amount")
        if amount < 0:  # docs/quickbooks/entities.md#payment: line amounts are non-negative
            raise business("A payment line amount can't be negative.", "Line.Amount")
        links = raw.get("LinkedTxn") or []
        if not isinstance(links, list) or len(links) != 1 or not isinstance(links[0], dict):
            raise required("Line.LinkedTxn")
        if links[0].get("TxnType") != "Invoice":
            raise unsupported(f"The emulator applies payments to Invoices only, not {links[0].get('TxnType')}")
        invoice_id = str(links[0].get("TxnId", ""))
        invoice = books.table("Invoice").get(invoice_id)
        if invoice is None:
            raise invalid_ref("Line.LinkedTxn.TxnId", invoice_id)
        if ref_value(invoice, "CustomerRef") != customer_id:
            raise business(f"Invoice {invoice_id} belongs to another customer.", "Line.LinkedTxn")
        applied[invoice_id] = applied.get(invoice_id, ZERO) + cents(amount)
        built.append({"Amount": cents(amount), "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]})
    for invoice_id, amount in applied.items():
        check_open_balance(books, invoice_id, amount, old)
    return built, applied


def check_open_balance(books: Ledger, invoice_id: str, amount: Decimal, old: Obj | None) -> None:
    invoice = books.table("Invoice")[invoice_id]
    others = applied_to_invoice(books, invoice_id, exclude=old["Id"] if old else None)
    open_balance = invoice["TotalAmt"] - sum(others.values(), ZERO)
    if invoice.get("_voided"):
        open_balance = ZERO
    if amount > open_balance:
        raise business(
            f"The amount applied to invoice {invoice_id} ({amount}) exceeds its open balance ({cents(open_balance)}).",
            "Line.Amount",
        )


def applied_to_invoice(books: Ledger, invoice_id: str, exclude: str | None = None) -> dict[str, Decimal]:
    """Payment id -> amount currently applied to the invoice (non-zero only)."""
    applied: dict[str, Decimal] = {}
    for payment in books.rows("Payment"):
        if payment["Id"] == exclude:
            continue
        for line in payment.get("Line", []):
            for link in line.get("LinkedTxn", []):
                if link.get("TxnType") == "Invoice" and link.get("TxnId") == invoice_id:
                    applied[payment["Id"]] = applied.get(payment["Id"], ZERO) + line["Amount"]
    return {k: v for k, v in applied.items() if v != 0}


def payment_links(applied: dict[str, Decimal]) -> list[Obj]:
    return [{"TxnId": pid, "TxnType": "Payment"} for pid in sorted(applied, key=int)]


def linked_invoice_ids(payment: Obj | None) -> set[str]:
    return {
        link["TxnId"]
        for line in (payment or {}).get("Line", [])
        for link in line.get("LinkedTxn", [])
        if link.get("TxnType") == "Invoice"
    }


def refresh_invoice(books: Ledger, invoice_id: str) -> None:
    """Bring an invoice's Balance and payment links in line with the payments applied to it now."""
    invoice = books.table("Invoice").get(invoice_id)
    if invoice is None:
        return
    applied = applied_to_invoice(books, invoice_id)
    balance = ZERO if invoice.get("_voided") else cents(invoice["TotalAmt"] - sum(applied.values(), ZERO))
    links = [link for link in invoice.get("LinkedTxn", []) if link["TxnType"] != "Payment"] + payment_links(applied)
    if balance != invoice["Balance"] or links != invoice.get("LinkedTxn", []):
        fields = copy.deepcopy(fields_of(invoice))
        fields["Balance"], fields["LinkedTxn"] = balance, links
        books.replace("Invoice", invoice, fields)
