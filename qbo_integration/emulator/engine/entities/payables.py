"""What bills and bill payments share (docs/quickbooks/beyond.md#the-brokers-own-books): the Accounts Payable
account, what bill payments apply to a bill, and ``refresh_bill``, which keeps a bill's Balance and links true as a
payment's write changes them (as ``payment.refresh_invoice`` does for invoices)."""

from __future__ import annotations

import copy
from decimal import Decimal

from ..errors import business
from ..ledger import Ledger
from ..values import ZERO, Obj, cents, fields_of, ref_value

AP_TYPE = "Accounts Payable"
AP_SEED = {"Name": "Accounts Payable (A/P)", "AccountType": AP_TYPE, "AccountSubType": "AccountsPayable"}
# How a paid bill names the payment that paid it (Intuit's Bill sample: "BillPaymentCheck").
LINK_TYPES = {"Check": "BillPaymentCheck", "CreditCard": "BillPaymentCreditCard"}


def ap_account(books: Ledger, ref: Obj | None, old: Obj | None) -> Obj:
    """``APAccountRef``: the one sent (an Accounts Payable account), else the company's first active one — created
    when the company has none yet (a state file from before bills were modelled)."""
    if ref is not None:
        resolved = books.resolve_ref("Account", ref, "APAccountRef", [ref_value(old, "APAccountRef")])
        account = books.table("Account")[resolved["value"]]
        if account.get("AccountType") != AP_TYPE:
            raise business(
                f"APAccountRef must be an Accounts Payable account; account {account['Id']} "
                f"({account.get('Name')}) is {account.get('AccountType')}.",
                "APAccountRef",
            )
        return resolved
    for account in books.rows("Account"):
        if account.get("AccountType") == AP_TYPE and account.get("Active", True):
            return {"value": account["Id"]}
    stored = books.insert("Account", {**AP_SEED, "Active": True, "SubAccount": False})
    return {"value": stored["Id"]}


def applied_to_bill(books: Ledger, bill_id: str, exclude: str | None = None) -> dict[str, Decimal]:
    """BillPayment id -> amount its lines pay on the bill now (non-zero only)."""
    applied: dict[str, Decimal] = {}
    for payment in books.rows("BillPayment"):
        if payment["Id"] == exclude:
            continue
        for line in payment.get("Line", []):
            for link in line.get("LinkedTxn", []):
                if link.get("TxnType") == "Bill" and link.get("TxnId") == bill_id:
                    applied[payment["Id"]] = applied.get(payment["Id"], ZERO) + line["Amount"]
    return {k: v for k, v in applied.items() if v != 0}


def bill_links(books: Ledger, applied: dict[str, Decimal]) -> list[Obj]:
    payments = books.table("BillPayment")
    return [
        {"TxnId": pid, "TxnType": LINK_TYPES.get(str(payments[pid].get("PayType")), "BillPaymentCheck")}
        for pid in sorted(applied, key=int)
    ]


def refresh_bill(books: Ledger, bill_id: str) -> None:
    """Bring a bill's Balance and payment links in line with the bill payments applied to it now: a change bumps
    its SyncToken and emits ``Bill Update``, as a paid invoice does."""
    bill = books.table("Bill").get(bill_id)
    if bill is None:
        return
    applied = applied_to_bill(books, bill_id)
    balance = cents(bill["TotalAmt"] - sum(applied.values(), ZERO))
    links = bill_links(books, applied)
    if balance != bill["Balance"] or links != bill.get("LinkedTxn", []):
        fields = copy.deepcopy(fields_of(bill))
        fields["Balance"], fields["LinkedTxn"] = balance, links
        books.replace("Bill", bill, fields)


def vendor_balances(books: Ledger) -> dict[str, Decimal]:
    """What the company owes each vendor: the balances of its open bills (derived on read)."""
    balances: dict[str, Decimal] = {}
    for bill in books.table("Bill").values():
        vendor_id = ref_value(bill, "VendorRef") or ""
        balances[vendor_id] = balances.get(vendor_id, ZERO) + bill["Balance"]
    return balances


def not_sent_rate(fields: Obj) -> Obj:
    """python-quickbooks' Bill sends ExchangeRate 0 by default: taken as not sent (see the README's Decisions)."""
    if fields.get("ExchangeRate") == 0:
        return {k: v for k, v in fields.items() if k != "ExchangeRate"}
    return fields
