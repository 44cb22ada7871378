"""PaymentMethod (docs/quickbooks/entities.md#paymentmethod): how a customer paid — cash, check, a card brand.

A names list: never deleted, only made inactive; a name is unique among the active methods only.
"""

from __future__ import annotations

from ..errors import duplicate_name, invalid_enum, required
from ..ledger import Ledger
from ..values import Obj, check_lengths, names, to_bool
from .names import NameList

LIMITS = {"Name": 31}  # docs/quickbooks/entities.md#paymentmethod
TYPES = ("CREDIT_CARD", "NON_CREDIT_CARD")
# Intuit's sample list, seeded in every company (docs/quickbooks/entities.md#paymentmethod).
SEED_METHODS = (
    ("Cash", "NON_CREDIT_CARD"),
    ("Check", "NON_CREDIT_CARD"),
    ("Visa", "CREDIT_CARD"),
    ("MasterCard", "CREDIT_CARD"),
    ("Discover", "CREDIT_CARD"),
    ("American Express", "CREDIT_CARD"),
    ("Diners Club", "CREDIT_CARD"),
)


class PaymentMethod(NameList):
    name = "PaymentMethod"
    ref_keys = ("PaymentMethodRef",)
    writable = names("Name Type Active")

    def build(self, books: Ledger, fields: Obj, old: Obj | None, body: Obj, include: frozenset[str]) -> Obj:
        obj = dict(fields)
        if not obj.get("Name"):
            raise required("Name")
        obj["Name"] = str(obj["Name"])
        check_lengths(obj, LIMITS)
        method_type = obj.get("Type", "NON_CREDIT_CARD")
        if method_type not in TYPES:
            raise invalid_enum("Type", method_type)
        obj["Type"] = method_type
        obj["Active"] = to_bool(obj.get("Active"), "Active", True)
        if obj["Active"]:
            self.check_unique_active_name(books, obj["Name"], old["Id"] if old else None)
        return obj

    def check_unique_active_name(self, books: Ledger, name: str, own_id: str | None) -> None:
        folded = name.casefold()
        for other in books.table(self.name).values():
            if other["Id"] != own_id and other.get("Active", True) and str(other["Name"]).casefold() == folded:
                raise duplicate_name("payment method", other["Id"])
