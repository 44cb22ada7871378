"""What customers, vendors and employees share (docs/quickbooks/entities.md#customer): the name parts, a
DisplayName built from them when absent, the separators refused in them, and one name space across the three
(docs/quickbooks/next.md#shared-names-and-sub-customers)."""

from __future__ import annotations

from ..errors import QboFault, duplicate_name
from ..ledger import Ledger
from ..values import Obj, check_lengths, check_separators
from .names import NameList

PEOPLE = ("Customer", "Vendor", "Employee")  # one DisplayName space
NAME_PARTS = ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")
NAME_LIMITS = {  # docs/quickbooks/entities.md#customer
    "DisplayName": 500,
    "Title": 16,
    "GivenName": 100,
    "MiddleName": 100,
    "FamilyName": 100,
    "Suffix": 16,
    "PrintOnCheckName": 110,
}
SAME_KIND = "customer, vendor or employee"  # Intuit's wording (docs/quickbooks/entities.md#customer)


def no_name() -> QboFault:
    return QboFault(
        400,
        "6080",
        "No name provided",
        "Business Validation Error: Please supply a DisplayName or at "
        "least one of Title, GivenName, MiddleName, FamilyName, Suffix.",
        "DisplayName",
    )


class Person(NameList):
    name_field = "DisplayName"
    limits: dict[str, int] = NAME_LIMITS

    def build_name(self, books: Ledger, obj: Obj, old: Obj | None) -> None:
        """Check the name fields, fill DisplayName from the parts if absent, and refuse a name any customer,
        vendor or employee already holds (inactive ones too)."""
        check_lengths(obj, self.limits)
        check_separators(obj, ("DisplayName", *NAME_PARTS, "PrintOnCheckName"))
        if not obj.get("DisplayName"):  # docs/quickbooks/entities.md#customer: built from the name parts
            parts = [str(obj[p]) for p in NAME_PARTS if obj.get(p)]
            if not parts:
                raise no_name()
            obj["DisplayName"] = " ".join(parts)
            check_lengths(obj, {"DisplayName": self.limits["DisplayName"]})
        obj["DisplayName"] = str(obj["DisplayName"])
        self.check_unique_name(books, obj["DisplayName"], old["Id"] if old else None, SAME_KIND)
        holder = name_holder(books, obj["DisplayName"], exclude=self.name)
        if holder is not None:
            raise duplicate_name(holder[0].lower(), holder[1])


def name_holder(books: Ledger, name: str, exclude: str = "") -> tuple[str, str] | None:
    """The (entity, Id) of the customer, vendor or employee called ``name`` (any case, inactive included; a
    merged-away customer frees its name), leaving out the entity ``exclude``."""
    folded = name.casefold()
    for entity in PEOPLE:
        if entity == exclude:
            continue
        for other in books.rows(entity):
            if not other.get("_merged_into") and str(other.get("DisplayName", "")).casefold() == folded:
                return entity, other["Id"]
    return None
