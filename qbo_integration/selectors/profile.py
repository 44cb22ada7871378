"""The connected company's profile in plain words, and what each part means for Kadouri (the Settings page)."""

from __future__ import annotations

from dataclasses import dataclass

from kadouri.display import when

from ..connection.profile import country_name
from ..models import CompanyProfile


@dataclass(frozen=True)
class Fact:
    label: str
    value: str
    meaning: str


def profile_facts(profile: CompanyProfile) -> list[Fact]:
    home = profile.home_currency
    return [
        Fact(
            "Country",
            country_name(profile.country),
            "QuickBooks applies this country's tax model.",
        ),
        Fact("Home currency", home, f"Kadouri's amounts are in {home} unless a buyer pays in another currency."),
        _currency(profile),
        _sales_tax(profile),
        _numbering(profile),
        _closing(profile),
        _classes(profile),
    ]


def _currency(profile: CompanyProfile) -> Fact:
    if profile.multi_currency:
        return Fact(
            "Multi-currency",
            "On",
            "A buyer may pay in another currency: its customer is created in that currency, and each document "
            "carries the exchange rate for its date; pages show the home-currency equivalent.",
        )
    return Fact(
        "Multi-currency",
        "Off",
        f"Every buyer pays in {profile.home_currency}: a buyer set to another currency is refused before anything "
        "is sent.",
    )


def _sales_tax(profile: CompanyProfile) -> Fact:
    if profile.sales_tax == CompanyProfile.SalesTax.AUTOMATED:
        meaning = (
            "QuickBooks computes the tax from the buyer's address. Kadouri never computes US tax: it marks which "
            "products are taxable and which buyers are exempt, and shows QuickBooks' tax and total."
        )
    elif profile.sales_tax == CompanyProfile.SalesTax.GLOBAL:
        meaning = (
            "Every line needs a tax code: the product's own, else the default below. QuickBooks computes the tax; "
            "the order page shows it per code."
        )
    else:
        meaning = "Invoices and estimates carry no sales tax."
    return Fact("Sales tax", profile.get_sales_tax_display(), meaning)


def _numbering(profile: CompanyProfile) -> Fact:
    if profile.custom_txn_numbers:
        return Fact("Numbering", "Kadouri's", "Invoices and estimates carry the Kadouri order number.")
    return Fact(
        "Numbering",
        "QuickBooks'",
        "QuickBooks numbers invoices and estimates itself; the order page shows its number beside Kadouri's.",
    )


def _closing(profile: CompanyProfile) -> Fact:
    if not profile.book_close_date:
        return Fact("Closing date", "None", "The books are open: orders of any date can be pushed.")
    closed = when(profile.book_close_date)
    return Fact(
        "Closing date",
        closed,
        f"Orders dated on or before {closed} cannot be pushed, changed or voided in QuickBooks.",
    )


def _classes(profile: CompanyProfile) -> Fact:
    if profile.class_tracking:
        return Fact("Classes", "Tracked", "Each order carries a class: its own, its seller's, else the default below.")
    return Fact("Classes", "Not tracked", "Orders carry no class.")
