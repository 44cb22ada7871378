"""Employee (docs/quickbooks/next.md#employees-and-classes): a person in the customers' name space; made inactive,
never deleted."""

from __future__ import annotations

from ..errors import required
from ..ledger import Ledger
from ..values import Obj, names, to_bool
from .people import NAME_LIMITS, Person

LIMITS = {**NAME_LIMITS, "EmployeeNumber": 100}


class Employee(Person):
    name = "Employee"
    limits = LIMITS
    ref_keys = ("EmployeeRef",)
    writable = names(
        "Title GivenName MiddleName FamilyName Suffix DisplayName PrintOnCheckName Active PrimaryPhone Mobile "
        "PrimaryEmailAddr PrimaryAddr EmployeeNumber SSN BillableTime BillRate CostRate HiredDate ReleasedDate "
        "BirthDate Gender Organization"
    )
    read_only = names("V4IDPseudonym")

    def build(self, books: Ledger, fields: Obj, old: Obj | None, body: Obj, include: frozenset[str]) -> Obj:
        obj = dict(fields)
        if not obj.get("GivenName") and not obj.get("FamilyName"):  # docs/quickbooks/next.md#employees-and-classes
            raise required("GivenName")
        self.build_name(books, obj, old)
        obj["Active"] = to_bool(obj.get("Active"), "Active", True)
        obj["BillableTime"] = to_bool(obj.get("BillableTime"), "BillableTime", False)
        return obj
