"""The company's lists a money form chooses from: its payment methods and the accounts money can be deposited to
(docs/quickbooks/money.md#cash-sales). Read from QuickBooks at most every five minutes, per company."""

from __future__ import annotations

from django.core.cache import cache

from ..connection import calls
from ..connection.vault import usable_connection

LIST_SECONDS = 300
METHODS_QUERY = "select * from PaymentMethod where Active = true MAXRESULTS 1000"
ACCOUNTS_QUERY = (
    "select * from Account where AccountType in ('Bank', 'Other Current Asset') and Active = true MAXRESULTS 1000"
)
UNDEPOSITED_FUNDS = "UndepositedFunds"


def _cached_list(kind: str, sql: str, entity: str) -> list[dict]:
    realm_id = usable_connection().realm_id
    key = f"qbo-money-{kind}:{realm_id}"
    rows = cache.get(key)
    if rows is None:
        rows = calls.query(sql, realm_id=realm_id).get(entity) or []
        cache.set(key, rows, LIST_SECONDS)
    return rows


def payment_methods() -> dict[str, str]:
    """{PaymentMethod Id: name} of the company's active payment methods."""
    return {
        str(r["Id"]): str(r.get("Name") or r["Id"]) for r in _cached_list("methods", METHODS_QUERY, "PaymentMethod")
    }


def deposit_accounts() -> dict[str, str]:
    """{Account Id: name} of the accounts money can be deposited to: bank and other current asset accounts."""
    return {str(r["Id"]): str(r.get("Name") or r["Id"]) for r in _cached_list("accounts", ACCOUNTS_QUERY, "Account")}


def undeposited_funds_id() -> str:
    """The Undeposited Funds account, the default place for money received (or "" when the company has none)."""
    rows = _cached_list("accounts", ACCOUNTS_QUERY, "Account")
    found = next((r for r in rows if r.get("AccountSubType") == UNDEPOSITED_FUNDS), None)
    found = found or next((r for r in rows if str(r.get("Name")) == "Undeposited Funds"), None)
    return str(found["Id"]) if found else ""
