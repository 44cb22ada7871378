"""SalesReceipt (docs/quickbooks/entities.md#salesreceipt): a sale paid on the spot — a sales form whose money goes
straight to a deposit account, so its Balance is always 0. A customer is optional; it can be voided and deleted."""

from __future__ import annotations

from ..errors import unsupported
from ..ledger import Ledger
from ..values import ZERO, Obj, names
from .receipts import check_length, deposit_account, payment_method
from .sales import WRITABLE, SalesForm

# Received money: what python-quickbooks' SalesReceipt and RefundReceipt send besides the sales form's fields.
RECEIPT_WRITABLE = WRITABLE | names("PaymentMethodRef PaymentRefNum DepositToAccountRef CreditCardPayment")


class SalesReceipt(SalesForm):
    name = "SalesReceipt"
    customer_required = False  # docs/quickbooks/entities.md#salesreceipt: Intuit's create sample has none
    due_dated = False
    voidable = True
    open_amount = "Balance"
    writable = RECEIPT_WRITABLE
    read_only = names("TotalAmt Balance HomeBalance HomeTotalAmt TxnTaxDetail DeliveryInfo")

    def finish(self, books: Ledger, obj: Obj, old: Obj | None) -> None:
        if obj.get("LinkedTxn"):
            raise unsupported("The emulator does not link a SalesReceipt to other transactions")
        obj.pop("LinkedTxn", None)
        obj["Balance"] = ZERO  # docs/quickbooks/entities.md#salesreceipt: paid in full
        receipt_money(books, obj, old)


def receipt_money(books: Ledger, obj: Obj, old: Obj | None, account_needed: bool = False) -> None:
    """The payment method, reference number and money account of a sales or refund receipt."""
    payment_method(books, obj, old)
    check_length(obj, "PaymentRefNum")
    deposit_account(books, obj, old, account_needed)
