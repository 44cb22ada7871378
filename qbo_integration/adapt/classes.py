"""Classes (docs/quickbooks/next.md#class-and-location-tracking): with class tracking on (one class per transaction),
each invoice or estimate carries a header `ClassRef` — the order's own class, else its seller's, else the Settings
default. None at all: the document goes without one, as QuickBooks saves unclassed transactions, and the order page
says "No class" (docs/quickbooks.md#classes). With tracking off Kadouri sends no class.

The company's active classes, for the selects of the order, account and Settings forms, are read from QuickBooks
and kept for a few minutes; when QuickBooks cannot be reached the forms still work and say why.

A class made inactive in QuickBooks (or one QuickBooks does not have) would fail the document with a bare 2500
(docs/quickbooks/errors.md#fault-codes): it is refused before anything is sent, in plain words with the class's
name and where to choose another (`check_class`), and QuickBooks' 2500 on a document carrying a class is worded the
same way (`raise_if_class_fault`).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache

from orders.models import Order

from ..client.errors import QboError, QboValidationError
from ..connection import calls
from ..connection.profile import company_settings, connected_profile, profile_for
from ..models import QboConnection
from ..reads import inactive_rows
from . import RULES_PLACE

CACHE_SECONDS = 300
FAILED_SECONDS = 60  # a failed read of the list is remembered this long: pages don't wait on QuickBooks each time
NAMES_SECONDS = 24 * 60 * 60  # classes' names, for read-only pages (never asking QuickBooks)
QUERY = "select * from Class MAXRESULTS 1000"  # active classes only (docs/quickbooks/api.md#query-language)


class ClassRefused(QboValidationError):
    """The class to send is inactive in QuickBooks, or QuickBooks has no such class: nothing was sent for the
    order's document (or QuickBooks refused it with 2500). The API answers 422 with the message."""

    kind = "company_rule"


@dataclass(frozen=True)
class ClassOptions:
    tracked: bool  # the connected company tracks one class per transaction
    choices: list[tuple[str, str]]  # (id, full name), active classes
    problem: str = ""  # why the list is empty or old, in plain words


def _connection() -> QboConnection | None:
    return company_settings()


def tracking(conn: QboConnection | None = None) -> bool:
    profile = profile_for(conn.realm_id) if conn is not None else connected_profile()
    return profile is not None and profile.class_tracking


def _cache_key(realm_id: str) -> str:
    return f"qbo:classes:{realm_id}"


def _failed_key(realm_id: str) -> str:
    return f"qbo:classes-failed:{realm_id}"


def _names_key(realm_id: str) -> str:
    return f"qbo:class-names:{realm_id}"


def class_options(*, keeps_choice: bool = True) -> ClassOptions:
    """The company's active classes for a select, read once every few minutes. `keeps_choice`: a form keeps the
    class already chosen when the list can't be read (an API refusal says to try again instead). A failed read is
    remembered for a minute (per company): while QuickBooks is down, the forms say why at once instead of waiting
    on it again."""
    conn = _connection()
    if conn is None or not tracking(conn):
        return ClassOptions(False, [])
    cached = cache.get(_cache_key(conn.realm_id))
    if cached is not None:
        return ClassOptions(True, cached)
    failed = cache.get(_failed_key(conn.realm_id))
    if failed is None:
        try:
            rows = calls.query(QUERY).get("Class", [])
        except QboError as e:
            failed = e.message
            cache.set(_failed_key(conn.realm_id), failed, FAILED_SECONDS)
    if failed is not None:
        then = "The class already chosen is kept." if keeps_choice else "Try again later."
        return ClassOptions(True, [], f"QuickBooks' classes cannot be listed right now ({failed}). {then}")
    choices = sorted(
        ((str(r["Id"]), str(r.get("FullyQualifiedName") or r.get("Name") or r["Id"])) for r in rows),
        key=lambda c: c[1].casefold(),
    )
    cache.set(_cache_key(conn.realm_id), choices, CACHE_SECONDS)
    names = cache.get(_names_key(conn.realm_id)) or {}
    cache.set(_names_key(conn.realm_id), names | dict(choices), NAMES_SECONDS)
    return ClassOptions(True, choices)


def forget_classes(realm_id: str) -> None:
    cache.delete_many([_cache_key(realm_id), _failed_key(realm_id)])


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
    return f"the default class in {RULES_PLACE}"


def class_fields(order: Order, payload: dict) -> dict:
    """The payload's header ClassRef (mapping.sales_document_payload)."""
    class_id = class_id_for(order)
    return payload | {"ClassRef": {"value": class_id}} if class_id else payload


def known_class_name(class_id: str) -> str:
    """A class's name as Kadouri read it lately, never asking QuickBooks: for read-only pages, the order JSON and
    the activity log (written under the order's lock); "Class 7" when no list was read lately."""
    conn = _connection()
    names = cache.get(_names_key(conn.realm_id)) if conn and class_id else None
    return (names or {}).get(class_id, f"Class {class_id}") if class_id else ""


# --- an inactive or unknown class --------------------------------------------------------------------------


def class_id_problem(class_id: str, fix: str = "choose another class on the order") -> str:
    """Why QuickBooks would refuse `class_id` on a document, in plain words; "" when it is one of the company's
    active classes, or when that can't be told now (QuickBooks unreachable: its own answer is worded then)."""
    options = class_options()
    if not class_id or not options.tracked or class_id in dict(options.choices) or options.problem:
        return ""
    try:
        inactive = next(iter(inactive_rows("Class", [class_id])), None)
    except QboError:
        return ""
    if inactive is not None:
        name = inactive.get("FullyQualifiedName") or inactive.get("Name") or class_id
        return f"The class “{name}” is inactive in QuickBooks: {fix}, or make the class active again in QuickBooks."
    return f"QuickBooks has no class with id {class_id} (it may have been merged or removed there): {fix}."


def _fix(order: Order) -> str:
    """Where the class sent on the order's document is chosen (class_id_for's order)."""
    if order.qbo_class_id:
        return "choose another class on the order"
    if order.seller_id and order.seller.qbo_class_id:
        return f"choose another class on the order or on its seller's account ({order.seller.name})"
    return f"choose a class on the order, or another default class in {RULES_PLACE}"


def check_class(order: Order) -> None:
    """Refuses, before anything is sent, a document whose class QuickBooks would refuse (ClassRefused)."""
    problem = class_id_problem(class_id_for(order), _fix(order))
    if problem:
        raise ClassRefused(f"Order {order.number}: {problem} Then try again.")


def raise_if_class_fault(order: Order, payload: dict, error: QboError) -> None:
    """QuickBooks answered 2500 (an invalid or inactive reference) for a document carrying a class: when the class
    is what it refused (made inactive since Kadouri listed the classes), say so in check_class's words."""
    class_id = str((payload.get("ClassRef") or {}).get("value") or "")
    if error.code != "2500" or not class_id:
        return
    conn = _connection()
    if conn is not None:
        forget_classes(conn.realm_id)  # the list is older than QuickBooks' answer
    problem = class_id_problem(class_id, _fix(order))
    if problem:
        raise ClassRefused(
            f"Order {order.number}: {problem} Then try again.",
            code=error.code,
            detail=error.detail,
            status=error.status,
        )
