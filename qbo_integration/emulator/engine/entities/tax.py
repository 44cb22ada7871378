"""TaxCode and TaxRate (docs/quickbooks/next.md#tax-outside-the-us): the company's sales-tax codes and the rates
they apply. Read-only to the Accounting API (query and read only; new ones go through Intuit's separate tax
service), not in CDC; each company's are seeded from its profile (``engine/seed_tax.py``)."""

from __future__ import annotations

from ..ledger import Ledger
from ..values import Obj, names
from .names import NameList


class TaxCode(NameList):
    name = "TaxCode"
    ref_keys = ("TaxCodeRef", "TxnTaxCodeRef", "SalesTaxCodeRef", "PurchaseTaxCodeRef", "DefaultTaxCodeRef")
    creatable = False
    api_writable = False
    read_only = names(
        "Name Description Active Hidden Taxable TaxGroup SalesTaxRateList PurchaseTaxRateList TaxCodeConfigType"
    )

    def build(self, books: Ledger, fields: Obj, old: Obj | None, body: Obj, include: frozenset[str]) -> Obj:
        return dict(fields)


class TaxRate(NameList):
    name = "TaxRate"
    ref_keys = ("TaxRateRef",)
    creatable = False
    api_writable = False
    read_only = names(
        "Name Description Active RateValue AgencyRef TaxReturnLineRef SpecialTaxType DisplayType EffectiveTaxRate"
    )

    def build(self, books: Ledger, fields: Obj, old: Obj | None, body: Obj, include: frozenset[str]) -> Obj:
        return dict(fields)


def sales_rates(books: Ledger, code: Obj) -> list[Obj]:
    """The TaxRates a code applies on sales, in its order."""
    details = (code.get("SalesTaxRateList") or {}).get("TaxRateDetail") or []
    rates = books.table("TaxRate")
    found = [rates.get(str((d.get("TaxRateRef") or {}).get("value"))) for d in details]
    return [rate for rate in found if rate is not None]
