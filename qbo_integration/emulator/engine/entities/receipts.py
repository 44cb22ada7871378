"""What the documents that move money share (Payment, SalesReceipt, RefundReceipt): the payment method and its
reference number, and the account the money goes to or comes from (docs/quickbooks/next.md#payments-from-kadouri)."""

from __future__ import annotations

from ..ledger import Ledger
from ..values import Obj, ref_value


def payment_method(books: Ledger, obj: Obj, old: Obj | None) -> None:
    """``PaymentMethodRef`` must name an active PaymentMethod (an update may keep one since made inactive)."""
    if "PaymentMethodRef" in obj:
        obj["PaymentMethodRef"] = books.resolve_ref(
            "PaymentMethod", obj["PaymentMethodRef"], "PaymentMethodRef", [ref_value(old, "PaymentMethodRef")]
        )
