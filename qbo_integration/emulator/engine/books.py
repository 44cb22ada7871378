"""The books: one request's operations on a company — create, update, delete, void, read, render.

Each operation is the same for every entity; what differs (validation, derived fields, linked objects) is the
entity's ``EntityKind`` in ``entities/``.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from .entities import KINDS, REF_TARGETS, EntityKind
from .entities.closing import check_period
from .entities.customer import customer_balances
from .errors import business, invalid_property, unsupported
from .ledger import Ledger
from .times import public_time
from .values import ENVELOPE, ZERO, Obj, clean, fields_of, hidden_of, jsonable, to_bool, with_decimals


class Books(Ledger):
    def kind(self, entity: str) -> EntityKind:
        return KINDS[entity]

    # --- writes -------------------------------------------------------------------------------

    def create(self, entity: str, body: Obj, include: frozenset[str] = frozenset()) -> Obj:
        kind = self.kind(entity)
        refuse_read_only(kind)
        if not kind.creatable:
            raise unsupported(f"{entity} cannot be created; update it instead")
        prepared = with_decimals(clean(body))
        fields = {k: v for k, v in prepared.items() if k in kind.writable}
        built = kind.build(self, fields, None, prepared, include)
        check_period(self, entity, None, built)
        stored = self.insert(entity, built)
        kind.after_write(self, None, stored)
        return self.render(entity, stored)

    def update(self, entity: str, body: Obj, include: frozenset[str] = frozenset()) -> Obj:
        kind = self.kind(entity)
        refuse_read_only(kind)
        old = self.versioned(entity, body)
        if old.get("_voided"):
            raise business("This transaction has been voided and can no longer be changed.")
        prepared = with_decimals(clean(body))
        fields = {k: v for k, v in prepared.items() if k in kind.writable}
        # docs/quickbooks/api.md#full-and-sparse-updates: only the sent fields
        if to_bool(body.get("sparse"), "sparse", False):
            kept = {k: v for k, v in old.items() if k in kind.writable}
            fields = {**copy.deepcopy(kept), **fields}
        built = kind.build(self, fields, old, prepared, include)
        check_period(self, entity, old, built)
        stored = self.replace(entity, old, {**hidden_of(old), **built})
        kind.after_write(self, old, stored)
        return self.render(entity, stored)

    def delete(self, entity: str, body: Obj) -> Obj:
        kind = self.kind(entity)
        if not kind.deletable:  # docs/quickbooks/api.md#delete: names are only made inactive
            raise unsupported(f"Operation delete is not supported for {entity}")
        obj = self.versioned(entity, body)
        check_period(self, entity, obj, None)
        kind.check_unlinked(self, obj, "delete")
        self.remove(entity, obj)
        kind.after_write(self, obj, None)
        return {"status": "Deleted", "domain": "QBO", "Id": obj["Id"]}

    def void(self, entity: str, body: Obj) -> Obj:
        kind = self.kind(entity)
        if not kind.voidable:
            raise unsupported(f"Operation void is not supported for {entity}")
        old = self.versioned(entity, body)
        if old.get("_voided"):
            raise business("This transaction has already been voided.")
        check_period(self, entity, old, None)
        kind.check_unlinked(self, old, "void")
        stored = self.replace(entity, old, voided_fields(old, kind.open_amount), "Void")
        kind.after_write(self, old, stored)
        return self.render(entity, stored)

    # --- reads --------------------------------------------------------------------------------

    def read(self, entity: str, entity_id: str) -> Obj:
        return self.render(entity, self.find(entity, self.kind(entity).read_id(self, entity_id)))

    def customer_balances(self) -> dict[str, Decimal]:
        """Every customer's balance at once, for rendering many customers (a query, CDC, the dump)."""
        return customer_balances(self)

    def render(self, entity: str, obj: Obj, precise: bool = False, balances: dict[str, Decimal] | None = None) -> Obj:
        """The object as QBO answers it: derived fields, ref names, JSON numbers."""
        out = copy.deepcopy({k: v for k, v in obj.items() if not k.startswith("_")})
        self.kind(entity).render(self, obj, out, balances)
        self.name_refs(out, entity)
        if not precise:
            out["MetaData"] = {k: public_time(v) for k, v in out["MetaData"].items()}
        return jsonable(out)

    def name_refs(self, value: Any, owner: str) -> None:
        """Fill ``name`` in refs from the current target (renames show at once)."""
        if isinstance(value, list):
            for item in value:
                self.name_refs(item, owner)
        elif isinstance(value, dict):
            for key, item in value.items():
                target = owner if key == "ParentRef" else REF_TARGETS.get(key)
                if target and isinstance(item, dict) and "value" in item:
                    name = self.name_of(target, str(item["value"]))
                    if name is not None:
                        item["name"] = name
                else:
                    self.name_refs(item, owner)

    def name_of(self, entity: str, entity_id: str) -> str | None:
        obj = self.table(entity).get(entity_id)
        return None if obj is None else obj.get(self.kind(entity).name_field)


def check_properties(entity: str, body: Obj) -> None:
    """Unknown top-level properties → 2010; nested ones are not checked."""
    allowed = KINDS[entity].properties | ENVELOPE
    for key in body:
        if key not in allowed:
            raise invalid_property(key)


def refuse_read_only(kind: EntityKind) -> None:
    # docs/quickbooks/next.md#tax-outside-the-us: TaxCode and TaxRate are read-only to the Accounting API
    if not kind.api_writable:
        raise unsupported(f"Operation create or update is not supported for {kind.name}")


def voided_fields(old: Obj, open_amount: str) -> Obj:
    """docs/quickbooks/api.md#void: amounts and quantities to zero, "Voided" before the private note."""
    fields = copy.deepcopy(fields_of(old))
    fields["_voided"] = True
    for line in fields.get("Line", []):
        line["Amount"] = ZERO
        detail = line.get("SalesItemLineDetail")
        if isinstance(detail, dict) and "Qty" in detail:
            detail["Qty"] = Decimal(0)
    fields["TotalAmt"] = ZERO
    fields[open_amount] = ZERO
    if "TxnTaxDetail" in fields:
        fields["TxnTaxDetail"] = {"TotalTax": ZERO}
    note = fields.get("PrivateNote")
    fields["PrivateNote"] = f"Voided - {note}" if note else "Voided"
    return fields
