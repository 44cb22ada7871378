"""Company profiles: what kind of QuickBooks company a realm plays (country, home currency, sales tax, numbering,
closing date, class tracking, names it already has), read from a JSON description.

The seeded companies are listed in ``SEEDED``; the control API creates others from the same description
(``POST /_emulator/api/companies`` with ``"preferences": {...}``). Every key is optional: an empty description is
the idealised company the first two realms play (US, no sales tax, one currency, custom numbers on, books open).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

SALES_TAX_MODES = ("none", "automated", "global")
COUNTRIES = ("US", "CA", "GB")
CURRENCY_OF_COUNTRY = {"US": "USD", "CA": "CAD", "GB": "GBP"}
NAME_LIST_KEYS = ("vendors", "employees", "classes", "inactiveItems")


@dataclass(frozen=True)
class CompanyProfile:
    country: str = "US"
    home_currency: str = "USD"
    sales_tax: str = "none"  # none | automated (US AST) | global (a tax code on every line)
    multi_currency: bool = False
    currencies: tuple[str, ...] = ()  # foreign currencies in use (multi-currency only)
    custom_txn_numbers: bool = True  # false: QuickBooks numbers documents itself
    book_close_date: date | None = None
    class_tracking: bool = False  # one class per transaction
    online_payments: bool = True  # SalesFormsPrefs.ETransactionPaymentEnabled: invoices can be paid online
    inventory: bool = True  # ProductAndServicesPrefs.QuantityOnHand: Inventory items allowed (Plus and Advanced)
    custom_fields: tuple[str, ...] = ()  # the names of the sales-form custom fields turned on (at most three)
    names: dict[str, tuple[str, ...]] = field(default_factory=dict)  # vendors, employees, classes, inactiveItems

    def describe(self) -> dict[str, Any]:
        """The profile as the JSON description it was read from."""
        return {
            "country": self.country,
            "homeCurrency": self.home_currency,
            "salesTax": self.sales_tax,
            "multiCurrency": self.multi_currency,
            "currencies": list(self.currencies),
            "customTxnNumbers": self.custom_txn_numbers,
            "bookCloseDate": self.book_close_date.isoformat() if self.book_close_date else None,
            "classTracking": self.class_tracking,
            "onlinePayments": self.online_payments,
            "inventory": self.inventory,
            "customFields": list(self.custom_fields),
            **{key: list(values) for key, values in self.names.items()},
        }


def parse_profile(data: Any) -> CompanyProfile:
    """A profile from its JSON description; ValueError naming the first bad key."""
    if data is None:
        return CompanyProfile()
    if not isinstance(data, dict):
        raise ValueError("preferences must be a JSON object")
    known = {*CompanyProfile().describe(), *NAME_LIST_KEYS}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown preference {unknown[0]!r}; known: {', '.join(sorted(known))}")
    country = _choice(data, "country", COUNTRIES, "US")
    home = _currency(data.get("homeCurrency", CURRENCY_OF_COUNTRY[country]), "homeCurrency")
    currencies = tuple(_currency(c, "currencies") for c in _strings(data, "currencies"))
    multi = _flag(data, "multiCurrency", False)
    if currencies and not multi:
        raise ValueError("currencies need multiCurrency: true")
    if home in currencies:
        raise ValueError("currencies lists the foreign currencies; the home currency is not one of them")
    custom_fields = _strings(data, "customFields")
    if len(custom_fields) > 3:
        raise ValueError("customFields: a company has at most three sales-form custom fields")
    sales_tax = _choice(data, "salesTax", SALES_TAX_MODES, "none")
    if sales_tax == "automated" and country != "US":
        raise ValueError("automated sales tax exists only for US companies")
    if sales_tax == "global" and country == "US":
        raise ValueError("a US company uses salesTax 'automated' or 'none'")
    return CompanyProfile(
        country=country,
        home_currency=home,
        sales_tax=sales_tax,
        multi_currency=multi,
        currencies=currencies,
        custom_txn_numbers=_flag(data, "customTxnNumbers", True),
        book_close_date=_date(data.get("bookCloseDate")),
        class_tracking=_flag(data, "classTracking", False),
        online_payments=_flag(data, "onlinePayments", True),
        inventory=_flag(data, "inventory", True),
        custom_fields=custom_fields,
        names={key: _strings(data, key) for key in NAME_LIST_KEYS if data.get(key)},
    )


def _choice(data: dict, key: str, allowed: tuple[str, ...], default: str) -> str:
    value = data.get(key, default)
    if value not in allowed:
        raise ValueError(f"{key} must be one of {', '.join(allowed)}")
    return value


def _flag(data: dict, key: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false")
    return value


def _currency(value: Any, key: str) -> str:
    if not (isinstance(value, str) and len(value) == 3 and value.isascii() and value.isalpha()):
        raise ValueError(f"{key}: {value!r} is not a three-letter currency code")
    return value.upper()


def _strings(data: dict, key: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"{key} must be a list of names")
    return tuple(v.strip() for v in value)


def _date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"bookCloseDate: {value!r} is not a date (YYYY-MM-DD)") from None


# The companies every emulator starts with. The first two are the idealised companies the project was built on;
# the others play what real companies meet on day one (see the README's "Companies").
SEEDED: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("9130350000000001", "Kadouri Demo Produce LLC", {}),
    ("9130350000000002", "Sandbox Company US 2", {}),
    # The demo company with what a broker's QuickBooks Plus often has: two sales-form custom fields.
    ("9130350000000009", "Custom Fields Produce LLC", {"customFields": ["Account code", "Seller"]}),
    # QuickBooks Simple Start: no online payments, no inventory.
    ("9130350000000010", "Simple Start Produce LLC", {"onlinePayments": False, "inventory": False}),
    ("9130350000000003", "Automated Tax Produce Inc", {"salesTax": "automated"}),
    ("9130350000000004", "Maple Leaf Produce Ltd", {"country": "CA", "salesTax": "global"}),
    ("9130350000000005", "Covent Garden Produce Ltd", {"country": "GB", "salesTax": "global"}),
    (
        "9130350000000006",
        "Border Produce Traders LLC",
        {"multiCurrency": True, "currencies": ["CAD", "MXN", "EUR"]},
    ),
    ("9130350000000007", "Auto Numbered Produce LLC", {"customTxnNumbers": False}),
    (
        "9130350000000008",
        "Strict Books Produce LLC",
        {
            "bookCloseDate": "2026-06-30",
            "classTracking": True,
            "vendors": ["Metro Grocers"],
            "employees": ["Sunrise Orchards"],
            "classes": ["Produce", "Dairy", "Dry Goods"],
            "inactiveItems": ["Russet Potatoes", "Curly Kale"],
        },
    ),
)
SEEDED_PROFILES = {realm: parse_profile(description) for realm, _, description in SEEDED}
