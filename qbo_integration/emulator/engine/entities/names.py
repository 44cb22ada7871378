"""What names lists (Customer, Item, Account, Term) share: unique names, sub-levels, full names."""

from __future__ import annotations

from decimal import Decimal

from ..errors import business, duplicate_name
from ..ledger import Ledger
from ..values import Obj, ref_value
from .base import EntityKind


class NameList(EntityKind):
    name_list = True
    hierarchical = False  # has ParentRef: shows FullyQualifiedName and Level

    def check_unique_name(self, books: Ledger, name: str, own_id: str | None, kind: str) -> None:
        folded = name.casefold()
        for other in books.table(self.name).values():
            if other["Id"] == own_id or other.get("_merged_into"):
                continue
            if str(other.get(self.name_field, "")).casefold() == folded:
                raise duplicate_name(kind, other["Id"])

    def check_parent(self, books: Ledger, obj: Obj, old: Obj | None) -> bool:
        """Validate ``ParentRef`` (sub-customers, sub-items, sub-accounts)."""
        if "ParentRef" not in obj:
            return False
        entity, own_id = self.name, old["Id"] if old else None
        ref = books.resolve_ref(entity, obj["ParentRef"], "ParentRef", [ref_value(old, "ParentRef")])
        depth, cursor = 1, books.table(entity)[ref["value"]]
        while True:
            if cursor["Id"] == own_id:
                raise business("An object cannot be its own parent.", "ParentRef")
            parent_id = ref_value(cursor, "ParentRef")
            if parent_id is None or parent_id not in books.table(entity):
                break
            depth, cursor = depth + 1, books.table(entity)[parent_id]
        if depth > 4:  # docs/quickbooks/entities.md#customer: up to 4 levels below the top
            raise business("Sub-levels are limited to 4 below the top.", "ParentRef")
        obj["ParentRef"] = ref
        return True

    def qualified_name(self, books: Ledger, obj: Obj) -> tuple[str, int]:
        field = self.name_field
        names, cursor = [str(obj[field])], obj
        for _ in range(10):
            parent = books.table(self.name).get(ref_value(cursor, "ParentRef") or "")
            if parent is None:
                break
            names.insert(0, str(parent[field]))
            cursor = parent
        return ":".join(names), len(names) - 1

    def render(self, books: Ledger, obj: Obj, out: Obj, balances: dict[str, Decimal] | None) -> None:
        if self.hierarchical:
            out["FullyQualifiedName"], level = self.qualified_name(books, obj)
            if level:
                out["Level"] = level
