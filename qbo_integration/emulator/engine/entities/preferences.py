"""Preferences (docs/quickbooks/next.md#company-preferences): one per company (Id "1"), read with
``GET /preferences`` or a query, updated but never created. Read-only blocks (tax, currency, the closing date,
custom field definitions) keep their stored value whatever an update sends.

The rules that depend on a company setting read it through the functions at the bottom.
"""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from ..ledger import Ledger
from ..values import Obj, names
from .base import EntityKind

READ_ONLY_BLOCKS = ("TaxPrefs", "CurrencyPrefs")
READ_ONLY_KEYS = {"AccountingInfoPrefs": ("BookCloseDate",), "SalesFormsPrefs": ("CustomField",)}


class Preferences(EntityKind):
    name = "Preferences"
    creatable = False
    writable = names(
        "AccountingInfoPrefs ProductAndServicesPrefs SalesFormsPrefs EmailMessagesPrefs VendorAndPurchasesPrefs "
        "TimeTrackingPrefs TaxPrefs CurrencyPrefs ReportPrefs OtherPrefs"
    )

    def build(self, books: Ledger, fields: Obj, old: Obj | None, body: Obj, include: frozenset[str]) -> Obj:
        if old is None:  # the seed inserts the first version directly
            return dict(fields)
        merged = {key: copy.deepcopy(old[key]) for key in self.writable if key in old}
        for key, value in fields.items():
            if key in READ_ONLY_BLOCKS or not isinstance(value, dict):
                continue
            block = merged.setdefault(key, {})
            kept = {k: block[k] for k in READ_ONLY_KEYS.get(key, ()) if k in block}
            block.update({k: v for k, v in value.items() if k not in READ_ONLY_KEYS.get(key, ())})
            block.update(kept)
        return merged

    def read_id(self, books: Ledger, entity_id: str) -> str:
        return "1"


def preferences_of(profile_description: dict[str, Any]) -> Obj:
    """The Preferences object a company with this profile starts with (Intuit's sample, trimmed)."""
    p = profile_description
    tax: Obj = {"UsingSalesTax": p["salesTax"] != "none"}
    if p["salesTax"] == "automated":
        tax["PartnerTaxEnabled"] = True
    accounting: Obj = {
        "TrackDepartments": False,
        "DepartmentTerminology": "Location",
        "ClassTrackingPerTxn": p["classTracking"],
        "ClassTrackingPerTxnLine": False,
        "CustomerTerminology": "Customers",
    }
    if p["bookCloseDate"]:
        accounting["BookCloseDate"] = p["bookCloseDate"]
    return {
        "AccountingInfoPrefs": accounting,
        "ProductAndServicesPrefs": {"ForSales": True, "ForPurchase": True, "QuantityOnHand": p["inventory"]},
        "SalesFormsPrefs": {
            "CustomTxnNumbers": p["customTxnNumbers"],
            "AllowDiscount": True,
            "AllowShipping": False,
            "ETransactionPaymentEnabled": p["onlinePayments"],
            "CustomField": custom_field_definitions(p["customFields"]),
        },
        "VendorAndPurchasesPrefs": {"TrackingByCustomer": False, "BillableExpenseTracking": False},
        "TaxPrefs": tax,
        "CurrencyPrefs": {"MultiCurrencyEnabled": p["multiCurrency"], "HomeCurrency": {"value": p["homeCurrency"]}},
        "ReportPrefs": {"ReportBasis": "Accrual"},
        "OtherPrefs": {"NameValue": [{"Name": "SalesFormsPrefs.DefaultCustomerMessage", "Value": ""}]},
    }


def custom_field_definitions(field_names: list[str]) -> list[Obj]:
    """Intuit's shape (docs/quickbooks/beyond.md#the-account-code-in-quickbooks): one group of booleans saying which
    of the three fields are on, one group of their names."""
    used = [
        {"Name": f"SalesFormsPrefs.UseSalesCustom{n}", "Type": "BooleanType", "BooleanValue": n <= len(field_names)}
        for n in (1, 2, 3)
    ]
    labels = [
        {"Name": f"SalesFormsPrefs.SalesCustomName{n}", "Type": "StringType", "StringValue": name}
        for n, name in enumerate(field_names, start=1)
    ]
    return [{"CustomField": used}, {"CustomField": labels}]


# --- what the rules read ---------------------------------------------------------------------------


def preferences(books: Ledger) -> Obj:
    return books.table("Preferences").get("1") or {}


def _block(books: Ledger, name: str) -> Obj:
    block = preferences(books).get(name)
    return block if isinstance(block, dict) else {}


def custom_txn_numbers(books: Ledger) -> bool:
    return _block(books, "SalesFormsPrefs").get("CustomTxnNumbers", True) is not False


def online_payments(books: Ledger) -> bool:
    return _block(books, "SalesFormsPrefs").get("ETransactionPaymentEnabled") is True


def tracks_inventory(books: Ledger) -> bool:
    return _block(books, "ProductAndServicesPrefs").get("QuantityOnHand") is True


def custom_field_ids(books: Ledger) -> dict[str, str]:
    """The sales-form custom fields turned on: DefinitionId -> name."""
    flags, labels = {}, {}
    for group in _block(books, "SalesFormsPrefs").get("CustomField") or []:
        for item in group.get("CustomField") or []:
            name = str(item.get("Name") or "")
            if name.startswith("SalesFormsPrefs.UseSalesCustom"):
                flags[name[-1]] = item.get("BooleanValue") is True
            elif name.startswith("SalesFormsPrefs.SalesCustomName"):
                labels[name[-1]] = str(item.get("StringValue") or "")
    return {n: labels.get(n, "") for n, on in sorted(flags.items()) if on}


def multi_currency(books: Ledger) -> bool:
    return _block(books, "CurrencyPrefs").get("MultiCurrencyEnabled") is True


def home_currency(books: Ledger) -> str:
    return str((_block(books, "CurrencyPrefs").get("HomeCurrency") or {}).get("value") or "USD")


def book_close_date(books: Ledger) -> date | None:
    value = _block(books, "AccountingInfoPrefs").get("BookCloseDate")
    return date.fromisoformat(str(value)[:10]) if value else None


def class_tracking(books: Ledger) -> bool:
    return _block(books, "AccountingInfoPrefs").get("ClassTrackingPerTxn") is True


def country(books: Ledger) -> str:
    info = books.table("CompanyInfo").get("1") or {}
    return str(info.get("Country") or "US")


def tax_model(books: Ledger) -> str:
    """none, automated (US Automated Sales Tax) or global (a tax code on every sales line)."""
    tax = _block(books, "TaxPrefs")
    if not tax.get("UsingSalesTax"):
        return "none"
    return "automated" if country(books) == "US" else "global"


def summary(books: Ledger) -> str:
    """The company in a few words, for the consent page and the UI: "CA · CAD · tax codes on every line"."""
    model = {"none": "no sales tax", "automated": "Automated Sales Tax", "global": "tax codes on every line"}
    parts = [country(books), home_currency(books), model[tax_model(books)]]
    if multi_currency(books):
        parts.append("multi-currency")
    if not custom_txn_numbers(books):
        parts.append("QuickBooks numbers documents")
    closed = book_close_date(books)
    if closed:
        parts.append(f"books closed to {closed.isoformat()}")
    if class_tracking(books):
        parts.append("classes tracked")
    return " · ".join(parts)
