"""Bookkeeper actions: what a person does in QuickBooks itself (receive a payment, void, merge, ...); those that move
money through credit memos and receipts are in ``money_actions.py``, those on bills in ``bill_actions.py``.

Used by the human UI and the control API; each runs under the company lock and emits webhooks as the API does,
and raises ``QboFault`` where the API would answer one.
"""

from __future__ import annotations

import copy
from decimal import Decimal

from .bill_actions import BillActions
from .books import Books
from .entities.customer import merge_customers
from .entities.preferences import tracks_inventory
from .errors import business
from .money_actions import MoneyActions, current
from .seed import seed_inventory_accounts
from .values import Obj, hidden_of, ref_value, to_date, to_decimal


class BookkeeperActions(MoneyActions, BillActions):
    def record_payment(self, realm_id: str, invoice_id: str, amount: Decimal | None = None) -> Obj:
        """Receive a payment for an invoice (its full balance when ``amount`` is None)."""

        def act(books: Books) -> Obj:
            invoice = books.find("Invoice", invoice_id)
            paid = invoice["Balance"] if amount is None else to_decimal(amount, "Amount")
            if not paid or paid <= 0:
                raise business(f"Invoice {invoice_id} has no open balance to pay.")
            line = {"Amount": paid, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}
            body = {"CustomerRef": {"value": ref_value(invoice, "CustomerRef")}, "TotalAmt": paid, "Line": [line]}
            for key in ("CurrencyRef", "ExchangeRate"):  # received in the invoice's currency, at its rate
                if key in invoice:
                    body[key] = invoice[key]
            return books.create("Payment", body)

        return self._act(realm_id, act)

    def void_invoice(self, realm_id: str, invoice_id: str) -> Obj:
        return self._act(realm_id, lambda b: b.void("Invoice", current(b, "Invoice", invoice_id)))

    def void_payment(self, realm_id: str, payment_id: str) -> Obj:
        return self._act(realm_id, lambda b: b.void("Payment", current(b, "Payment", payment_id)))

    def delete_invoice(self, realm_id: str, invoice_id: str) -> None:
        self._act(realm_id, lambda b: b.delete("Invoice", current(b, "Invoice", invoice_id)))

    def delete_payment(self, realm_id: str, payment_id: str) -> None:
        self._act(realm_id, lambda b: b.delete("Payment", current(b, "Payment", payment_id)))

    def rename_customer(self, realm_id: str, customer_id: str, display_name: str) -> Obj:
        def act(books: Books) -> Obj:
            body = {**current(books, "Customer", customer_id), "sparse": True}
            return books.update("Customer", {**body, "DisplayName": display_name})

        return self._act(realm_id, act)

    def merge_customers(self, realm_id: str, from_id: str, into_id: str) -> Obj:
        def act(books: Books) -> Obj:
            return books.render("Customer", merge_customers(books, str(from_id), str(into_id)))

        return self._act(realm_id, act)

    def set_item_active(self, realm_id: str, item_id: str, active: bool) -> Obj:
        def act(books: Books) -> Obj:
            body = {**current(books, "Item", item_id), "sparse": True}
            return books.update("Item", {**body, "Active": bool(active)})

        return self._act(realm_id, act)

    def update_preferences(self, realm_id: str, changes: Obj) -> Obj:
        """Change the company's settings as its owner does in QuickBooks' screens — the closing date, numbering,
        class tracking, multi-currency and sales tax included (read-only to the API): ``changes`` maps a block to
        the keys to set, e.g. ``{"AccountingInfoPrefs": {"BookCloseDate": "2026-11-30"}}``."""

        def act(books: Books) -> Obj:
            old = books.find("Preferences", "1")
            new = {k: copy.deepcopy(v) for k, v in old.items() if k in books.kind("Preferences").writable}
            for block, values in changes.items():
                if block not in new or not isinstance(values, dict):
                    raise business(f"Unknown preferences block {block}.")
                new[block].update(values)
            stored = books.replace("Preferences", old, {**hidden_of(old), **new})
            if tracks_inventory(books):  # quantities turned on: the accounts Inventory items need
                seed_inventory_accounts(books)
            return books.render("Preferences", stored)

        return self._act(realm_id, act)

    def adjust_quantity(self, realm_id: str, item_id: str, quantity: Decimal | float | str, as_of: str = "") -> Obj:
        """Set an Inventory item's quantity on hand, as a bookkeeper's quantity adjustment does: an update of the
        item (a new version and its Item webhook), dated ``as_of`` (today when empty; docs/quickbooks/beyond.md#stock).
        """

        def act(books: Books) -> Obj:
            item = books.find("Item", item_id)
            if item.get("Type") != "Inventory":
                raise business(f"Item {item_id} does not track its quantity on hand.", "QtyOnHand")
            counted = to_decimal(quantity, "QtyOnHand")
            if counted is None:
                raise business("Enter the quantity on hand.", "QtyOnHand")
            day = to_date(as_of or None, "InvStartDate") or books.now.date()
            body = {**current(books, "Item", item_id), "sparse": True, "QtyOnHand": counted}
            return books.update("Item", {**body, "InvStartDate": day.isoformat()})

        return self._act(realm_id, act)
