"""Bookkeeper actions on what the company owes (docs/quickbooks/beyond.md#the-brokers-own-books): pay a bill by
check, delete a bill, void or delete a bill payment — what a person does in QuickBooks' screens.

Each writes through the same rules as the API (so it emits webhooks and raises the ``QboFault`` the API would
answer) and returns the object written (a delete: ``{"status": "Deleted", ...}``).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TypeVar

from .books import Books
from .errors import business
from .money_actions import bank_account, current, positive
from .values import Obj, ref_value

T = TypeVar("T")


class BillActions:
    def _act(self, realm_id: str, action: Callable[[Books], T]) -> T:
        raise NotImplementedError

    def pay_bill(
        self, realm_id: str, bill_id: str, amount: Decimal | float | None = None, account_id: str | None = None
    ) -> Obj:
        """A check paying ``amount`` of the bill (None: its whole balance) from ``account_id`` (None: the company's
        first active Bank account)."""

        def act(books: Books) -> Obj:
            bill = books.find("Bill", bill_id)
            paid = bill["Balance"] if amount is None else positive(amount)
            if paid <= 0:
                raise business(f"Bill {bill['Id']} has no open balance to pay.")
            body = {
                "VendorRef": {"value": ref_value(bill, "VendorRef")},
                "PayType": "Check",
                "CheckPayment": {"BankAccountRef": {"value": str(account_id) if account_id else bank_account(books)}},
                "TotalAmt": paid,
                "Line": [{"Amount": paid, "LinkedTxn": [{"TxnId": bill["Id"], "TxnType": "Bill"}]}],
            }
            for key in ("CurrencyRef", "ExchangeRate"):  # paid in the bill's currency, at its rate
                if key in bill:
                    body[key] = bill[key]
            return books.create("BillPayment", body)

        return self._act(realm_id, act)

    def delete_bill(self, realm_id: str, bill_id: str) -> Obj:
        return self._act(realm_id, lambda b: b.delete("Bill", current(b, "Bill", bill_id)))

    def void_bill_payment(self, realm_id: str, bill_payment_id: str) -> Obj:
        return self._act(realm_id, lambda b: b.void("BillPayment", current(b, "BillPayment", bill_payment_id)))

    def delete_bill_payment(self, realm_id: str, bill_payment_id: str) -> Obj:
        return self._act(realm_id, lambda b: b.delete("BillPayment", current(b, "BillPayment", bill_payment_id)))
