"""Term (docs/quickbooks/entities.md#invoice): payment terms; an invoice's DueDate is its TxnDate plus the term's
DueDays."""

from __future__ import annotations

from ..errors import required
from ..ledger import Ledger
from ..values import Obj, names, to_bool, to_int
from .names import NameList


class Term(NameList):
    name = "Term"
    ref_keys = ("SalesTermRef",)
    writable = names(
        "Name Active DueDays DiscountPercent DiscountDays DayOfMonthDue DueNextMonthDays DiscountDayOfMonth"
    )
    read_only = frozenset({"Type"})

    def build(self, books: Ledger, fields: Obj, old: Obj | None, body: Obj, include: frozenset[str]) -> Obj:
        obj = dict(fields)
        if not obj.get("Name"):
            raise required("Name")
        self.check_unique_name(books, str(obj["Name"]), old["Id"] if old else None, "term")
        for key in ("DueDays", "DiscountDays", "DayOfMonthDue", "DueNextMonthDays"):
            if key in obj:
                obj[key] = to_int(obj[key], key)
        obj["Active"] = to_bool(obj.get("Active"), "Active", True)
        obj["Type"] = "DATE_DRIVEN" if "DayOfMonthDue" in obj else "STANDARD"
        return obj
