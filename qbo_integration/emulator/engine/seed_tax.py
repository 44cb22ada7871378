"""The tax codes and rates a company starts with, by its profile (docs/quickbooks/next.md#tax-outside-the-us,
docs/quickbooks/next.md#sales-tax-in-the-us): none without sales tax; GST/HST codes in Canada; VAT codes in the
United Kingdom; under US Automated Sales Tax the line codes ``TAX`` and ``NON`` and one code and rate per state.

The US table is the emulator's own (deterministic, every state and DC non-zero, the README's Decisions): the AST
engine (``entities/sales_tax.py``) picks the rate of the state a document ships to.
"""

from __future__ import annotations

from decimal import Decimal

from .ledger import Ledger
from .profiles import CompanyProfile
from .values import Obj

# (state code, name, combined rate in percent)
US_STATE_RATES: tuple[tuple[str, str, str], ...] = (
    ("AL", "Alabama", "9.29"),
    ("AK", "Alaska", "1.82"),
    ("AZ", "Arizona", "8.38"),
    ("AR", "Arkansas", "9.45"),
    ("CA", "California", "7.25"),
    ("CO", "Colorado", "7.81"),
    ("CT", "Connecticut", "6.35"),
    ("DE", "Delaware", "1.00"),
    ("DC", "District of Columbia", "6.00"),
    ("FL", "Florida", "7.00"),
    ("GA", "Georgia", "7.38"),
    ("HI", "Hawaii", "4.50"),
    ("ID", "Idaho", "6.03"),
    ("IL", "Illinois", "8.86"),
    ("IN", "Indiana", "7.00"),
    ("IA", "Iowa", "6.94"),
    ("KS", "Kansas", "8.65"),
    ("KY", "Kentucky", "6.00"),
    ("LA", "Louisiana", "9.56"),
    ("ME", "Maine", "5.50"),
    ("MD", "Maryland", "6.00"),
    ("MA", "Massachusetts", "6.25"),
    ("MI", "Michigan", "6.00"),
    ("MN", "Minnesota", "8.04"),
    ("MS", "Mississippi", "7.06"),
    ("MO", "Missouri", "8.39"),
    ("MT", "Montana", "1.00"),
    ("NE", "Nebraska", "6.97"),
    ("NV", "Nevada", "8.24"),
    ("NH", "New Hampshire", "1.00"),
    ("NJ", "New Jersey", "6.60"),
    ("NM", "New Mexico", "7.62"),
    ("NY", "New York", "8.53"),
    ("NC", "North Carolina", "7.00"),
    ("ND", "North Dakota", "6.96"),
    ("OH", "Ohio", "7.24"),
    ("OK", "Oklahoma", "8.99"),
    ("OR", "Oregon", "1.00"),
    ("PA", "Pennsylvania", "6.34"),
    ("RI", "Rhode Island", "7.00"),
    ("SC", "South Carolina", "7.50"),
    ("SD", "South Dakota", "6.11"),
    ("TN", "Tennessee", "9.55"),
    ("TX", "Texas", "8.20"),
    ("UT", "Utah", "7.25"),
    ("VT", "Vermont", "6.36"),
    ("VA", "Virginia", "5.77"),
    ("WA", "Washington", "9.38"),
    ("WV", "West Virginia", "6.55"),
    ("WI", "Wisconsin", "5.70"),
    ("WY", "Wyoming", "5.44"),
)
# (code name, description, [(rate name, percent, special type)]) per country of the global model; a code's only
# rate carries the code's description (a rate's Description is the words people read, its Name the short code)
GLOBAL_CODES: dict[str, tuple[tuple[str, str, tuple[tuple[str, str, str], ...]], ...]] = {
    "CA": (
        ("GST", "GST 5%", (("GST", "5", "NONE"),)),
        ("HST ON", "HST Ontario 13%", (("HST ON", "13", "NONE"),)),
        ("Zero-rated", "Zero-rated 0%", (("Zero-rated", "0", "ZERO_RATE"),)),
        ("Exempt", "Exempt", (("Exempt", "0", "EXEMPT"),)),
    ),
    "GB": (
        ("20.0% S", "Standard 20%", (("20.0% S", "20", "NONE"),)),
        ("0.0% Z", "Zero-rated 0%", (("0.0% Z", "0", "ZERO_RATE"),)),
        ("Exempt", "Exempt", (("Exempt", "0", "EXEMPT"),)),
    ),
}


def seed_tax(books: Ledger, profile: CompanyProfile) -> None:
    if profile.sales_tax == "automated":
        _seed_automated(books)
    elif profile.sales_tax == "global":
        for name, description, rates in GLOBAL_CODES.get(profile.country, ()):
            words = description if len(rates) == 1 else None
            rate_ids = [_rate(books, r_name, words or r_name, Decimal(pct), special) for r_name, pct, special in rates]
            taxable = any(Decimal(pct) > 0 for _, pct, _ in rates)
            books.insert("TaxCode", _code(name, description, rate_ids, taxable))


def _seed_automated(books: Ledger) -> None:
    # docs/quickbooks/next.md#sales-tax-in-the-us: lines take TaxCodeRef "TAX" or "NON"
    books.insert("TaxCode", _code("TAX", "TAX", [], True), entity_id="TAX")
    books.insert("TaxCode", _code("NON", "NON", [], False), entity_id="NON")
    for state, state_name, percent in US_STATE_RATES:
        rate_id = _rate(books, f"{state_name} sales tax", f"{state_name} sales tax", Decimal(percent))
        books.table("TaxRate")[rate_id]["_state"] = state
        code = books.insert("TaxCode", _code(state_name, f"{state_name} ({state})", [rate_id], True))
        code["_state"] = state


def _rate(books: Ledger, name: str, description: str, percent: Decimal, special: str = "NONE") -> str:
    fields = {
        "Name": name,
        "Description": description,
        "Active": True,
        "RateValue": percent,
        "AgencyRef": {"value": "1"},
        "SpecialTaxType": special,
        "DisplayType": "ReadOnly",
    }
    return books.insert("TaxRate", fields)["Id"]


def _code(name: str, description: str, rate_ids: list[str], taxable: bool) -> Obj:
    return {
        "Name": name,
        "Description": description,
        "Active": True,
        "Hidden": False,
        "Taxable": taxable,
        "TaxGroup": len(rate_ids) > 1,
        "SalesTaxRateList": {
            "TaxRateDetail": [
                {"TaxRateRef": {"value": rate_id}, "TaxTypeApplicable": "TaxOnAmount", "TaxOrder": 0}
                for rate_id in rate_ids
            ]
        },
        "PurchaseTaxRateList": {"TaxRateDetail": []},
    }
