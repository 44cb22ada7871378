"""What the documents that move money share (Payment, SalesReceipt, RefundReceipt): the payment method and its
reference number, and the account the money goes to or comes from (docs/quickbooks/next.md#payments-from-kadouri)."""

from __future__ import annotations

from ..errors import business, required, too_long
from ..ledger import Ledger
from ..values import Obj, ref_value

# docs/quickbooks/next.md#payments-from-kadouri: money goes to (or comes from) a bank or other current asset account.
DEPOSIT_ACCOUNT_TYPES = ("Bank", "Other Current Asset")
LIMITS = {"PaymentRefNum": 21}  # docs/quickbooks/next.md#payments-from-kadouri (secondary sources)


def payment_method(books: Ledger, obj: Obj, old: Obj | None) -> None:
    """``PaymentMethodRef`` must name an active PaymentMethod (an update may keep one since made inactive)."""
    if "PaymentMethodRef" in obj:
        obj["PaymentMethodRef"] = books.resolve_ref(
            "PaymentMethod", obj["PaymentMethodRef"], "PaymentMethodRef", [ref_value(old, "PaymentMethodRef")]
        )


def deposit_account(books: Ledger, obj: Obj, old: Obj | None, needed: bool = False) -> None:
    """``DepositToAccountRef``: an active Bank or Other Current Asset account; when not sent, Undeposited Funds
    (docs/quickbooks/entities.md#payment), or 2020 where the document needs one (a RefundReceipt)."""
    if "DepositToAccountRef" not in obj:
        if needed:  # docs/quickbooks/entities.md#refundreceipt
            raise required("DepositToAccountRef")
        for account in books.rows("Account"):
            if account.get("AccountSubType") == "UndepositedFunds" and account["Active"]:
                obj["DepositToAccountRef"] = {"value": account["Id"]}
                return
        return
    ref = books.resolve_ref(
        "Account", obj["DepositToAccountRef"], "DepositToAccountRef", [ref_value(old, "DepositToAccountRef")]
    )
    account = books.table("Account")[ref["value"]]
    if account.get("AccountType") not in DEPOSIT_ACCOUNT_TYPES:
        raise business(
            f"DepositToAccountRef must be a Bank or Other Current Asset account; account {account['Id']} "
            f"({account.get('Name')}) is {account.get('AccountType')}.",
            "DepositToAccountRef",
        )
    obj["DepositToAccountRef"] = ref


def check_length(obj: Obj, field: str) -> None:
    value = obj.get(field)
    if value is not None:
        obj[field] = text = str(value)
        if len(text) > LIMITS[field]:
            raise too_long(field, LIMITS[field], len(text))
