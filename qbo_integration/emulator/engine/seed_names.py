"""Names a seeded company can start with besides the usual ones: vendors, employees, classes and inactive items.

``seed_names`` is for company profiles (a realm seeded like a real company); the default companies do not call it.
"""

from __future__ import annotations

from collections.abc import Iterable

from .books import Books
from .values import Obj

SPEC_KEYS = frozenset({"vendors", "employees", "classes", "inactive_items"})


def seed_names(books: Books, spec: dict[str, Iterable[str]]) -> None:
    """Create what ``spec`` lists, e.g. ``{"vendors": ["Metro Grocers"], "employees": ["Sunrise Farms"],
    "classes": ["Produce", "Dairy"], "inactive_items": ["Old Kale"]}``, through the same rules as the API (a name
    clash raises its ``QboFault``). Inactive items are Service items created active, then made inactive."""
    unknown = set(spec) - SPEC_KEYS
    if unknown:
        raise ValueError(f"unknown seed_names keys: {', '.join(sorted(unknown))}")
    for name in spec.get("vendors", ()):
        books.create("Vendor", {"DisplayName": name})
    for name in spec.get("employees", ()):
        books.create("Employee", employee_body(name))
    for name in spec.get("classes", ()):
        books.create("Class", {"Name": name})
    for name in spec.get("inactive_items", ()):
        item = books.create("Item", {"Name": name, "Type": "Service", "IncomeAccountRef": income_account(books)})
        books.update("Item", {"Id": item["Id"], "SyncToken": item["SyncToken"], "sparse": True, "Active": False})


def employee_body(name: str) -> Obj:
    """An employee called ``name``: its first word is the GivenName, the rest (if any) the FamilyName."""
    given, _, family = name.strip().partition(" ")
    body: Obj = {"DisplayName": name, "GivenName": given}
    if family.strip():
        body["FamilyName"] = family.strip()
    return body


def income_account(books: Books) -> Obj:
    for account in books.rows("Account"):
        if account.get("AccountType") == "Income" and account.get("Active", True):
            return {"value": account["Id"]}
    raise ValueError("seed_names needs an active Income account for inactive items; seed the company first")
