"""Choosing the custom fields that carry the account code and the seller
(docs/quickbooks/beyond.md#the-account-code-in-quickbooks).

A field newly given something to carry makes every posted invoice and estimate out of date (its pushed fingerprint
is cleared): the order page says so and "Push all pending" sends them, so documents already in QuickBooks get the
value too. Only a mapping change does this: companies that never choose a field keep every fingerprint as it was,
and a field no longer chosen sends nothing (Kadouri never clears a field in QuickBooks).
"""

from __future__ import annotations

from django.db import transaction

from orders.models import Order

from ..adapt.custom_fields import CONNECTION_FIELDS, chosen_fields, company_fields
from ..connection.profile import profile_for
from ..models import QboConnection


class CustomFieldsRefused(ValueError):
    """The choice names a field the company does not have, or one field for two things; nothing was saved."""


def _check(chosen: dict[str, str], turned_on: dict[str, str]) -> None:
    picked = [definition for definition in chosen.values() if definition]
    unknown = [definition for definition in picked if definition not in turned_on]
    if unknown:
        raise CustomFieldsRefused(f"QuickBooks has no sales-form custom field {unknown[0]} turned on.")
    if len(set(picked)) < len(picked):
        raise CustomFieldsRefused("One custom field can carry only one thing.")


def posted_documents_mark_out_of_date() -> int:
    """Posted invoices and estimates (a cash sale is never edited) become "changed since last sync"."""
    return (
        Order.objects.filter(status=Order.Status.POSTED_TO_QB, qbo_doc_id__isnull=False, qbo_link_problem="")
        .filter(qbo_doc_type__in=[Order.DocType.INVOICE, Order.DocType.ESTIMATE])
        .update(pushed_fingerprint="")
    )


@transaction.atomic
def custom_fields_choose(*, realm_id: str, account_code: str, seller: str) -> int:
    """Stores which custom field carries the buyer's account code and which the seller ("" neither); returns how
    many posted orders are now out of date. CustomFieldsRefused for a field the company doesn't have."""
    chosen = {"account_code": account_code, "seller": seller}
    _check(chosen, company_fields(profile_for(realm_id)))
    # Under the row's lock, only these fields: a token refresh may be writing the same row.
    conn = QboConnection.objects.select_for_update().get(realm_id=realm_id)
    before = set(chosen_fields(conn).items())
    for carried, field in CONNECTION_FIELDS.items():
        setattr(conn, field, chosen[carried])
    conn.save(update_fields=[*CONNECTION_FIELDS.values(), "updated_at"])
    newly_carried = set(chosen_fields(conn).items()) - before
    return posted_documents_mark_out_of_date() if newly_carried else 0
