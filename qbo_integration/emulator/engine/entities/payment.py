"""Payment (docs/quickbooks/entities.md#payment): money received from a customer, applied to that customer's invoices
and credit memos (a credit memo line offsets invoice lines: docs/quickbooks/next.md#payments-from-kadouri).

A payment write changes the documents it touches: ``refresh_invoice`` keeps an invoice's Balance and links true,
``credit.refresh_credit_memo`` a memo's RemainingCredit and links.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from ..errors import business, invalid_ref, invalid_value, required, unsupported
from ..ledger import Ledger
from ..values import ZERO, Obj, cents, fields_of, names, ref_value, to_bool, to_date, to_decimal
from .base import EntityKind
from .credit import applied_by_payments, line_linked_ids, refresh_credit_memo, remaining_credit
from .currency import transaction_currency
from .receipts import check_length, deposit_account, payment_method

LINKABLE = ("Invoice", "CreditMemo")  # the documents a payment line may apply to here


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
        lines, invoiced, credited = payment_lines(books, obj.get("Line", []), obj, old)
        # docs/quickbooks/next.md#payments-from-kadouri: credit memo lines offset invoice lines; the total pays the rest
        if credited > invoiced:
            raise business(
                f"The credit memos applied ({credited}) exceed the invoice amounts applied ({invoiced}).", "Line"
            )
        if invoiced - credited > total:
            raise business("The amounts applied to invoices exceed the payment's TotalAmt.", "Line")
        obj["TotalAmt"] = cents(total)
        obj["UnappliedAmt"] = cents(total - (invoiced - credited))  # docs/quickbooks/entities.md#payment
        obj["Line"] = lines
        txn_date = to_date(obj.get("TxnDate"), "TxnDate") or books.now.date()
        obj["TxnDate"] = txn_date.isoformat()
        obj["ProcessPayment"] = to_bool(obj.get("ProcessPayment"), "ProcessPayment", False)
        deposit_account(books, obj, old)
        payment_method(books, obj, old)
        check_length(obj, "PaymentRefNum")
        return obj

    def after_write(self, books: Ledger, old: Obj | None, new: Obj | None) -> None:
        for invoice_id in sorted(line_linked_ids(old, "Invoice") | line_linked_ids(new, "Invoice"), key=int):
            refresh_invoice(books, invoice_id)
        for memo_id in sorted(line_linked_ids(old, "CreditMemo") | line_linked_ids(new, "CreditMemo"), key=int):
            refresh_credit_memo(books, memo_id)


def payment_lines(books: Ledger, lines: Any, payment: Obj, old: Obj | None) -> tuple[list[Obj], Decimal, Decimal]:
    """The lines to store, the total applied to invoices and the total of credit memos applied."""
    customer_id = payment["CustomerRef"]["value"]
    applied: dict[tuple[str, str], Decimal] = {}
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
        txn_type = links[0].get("TxnType")
        if txn_type not in LINKABLE:
            raise unsupported(f"The emulator applies payments to Invoices and CreditMemos only, not {txn_type}")
        txn_id = str(links[0].get("TxnId", ""))
        document = books.table(txn_type).get(txn_id)
        if document is None:
            raise invalid_ref("Line.LinkedTxn.TxnId", txn_id)
        if ref_value(document, "CustomerRef") != customer_id:
            raise business(f"{txn_type} {txn_id} belongs to another customer.", "Line.LinkedTxn")
        applied[(txn_type, txn_id)] = applied.get((txn_type, txn_id), ZERO) + cents(amount)
        built.append({"Amount": cents(amount), "LinkedTxn": [{"TxnId": txn_id, "TxnType": txn_type}]})
    for (txn_type, txn_id), amount in applied.items():
        if txn_type == "Invoice":
            check_open_balance(books, txn_id, amount, old)
        else:
            check_remaining_credit(books, txn_id, amount, old)
    invoiced = sum((a for (t, _), a in applied.items() if t == "Invoice"), ZERO)
    return built, invoiced, sum((a for (t, _), a in applied.items() if t == "CreditMemo"), ZERO)


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


def check_remaining_credit(books: Ledger, memo_id: str, amount: Decimal, old: Obj | None) -> None:
    memo = books.table("CreditMemo")[memo_id]
    available = remaining_credit(books, memo, payment=old["Id"] if old else None)
    if amount > available:
        raise business(
            f"The amount applied from credit memo {memo_id} ({amount}) exceeds its remaining credit ({available}).",
            "Line.Amount",
        )


def applied_to_invoice(books: Ledger, invoice_id: str, exclude: str | None = None) -> dict[str, Decimal]:
    """Payment id -> amount currently applied to the invoice (non-zero only)."""
    return applied_by_payments(books, "Invoice", invoice_id, exclude)


def payment_links(applied: dict[str, Decimal]) -> list[Obj]:
    return [{"TxnId": pid, "TxnType": "Payment"} for pid in sorted(applied, key=int)]


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
