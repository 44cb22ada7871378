"""BillPayment (docs/quickbooks/beyond.md#the-brokers-own-books): money paid to a vendor by check or credit card,
applied to that vendor's bills. Its lines link bills (``LinkedTxn`` TxnType Bill) and lower their Balance; a void
(``?operation=update&include=void``) zeroes it and clears its lines, a delete removes it — either way the bills open
again. ``TotalAmt`` above the lines is kept as sent (QuickBooks' vendor credit is not modelled)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..errors import business, invalid_enum, invalid_ref, invalid_value, required, unsupported
from ..ledger import Ledger
from ..values import ZERO, Obj, cents, names, ref_value, to_date, to_decimal
from .base import EntityKind
from .currency import render_home_amounts, transaction_currency
from .payables import applied_to_bill, not_sent_rate, refresh_bill

# PayType -> the block naming the account paid from, its ref, and the account type it must be.
PAY_TYPES = {
    "Check": ("CheckPayment", "BankAccountRef", "Bank"),
    "CreditCard": ("CreditCardPayment", "CCAccountRef", "Credit Card"),
}


class BillPayment(EntityKind):
    name = "BillPayment"
    deletable = True
    voidable = True
    open_amount = "TotalAmt"
    writable = names(
        "VendorRef PayType CheckPayment CreditCardPayment TotalAmt Line TxnDate DocNumber PrivateNote CurrencyRef "
        "ExchangeRate APAccountRef DepartmentRef ProcessBillPayment TransactionLocationType"
    )
    read_only = names("HomeTotalAmt")

    def build(self, books: Ledger, fields: Obj, old: Obj | None, body: Obj, include: frozenset[str]) -> Obj:
        obj = dict(not_sent_rate(fields))
        if "VendorRef" not in obj:
            raise required("VendorRef")
        obj["VendorRef"] = books.resolve_ref("Vendor", obj["VendorRef"], "VendorRef", [ref_value(old, "VendorRef")])
        transaction_currency(books, obj, books.table("Vendor")[obj["VendorRef"]["value"]])
        pay_account(books, obj, old)
        total = to_decimal(obj.get("TotalAmt"), "TotalAmt")
        if total is None:
            raise required("TotalAmt")
        if total < 0:  # docs/quickbooks/beyond.md#the-brokers-own-books: "The total amount cannot be negative."
            raise business("The bill payment amount can't be negative.", "TotalAmt")
        obj["Line"], applied = payment_lines(books, obj.get("Line"), obj["VendorRef"]["value"], old)
        if applied > total:
            raise business("The amounts applied to bills exceed the bill payment's TotalAmt.", "Line")
        obj["TotalAmt"] = cents(total)
        obj["TxnDate"] = (to_date(obj.get("TxnDate"), "TxnDate") or books.now.date()).isoformat()
        if "APAccountRef" in obj:
            obj["APAccountRef"] = books.resolve_ref(
                "Account", obj["APAccountRef"], "APAccountRef", [ref_value(old, "APAccountRef")]
            )
        return obj

    def after_write(self, books: Ledger, old: Obj | None, new: Obj | None) -> None:
        if new is not None and new.get("_voided"):
            new["Line"] = []  # docs/quickbooks/beyond.md#the-brokers-own-books: a void clears the lines
        for bill_id in sorted(linked_bills(old) | linked_bills(new), key=int):
            refresh_bill(books, bill_id)

    def render(self, books: Ledger, obj: Obj, out: Obj, balances: dict[str, Decimal] | None) -> None:
        render_home_amounts(obj, out)


def pay_account(books: Ledger, obj: Obj, old: Obj | None) -> None:
    """PayType Check needs ``CheckPayment.BankAccountRef`` (a Bank account), CreditCard
    ``CreditCardPayment.CCAccountRef`` (a Credit Card account)."""
    pay_type = obj.get("PayType")
    if pay_type is None:
        raise required("PayType")
    if pay_type not in PAY_TYPES:
        raise invalid_enum("PayType", pay_type)
    block_name, key, account_type = PAY_TYPES[pay_type]
    block = dict(obj.get(block_name) or {})
    if key not in block:
        raise required(f"{block_name}.{key}")
    keep = [ref_value((old or {}).get(block_name), key)]
    block[key] = books.resolve_ref("Account", block[key], key, keep)
    account = books.table("Account")[block[key]["value"]]
    if account.get("AccountType") != account_type:
        raise business(
            f"{key} must be a {account_type} account; account {account['Id']} ({account.get('Name')}) is "
            f"{account.get('AccountType')}.",
            key,
        )
    if pay_type == "Check":
        block.setdefault("PrintStatus", "NotSet")
    obj[block_name] = block
    for other, _, _ in PAY_TYPES.values():
        if other != block_name:
            obj.pop(other, None)


def payment_lines(books: Ledger, lines: Any, vendor_id: str, old: Obj | None) -> tuple[list[Obj], Decimal]:
    """The lines to store and the total they apply: each links one bill of the payment's vendor, for no more than
    its open balance."""
    built: list[Obj] = []
    applied: dict[str, Decimal] = {}
    for raw in lines if isinstance(lines, list) else []:
        if not isinstance(raw, dict):
            raise invalid_value("Line")
        amount = to_decimal(raw.get("Amount"), "Line.Amount")
        if amount is None:
            raise required("Line.Amount")
        if amount < 0:
            raise business("A bill payment line amount can't be negative.", "Line.Amount")
        links = raw.get("LinkedTxn") or []
        if not isinstance(links, list) or len(links) != 1 or not isinstance(links[0], dict):
            raise required("Line.LinkedTxn")
        txn_type, bill_id = links[0].get("TxnType"), str(links[0].get("TxnId", ""))
        if txn_type != "Bill":
            raise unsupported(f"The emulator applies bill payments to Bills only, not {txn_type}")
        bill = books.table("Bill").get(bill_id)
        if bill is None:
            raise invalid_ref("Line.LinkedTxn.TxnId", bill_id)
        if ref_value(bill, "VendorRef") != vendor_id:
            raise business(f"Bill {bill_id} belongs to another vendor.", "Line.LinkedTxn")
        applied[bill_id] = applied.get(bill_id, ZERO) + cents(amount)
        built.append({"Amount": cents(amount), "LinkedTxn": [{"TxnId": bill_id, "TxnType": "Bill"}]})
    for bill_id, amount in applied.items():
        bill = books.table("Bill")[bill_id]
        others = applied_to_bill(books, bill_id, exclude=old["Id"] if old else None)
        open_balance = cents(bill["TotalAmt"] - sum(others.values(), ZERO))
        if amount > open_balance:
            raise business(
                f"The amount applied to bill {bill_id} ({amount}) exceeds its open balance ({open_balance}).",
                "Line.Amount",
            )
    return built, sum(applied.values(), ZERO)


def linked_bills(payment: Obj | None) -> set[str]:
    return {
        link["TxnId"]
        for line in (payment or {}).get("Line", [])
        for link in line.get("LinkedTxn", [])
        if link.get("TxnType") == "Bill"
    }
