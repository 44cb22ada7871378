"""The account code in QuickBooks (docs/quickbooks/beyond.md#the-account-code-in-quickbooks): where the company has
sales-form custom fields turned on, an admin chooses on Settings which one carries the buyer's account code and
which one the seller's name; every invoice, estimate, cash sale and credit memo then carries them in `CustomField`.

Only fields the company has turned on are sent: a chosen field QuickBooks no longer has (its profile read again)
stops being sent, and Settings says so (`missing_fields`). Values are one line, cut to `VALUE_MAX` characters.
Kadouri fills only the fields chosen; it never clears a field it does not fill (the bookkeeper may use it).
"""

from __future__ import annotations

from dataclasses import dataclass

from kadouri.text import strip_hidden
from orders.models import Order

from ..connection.profile import company_settings, connected_profile
from ..models import CompanyProfile, QboConnection

# Said to be QuickBooks' limit for a legacy custom field's value; no Intuit page states it
# (docs/quickbooks/beyond.md#the-account-code-in-quickbooks), so Kadouri stays within it.
VALUE_MAX = 31

ACCOUNT_CODE = "account_code"
SELLER = "seller"
CARRIED = {ACCOUNT_CODE: "the buyer's account code", SELLER: "the seller"}
# Which QboConnection field holds the chosen definition for each.
CONNECTION_FIELDS = {ACCOUNT_CODE: "custom_field_account_code", SELLER: "custom_field_seller"}


@dataclass(frozen=True)
class MissingField:
    carried: str  # ACCOUNT_CODE or SELLER
    definition_id: str


def company_fields(profile: CompanyProfile | None) -> dict[str, str]:
    """The company's sales-form custom fields turned on, as QuickBooks last said: DefinitionId -> name."""
    found = (profile.custom_fields if profile is not None else None) or []
    return {str(f["id"]): str(f.get("name") or f["id"]) for f in found if isinstance(f, dict) and f.get("id")}


def chosen_fields(conn: QboConnection | None) -> dict[str, str]:
    """What the admin chose: ACCOUNT_CODE / SELLER -> DefinitionId (those chosen only)."""
    if conn is None:
        return {}
    chosen = {carried: getattr(conn, field) for carried, field in CONNECTION_FIELDS.items()}
    return {carried: definition for carried, definition in chosen.items() if definition}


def sent_fields(conn: QboConnection | None, profile: CompanyProfile | None) -> dict[str, str]:
    """The chosen fields the company still has turned on: the ones documents carry."""
    turned_on = company_fields(profile)
    return {carried: definition for carried, definition in chosen_fields(conn).items() if definition in turned_on}


def missing_fields(conn: QboConnection | None, profile: CompanyProfile | None) -> list[MissingField]:
    """Chosen fields QuickBooks no longer has turned on (not sent until it has them again)."""
    turned_on = company_fields(profile)
    return [MissingField(c, d) for c, d in chosen_fields(conn).items() if d not in turned_on]


def clean_value(text: str) -> str:
    """One line, without hidden characters, at most VALUE_MAX characters: a line break or tab is a space."""
    return " ".join(strip_hidden(text or "", keep="\t\r\n").split())[:VALUE_MAX].rstrip()


def _value(order: Order, carried: str) -> str:
    account = order.buyer if carried == ACCOUNT_CODE else order.seller
    return clean_value(account.code if carried == ACCOUNT_CODE else account.name)


def custom_field_lines(order: Order) -> list[dict]:
    """What the order's document carries in `CustomField` for the connected company ([] when nothing is chosen)."""
    sent = sent_fields(company_settings(), connected_profile())
    lines = [
        {"DefinitionId": definition, "StringValue": value, "Type": "StringType"}
        for carried, definition in sent.items()
        if (value := _value(order, carried))
    ]
    return sorted(lines, key=lambda line: line["DefinitionId"])


def custom_fields(order: Order, payload: dict) -> dict:
    """The payload with the document's custom fields (mapping.sales_document_payload, credit_memo_payload)."""
    lines = custom_field_lines(order)
    return payload | {"CustomField": lines} if lines else payload


def carried_by(order: Order, doc: dict) -> bool:
    """Whether QuickBooks' document already carries every value Kadouri would send (an update that would change
    nothing else is then skipped)."""
    held = {
        str(f.get("DefinitionId")): str(f.get("StringValue") or "")
        for f in doc.get("CustomField") or []
        if isinstance(f, dict)
    }
    return all(held.get(line["DefinitionId"]) == line["StringValue"] for line in custom_field_lines(order))
