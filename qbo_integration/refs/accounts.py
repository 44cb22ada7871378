"""The company's reference data a document or an item needs: its payment terms and its income account."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache

from orders.models import Order

from .. import mapping
from ..client.errors import QboValidationError
from ..connection.vault import usable_connection
from ..models import QboConnection
from ..reads import QUERY_MAX_RESULTS
from . import pacing
from .pacing import NO_PACER, Pacer

TERM_CACHE_SECONDS = 3600


def term_ids(pacer: Pacer) -> dict[str, str]:
    """The company's terms by casefolded name (cached an hour per connection)."""
    conn = usable_connection()  # disconnected while the job waited: say so
    key = f"qbo-terms:{conn.realm_id}:{conn.connected_at.timestamp() if conn.connected_at else 0}"
    terms = cache.get(key)
    if terms is None:
        rows = pacing.query(f"select * from Term MAXRESULTS {QUERY_MAX_RESULTS}", pacer).get("Term", [])
        terms = {row["Name"].casefold(): row["Id"] for row in rows}
        cache.set(key, terms, TERM_CACHE_SECONDS)
    return terms


def term_id_for(order: Order, pacer: Pacer = NO_PACER) -> str | None:
    return term_ids(pacer).get(mapping.TERM_NAMES[order.terms].casefold())


def income_account_id(pacer: Pacer = NO_PACER) -> str:
    """Configured on the connection, else settings.QBO_INCOME_ACCOUNT_ID, else the company's first
    Income account (kept on the connection so the choice stays stable). The one lookup: the inbound item
    handler uses it too, so both sides compute the same item fingerprint."""
    conn = usable_connection()
    if conn.income_account_id:
        return conn.income_account_id
    if settings.QBO_INCOME_ACCOUNT_ID:
        return settings.QBO_INCOME_ACCOUNT_ID
    rows = pacing.query("select * from Account where AccountType = 'Income'", pacer).get("Account", [])
    if not rows:
        raise QboValidationError(
            "The QuickBooks company has no Income account for new items. Create one in "
            "QuickBooks, or set QBO_INCOME_ACCOUNT_ID."
        )
    # Ids are not sortable server-side any more (docs/quickbooks/api.md#ids-are-not-sortable)
    first = min(rows, key=lambda row: int(row["Id"]))
    QboConnection.objects.filter(pk=conn.pk).update(income_account_id=first["Id"])
    return first["Id"]
