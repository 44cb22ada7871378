"""The ledger: one request's hold on a company's tables.

Look-ups, refs, and the only ways an object is written (``insert``, ``replace``, ``remove``): they stamp
SyncToken and MetaData once per request and record the change events. Entity rules (``entities/``) work
through this class; ``Books`` adds the operations that dispatch to those rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from .company import Company, Event
from .errors import invalid_ref, not_found, required, stale
from .times import stored_time
from .values import Obj


class Ledger:
    def __init__(self, company: Company, now: datetime, events: list[Event]) -> None:
        self.company = company
        self.now = now
        self.stamp_time = stored_time(now)
        self.events = events
        self._touched: set[tuple[str, str]] = set()

    # --- look-ups -----------------------------------------------------------------------------

    def table(self, entity: str) -> dict[str, Obj]:
        return self.company.entities[entity]

    def rows(self, entity: str) -> list[Obj]:
        return sorted(self.table(entity).values(), key=id_order)

    def find(self, entity: str, entity_id: Any) -> Obj:
        key = str(entity_id)
        obj = self.table(entity).get(key)
        if obj is None:
            deleted = any(d["entity"] == entity and d["Id"] == key for d in self.company.deleted)
            raise not_found(entity, key, deleted)
        return obj

    def resolve_ref(self, entity: str, ref: Any, element: str, keep: Iterable[str | None] = ()) -> Obj:
        """A clean ``{"value": id}`` to an existing, active object (2500 otherwise);
        ids in ``keep`` (already on the object being updated) may be inactive."""
        if not isinstance(ref, dict) or "value" not in ref:
            raise required(f"{element}.value") if ref is None else invalid_ref(element, str(ref))
        value = str(ref["value"])
        target = self.table(entity).get(value)
        if target is None or (target.get("Active") is False and value not in set(keep)):
            raise invalid_ref(element, value)
        return {"value": value}

    def versioned(self, entity: str, body: Obj) -> Obj:
        """The object named by ``body`` after the Id/SyncToken checks
        (docs/quickbooks/api.md#full-and-sparse-updates)."""
        if body.get("Id") in (None, ""):
            raise required("Id")
        obj = self.find(entity, body["Id"])
        if body.get("SyncToken") in (None, ""):
            raise required("SyncToken")
        if str(body["SyncToken"]) != obj["SyncToken"]:
            raise stale()
        return obj

    # --- writes -------------------------------------------------------------------------------

    def emit(self, entity: str, entity_id: str, operation: str, **extra: str) -> None:
        self.events.append(Event(entity, entity_id, operation, self.now, extra))

    def insert(self, entity: str, fields: Obj, entity_id: str | None = None) -> Obj:
        """Store a new object under the next id (or ``entity_id``: the US tax codes "TAX" and "NON")."""
        if entity_id is None:
            entity_id = str(self.company.next_ids[entity])
            self.company.next_ids[entity] += 1
        stored = {
            "Id": entity_id,
            "SyncToken": "0",
            "domain": "QBO",
            "sparse": False,
            **fields,
            "MetaData": {"CreateTime": self.stamp_time, "LastUpdatedTime": self.stamp_time},
        }
        self.table(entity)[entity_id] = stored
        self._touched.add((entity, entity_id))
        self.emit(entity, entity_id, "Create")
        return stored

    def replace(self, entity: str, old: Obj, fields: Obj, operation: str | None = "Update", **extra: str) -> Obj:
        """Store a new version of ``old``: SyncToken +1 and one event per request
        (``operation=None`` bumps without an event)."""
        stored = {
            "Id": old["Id"],
            "SyncToken": old["SyncToken"],
            "domain": "QBO",
            "sparse": False,
            **fields,
            "MetaData": dict(old["MetaData"]),
        }
        key = (entity, old["Id"])
        if key not in self._touched:
            self._touched.add(key)
            stored["SyncToken"] = str(int(old["SyncToken"]) + 1)
            stored["MetaData"]["LastUpdatedTime"] = self.stamp_time
            if operation:
                self.emit(entity, old["Id"], operation, **extra)
        self.table(entity)[old["Id"]] = stored
        return stored

    def remove(self, entity: str, obj: Obj) -> None:
        """Delete ``obj``, leaving the tombstone CDC reports."""
        del self.table(entity)[obj["Id"]]
        self.company.deleted.append({"entity": entity, "Id": obj["Id"], "time": self.stamp_time})
        self.emit(entity, obj["Id"], "Delete")


def id_order(obj: Obj) -> tuple[int, int, str]:
    """Numeric ids in numeric order; the US tax codes "TAX" and "NON" (docs/quickbooks/next.md#sales-tax-in-the-us)
    after them."""
    entity_id = str(obj["Id"])
    return (0, int(entity_id), "") if entity_id.isdigit() else (1, 0, entity_id)
