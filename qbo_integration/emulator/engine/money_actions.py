"""Bookkeeper actions that move money: issue a credit memo, apply it to an invoice, refund it, take a sales
receipt, and void or delete those documents — what a person does in QuickBooks' screens.

Each writes through the same rules as the API (so it emits webhooks and raises the ``QboFault`` the API would
answer) and returns the object written. The one-line documents they create are untaxed (``NON`` under Automated
Sales Tax, the ``Exempt`` code elsewhere), so their total is the amount given.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TypeVar

from .books import Books
from .entities.credit import remaining_credit
from .entities.preferences import tax_model
from .entities.stock import tracked_item
from .errors import business
from .values import Obj, cents, ref_value, to_decimal

T = TypeVar("T")


class MoneyActions:
    def _act(self, realm_id: str, action: Callable[[Books], T]) -> T:
        raise NotImplementedError

    def issue_credit_memo(
        self, realm_id: str, customer_id: str, amount: Decimal | float, item_id: str | None = None
    ) -> Obj:
        """A one-line credit memo for ``amount`` (the company's first active item unless ``item_id`` is given)."""

        def act(books: Books) -> Obj:
            line = untaxed_line(books, item_id, positive(amount))
            return books.create("CreditMemo", {"CustomerRef": {"value": str(customer_id)}, "Line": [line]})

        return self._act(realm_id, act)

    def apply_credit_memo(
        self, realm_id: str, credit_memo_id: str, invoice_id: str, amount: Decimal | float | None = None
    ) -> Obj:
        """A Payment with TotalAmt 0 applying ``amount`` of the memo to the invoice (when None: as much as both
        allow, the smaller of the memo's remaining credit and the invoice's balance)."""

        def act(books: Books) -> Obj:
            memo, invoice = books.find("CreditMemo", credit_memo_id), books.find("Invoice", invoice_id)
            applied = min(memo["RemainingCredit"], invoice["Balance"]) if amount is None else positive(amount)
            if applied <= 0:
                raise business(f"Credit memo {memo['Id']} has no credit left to apply to invoice {invoice['Id']}.")
            body = {
                "CustomerRef": {"value": ref_value(memo, "CustomerRef")},
                "TotalAmt": 0,
                "Line": [
                    {"Amount": applied, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]},
                    {"Amount": applied, "LinkedTxn": [{"TxnId": memo["Id"], "TxnType": "CreditMemo"}]},
                ],
            }
            return books.create("Payment", {**body, **currency_of(invoice)})

        return self._act(realm_id, act)

    def refund_credit_memo(
        self,
        realm_id: str,
        credit_memo_id: str,
        amount: Decimal | float | None = None,
        account_id: str | None = None,
    ) -> Obj:
        """A RefundReceipt paying ``amount`` (None: all the remaining credit) of the memo back to its customer from
        ``account_id`` (None: the company's first active Bank account)."""

        def act(books: Books) -> Obj:
            memo = books.find("CreditMemo", credit_memo_id)
            refunded = remaining_credit(books, memo) if amount is None else positive(amount)
            if refunded <= 0:
                raise business(f"Credit memo {memo['Id']} has no credit left to refund.")
            body = {
                "CustomerRef": {"value": ref_value(memo, "CustomerRef")},
                "Line": [untaxed_line(books, first_item(memo), refunded)],
                "DepositToAccountRef": {"value": str(account_id) if account_id else bank_account(books)},
                "LinkedTxn": [{"TxnId": memo["Id"], "TxnType": "CreditMemo"}],
            }
            return books.create("RefundReceipt", {**body, **currency_of(memo)})

        return self._act(realm_id, act)

    def create_sales_receipt(
        self, realm_id: str, customer_id: str, amount: Decimal | float, item_id: str | None = None
    ) -> Obj:
        """A one-line sales receipt for ``amount``, deposited to Undeposited Funds."""

        def act(books: Books) -> Obj:
            line = untaxed_line(books, item_id, positive(amount))
            return books.create("SalesReceipt", {"CustomerRef": {"value": str(customer_id)}, "Line": [line]})

        return self._act(realm_id, act)

    def void_sales_receipt(self, realm_id: str, sales_receipt_id: str) -> Obj:
        return self._act(realm_id, lambda b: b.void("SalesReceipt", current(b, "SalesReceipt", sales_receipt_id)))

    def delete_credit_memo(self, realm_id: str, credit_memo_id: str) -> Obj:
        return self._act(realm_id, lambda b: b.delete("CreditMemo", current(b, "CreditMemo", credit_memo_id)))

    def delete_refund_receipt(self, realm_id: str, refund_receipt_id: str) -> Obj:
        return self._act(realm_id, lambda b: b.delete("RefundReceipt", current(b, "RefundReceipt", refund_receipt_id)))


def current(books: Books, entity: str, entity_id: str) -> Obj:
    obj = books.find(entity, entity_id)
    return {"Id": obj["Id"], "SyncToken": obj["SyncToken"]}


def positive(amount: Decimal | float | str) -> Decimal:
    value = to_decimal(amount, "Amount")
    if value is None or value <= 0:
        raise business("The amount must be positive.", "Amount")
    return cents(value)


def untaxed_line(books: Books, item_id: str | None, amount: Decimal) -> Obj:
    detail: Obj = {"ItemRef": {"value": str(item_id) if item_id else default_item(books)}}
    if tracked_item(books, detail["ItemRef"]["value"]):  # one unit of an Inventory item (it needs a quantity)
        detail |= {"Qty": Decimal(1), "UnitPrice": amount}
    model = tax_model(books)
    if model == "automated":
        detail["TaxCodeRef"] = {"value": "NON"}
    elif model == "global":
        exempt = next((c["Id"] for c in books.rows("TaxCode") if c.get("Name") == "Exempt" and c["Active"]), None)
        if exempt is not None:
            detail["TaxCodeRef"] = {"value": exempt}
    return {"DetailType": "SalesItemLineDetail", "Amount": amount, "SalesItemLineDetail": detail}


def default_item(books: Books) -> str:
    for item in books.rows("Item"):
        if item.get("Active", True):
            return item["Id"]
    raise business("The company has no active item to put on the line; create one or name one.", "ItemRef")


def first_item(memo: Obj) -> str | None:
    for line in memo.get("Line", []):
        item_id = ref_value(line.get("SalesItemLineDetail"), "ItemRef")
        if item_id:
            return item_id
    return None


def bank_account(books: Books) -> str:
    for account in books.rows("Account"):
        if account.get("AccountType") == "Bank" and account.get("Active", True):
            return account["Id"]
    raise business("The company has no active bank account to refund from; name one.", "DepositToAccountRef")


def currency_of(document: Obj) -> Obj:
    """The document's currency and rate, for a payment or refund made in it."""
    return {key: document[key] for key in ("CurrencyRef", "ExchangeRate") if key in document}
