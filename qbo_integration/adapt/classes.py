"""Classes (docs/quickbooks/next.md#class-and-location-tracking): with class tracking on (one class per transaction),
each invoice or estimate carries a header `ClassRef` — the order's own class, else its seller's, else the Settings
default. None at all: the document goes without one, as QuickBooks saves unclassed transactions, and the order page
says "No class" (docs/quickbooks.md#classes). With tracking off Kadouri sends no class.

The company's active classes, for the selects of the order, account and Settings forms, are read from QuickBooks
and kept for a few minutes; when QuickBooks cannot be reached the forms still work and say why.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache

from orders.models import Order

from ..client.errors import QboError
from ..connection import calls
from ..connection.profile import profile_for
from ..connection.vault import current_connection
from ..models import QboConnection

CACHE_SECONDS = 300
QUERY = "select * from Class MAXRESULTS 1000"  # active classes only (docs/quickbooks/api.md#query-language)


@dataclass(frozen=True)
class ClassOptions:
    tracked: bool  # the connected company tracks one class per transaction
    choices: list[tuple[str, str]]  # (id, full name), active classes
    problem: str = ""  # why the list is empty or old, in plain words


def _connection() -> QboConnection | None:
    return current_connection()


def tracking(conn: QboConnection | None = None) -> bool:
    conn = conn or _connection()
    return conn is not None and profile_for(conn.realm_id).class_tracking


def _cache_key(realm_id: str) -> str:
    return f"qbo:classes:{realm_id}"


def class_options() -> ClassOptions:
    """The company's active classes for a select, read once every few minutes."""
    conn = _connection()
    if conn is None or not tracking(conn):
        return ClassOptions(False, [])
    cached = cache.get(_cache_key(conn.realm_id))
    if cached is not None:
        return ClassOptions(True, cached)
    try:
        rows = calls.query(QUERY).get("Class", [])
    except QboError as e:
        return ClassOptions(
            True, [], f"QuickBooks' classes cannot be listed right now ({e.message}) The class already chosen is kept."
        )
    choices = sorted(
        ((str(r["Id"]), str(r.get("FullyQualifiedName") or r.get("Name") or r["Id"])) for r in rows),
        key=lambda c: c[1].casefold(),
    )
    cache.set(_cache_key(conn.realm_id), choices, CACHE_SECONDS)
    return ClassOptions(True, choices)


def forget_classes(realm_id: str) -> None:
    cache.delete(_cache_key(realm_id))


def class_id_for(order: Order, conn: QboConnection | None = None) -> str:
    """The class sent on the order's document: its own, else its seller's, else the Settings default ("" none)."""
    conn = conn or _connection()
    if conn is None or not tracking(conn):
        return ""
    seller_class = order.seller.qbo_class_id if order.seller_id else ""
    return order.qbo_class_id or seller_class or conn.default_class_id or ""


def class_source(order: Order) -> str:
    """Where the order's class comes from, for the order page."""
    if order.qbo_class_id:
        return "chosen on this order"
    if order.seller_id and order.seller.qbo_class_id:
        return "the seller's class"
    return "the Settings default"


def class_fields(order: Order, payload: dict) -> dict:
    """The payload's header ClassRef (mapping.sales_document_payload)."""
    class_id = class_id_for(order)
    return payload | {"ClassRef": {"value": class_id}} if class_id else payload


def class_name(class_id: str) -> str:
    """A class's name from the cached list (its id when the list is not at hand)."""
    if not class_id:
        return ""
    return dict(class_options().choices).get(class_id, f"Class {class_id}")
