"""Multicurrency (docs/quickbooks/next.md#multicurrency): the company's currencies (``CompanyCurrency``), a
customer's currency, and the currency and exchange rate of its transactions.

- ``CompanyCurrency``: a names list keyed by ISO code, created with ``{"Code": "GBP"}`` once multicurrency is on;
  the home currency is never one of them.
- A customer's ``CurrencyRef`` is set at creation (default: the home currency) and cannot change once the customer
  has transactions.
- A transaction's ``CurrencyRef`` must be its customer's; ``ExchangeRate`` (home units per unit of the document's
  currency) **defaults to 1** when not sent, as QuickBooks does; ``HomeTotalAmt`` and ``HomeBalance`` are derived.
- With multicurrency off, nothing is added to what a company answers (the idealised companies answer as before),
  and a currency other than the home one is refused.
"""

from __future__ import annotations

from decimal import Decimal

from ..errors import QboFault, business, invalid_enum, invalid_value, required
from ..ledger import Ledger
from ..values import Obj, cents, names, ref_value, to_bool, to_decimal
from .names import NameList
from .preferences import home_currency, multi_currency

# ISO 4217 codes the emulator knows, with the names QuickBooks shows.
CURRENCY_NAMES = {
    "USD": "United States Dollar",
    "CAD": "Canadian Dollar",
    "MXN": "Mexican Peso",
    "EUR": "Euro",
    "GBP": "British Pound Sterling",
    "AUD": "Australian Dollar",
    "NZD": "New Zealand Dollar",
    "JPY": "Japanese Yen",
    "CNY": "Chinese Yuan Renminbi",
    "INR": "Indian Rupee",
    "CHF": "Swiss Franc",
    "SEK": "Swedish Krona",
    "NOK": "Norwegian Krone",
    "DKK": "Danish Krone",
    "BRL": "Brazilian Real",
    "ZAR": "South African Rand",
    "SGD": "Singapore Dollar",
    "HKD": "Hong Kong Dollar",
}
TRANSACTIONS = ("Invoice", "Estimate", "Payment", "CreditMemo", "SalesReceipt", "RefundReceipt")
CURRENCY_FAULT = "6000"  # a business validation error (the real code is unverified: see the README's Decisions)


class CompanyCurrency(NameList):
    name = "CompanyCurrency"
    name_field = "Code"
    writable = names("Code Active CustomField")
    read_only = names("Name")

    def build(self, books: Ledger, fields: Obj, old: Obj | None, body: Obj, include: frozenset[str]) -> Obj:
        obj = dict(fields)
        obj.pop("CustomField", None)
        if old is not None:  # the code is the currency: it never changes
            obj["Code"] = old["Code"]
        elif not multi_currency(books):
            raise business("Multicurrency is not turned on for this company; it has only its home currency.")
        code = str(obj.get("Code") or "").upper()
        if not code:
            raise required("Code")
        if code not in CURRENCY_NAMES:
            raise invalid_enum("Code", code)
        if old is None and code == home_currency(books):
            raise business(f"{code} is the home currency; it is always in use.", "Code")
        self.check_unique_name(books, code, old["Id"] if old else None, "currency")
        obj["Code"], obj["Name"] = code, CURRENCY_NAMES[code]
        obj["Active"] = to_bool(obj.get("Active"), "Active", True)
        return obj


def currency_ref(code: str) -> Obj:
    return {"value": code, "name": CURRENCY_NAMES.get(code, code)}


def company_currency(books: Ledger, code: str) -> Obj | None:
    """The active CompanyCurrency with this code (None when the company does not use it)."""
    for row in books.table("CompanyCurrency").values():
        if row.get("Code") == code and row.get("Active", True):
            return row
    return None


def _sent_code(obj: Obj) -> str | None:
    ref = obj.get("CurrencyRef")
    if ref is None:
        return None
    value = ref_value(obj, "CurrencyRef")
    if value is None:
        raise invalid_value("CurrencyRef")
    return value.upper()


def multi_currency_off(code: str, home: str) -> QboFault:
    return business(
        f"Multicurrency is not turned on for this company: its only currency is {home}, so {code} can't be used.",
        "CurrencyRef",
    )


def customer_currency(books: Ledger, obj: Obj, old: Obj | None) -> Obj | None:
    """The customer's CurrencyRef to store (None: leave it absent, as an idealised company does)."""
    home, kept = home_currency(books), ref_value(old, "CurrencyRef")
    sent = _sent_code(obj)
    if sent is None:
        if kept:  # a full update that leaves it out keeps it: it is set at creation
            return currency_ref(kept)
        return currency_ref(home) if multi_currency(books) else None
    if sent != home and not multi_currency(books):
        raise multi_currency_off(sent, home)
    if sent != home and company_currency(books, sent) is None:
        raise QboFault(
            400,
            "2500",
            "Invalid Reference Id",
            f"Invalid Reference Id : CurrencyRef {sent} is not one of this company's currencies. "
            "Add it to the company's currencies first.",
            "CurrencyRef",
        )
    before = kept or (home if old is not None else None)
    if old is not None and before != sent and _has_transactions(books, old["Id"]):
        raise business(
            f"You can't change the currency of a customer that has transactions: this customer's currency is "
            f"{before}, and {sent} was sent.",
            "CurrencyRef",
        )
    return currency_ref(sent)


def _has_transactions(books: Ledger, customer_id: str) -> bool:
    return any(ref_value(o, "CustomerRef") == customer_id for e in TRANSACTIONS for o in books.table(e).values())


def transaction_currency(books: Ledger, obj: Obj, customer: Obj) -> None:
    """CurrencyRef and ExchangeRate of a sales form or payment, checked against its customer's currency."""
    home, multi = home_currency(books), multi_currency(books)
    theirs = ref_value(customer, "CurrencyRef") or home
    sent = _sent_code(obj)
    if sent is not None and sent != home and not multi:
        raise multi_currency_off(sent, home)
    if sent is not None and sent != theirs:
        raise QboFault(
            400,
            CURRENCY_FAULT,
            "A business validation error has occurred while processing your request",
            f"Business Validation Error: The currency of the transaction ({sent}) must be the currency of its "
            f"customer ({theirs}).",
            "CurrencyRef",
        )
    if sent is None and not multi:
        return  # the idealised company: nothing added
    code = sent or theirs  # a transaction without CurrencyRef takes its customer's (see the README's Decisions)
    rate = to_decimal(obj.get("ExchangeRate"), "ExchangeRate")
    if rate is not None and rate <= 0:
        raise invalid_value("ExchangeRate")
    # docs/quickbooks/next.md#multicurrency: a foreign document sent without a rate is booked at 1
    obj["CurrencyRef"], obj["ExchangeRate"] = currency_ref(code), Decimal(1) if code == home or rate is None else rate


def render_home_amounts(obj: Obj, out: Obj) -> None:
    """HomeTotalAmt and HomeBalance (read-only): the document's amounts times its rate, in cents."""
    rate = obj.get("ExchangeRate")
    if "CurrencyRef" not in obj or not isinstance(rate, Decimal):
        return  # the idealised company stores a sent ExchangeRate as it is and derives nothing
    for amount, home in (("TotalAmt", "HomeTotalAmt"), ("Balance", "HomeBalance")):
        value = obj.get(amount)
        if isinstance(value, Decimal):
            out[home] = cents(value * rate)
