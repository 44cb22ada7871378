"""Class (docs/quickbooks/next.md#employees-and-classes): a names list for tracking, with sub-classes; transactions
and lines point at one with ``ClassRef``."""

from __future__ import annotations

from ..errors import required
from ..ledger import Ledger
from ..values import Obj, check_lengths, check_separators, names, to_bool
from .names import NameList

LIMITS = {"Name": 100}  # docs/quickbooks/next.md#employees-and-classes


class Klass(NameList):
    name = "Class"
    hierarchical = True
    ref_keys = ("ClassRef",)
    writable = names("Name SubClass ParentRef Active")
    read_only = names("FullyQualifiedName Level")

    def build(self, books: Ledger, fields: Obj, old: Obj | None, body: Obj, include: frozenset[str]) -> Obj:
        obj = dict(fields)
        if not obj.get("Name"):
            raise required("Name")
        obj["Name"] = str(obj["Name"])
        check_lengths(obj, LIMITS)
        check_separators(obj, ("Name",))
        self.check_unique_name(books, obj["Name"], old["Id"] if old else None, "class")
        obj["Active"] = to_bool(obj.get("Active"), "Active", True)
        obj["SubClass"] = self.check_parent(books, obj, old)
        return obj
