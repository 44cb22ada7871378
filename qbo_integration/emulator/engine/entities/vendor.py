"""Vendor (docs/quickbooks/next.md#vendors-and-bills): a name in the customers' name space with the same rules; made
inactive, never deleted. Balance is what the company owes it: the balances of its open bills, derived on read."""

from __future__ import annotations

from decimal import Decimal

from ..ledger import Ledger
from ..values import ZERO, Obj, cents, names, ref_value, to_bool
from .payables import vendor_balances
from .people import NAME_LIMITS, Person

LIMITS = {**NAME_LIMITS, "CompanyName": 100, "AcctNum": 100}  # docs/quickbooks/next.md#vendors-and-bills


class Vendor(Person):
    name = "Vendor"
    limits = LIMITS
    ref_keys = ("VendorRef",)
    writable = names(
        "Title GivenName MiddleName FamilyName Suffix DisplayName CompanyName PrintOnCheckName Active "
        "PrimaryPhone AlternatePhone Mobile Fax PrimaryEmailAddr WebAddr BillAddr OtherContactInfo "
        "TaxIdentifier TermRef AcctNum Vendor1099 CurrencyRef APAccountRef BillRate CostRate "
        "BusinessNumber GSTIN GSTRegistrationType T4AEligible T5018Eligible HasTPAR TaxReportingBasis "
        "VendorPaymentBankDetail Source"
    )
    read_only = names("Balance")

    def build(self, books: Ledger, fields: Obj, old: Obj | None, body: Obj, include: frozenset[str]) -> Obj:
        obj = dict(fields)
        self.build_name(books, obj, old)
        obj["Active"] = to_bool(obj.get("Active"), "Active", True)
        obj["Vendor1099"] = to_bool(obj.get("Vendor1099"), "Vendor1099", False)
        if "TermRef" in obj:
            obj["TermRef"] = books.resolve_ref("Term", obj["TermRef"], "TermRef", [ref_value(old, "TermRef")])
        if "APAccountRef" in obj:
            keep = [ref_value(old, "APAccountRef")]
            obj["APAccountRef"] = books.resolve_ref("Account", obj["APAccountRef"], "APAccountRef", keep)
        return obj

    def render(self, books: Ledger, obj: Obj, out: Obj, balances: dict[str, Decimal] | None) -> None:
        out["Balance"] = cents(vendor_balances(books).get(obj["Id"], ZERO))
