"""The sales-form custom fields on a document (docs/quickbooks/beyond.md#the-account-code-in-quickbooks): up to
three string fields the company defines in its Preferences, carried by invoices, estimates, sales receipts, credit
memos and refund receipts as ``CustomField: [{"DefinitionId", "Name", "Type", "StringValue"}]``.

Written: only ``DefinitionId`` and ``StringValue`` are read (``Name`` and ``Type`` are read-only); a definition the
company does not have, or has turned off, is dropped silently and the write answers 200 as QuickBooks does. A sent
list changes the fields it names and keeps the others (an empty ``StringValue`` clears one); a sparse update without
``CustomField`` keeps them all, a full update without it clears them (see the README's Decisions).

Read: every field the company has turned on is listed, with its current name, even when the document has no value
for it (no ``StringValue`` then).
"""

from __future__ import annotations

from typing import Any

from ..ledger import Ledger
from ..values import Obj
from .preferences import custom_field_ids

FIELD = "CustomField"


def stored_custom_fields(books: Ledger, fields: Obj, old: Obj | None) -> list[Obj]:
    """What the document keeps: ``[{"DefinitionId", "StringValue"}]`` by definition, values only."""
    if FIELD not in fields:
        return []
    values = _values(old or {})
    turned_on = custom_field_ids(books)
    for sent in _items(fields[FIELD]):
        definition = str(sent.get("DefinitionId") or "")
        if definition not in turned_on:
            continue  # unknown or turned off: dropped, no fault
        value = sent.get("StringValue")
        if value is None or str(value) == "":
            values.pop(definition, None)
        else:
            values[definition] = str(value)
    return [{"DefinitionId": d, "StringValue": v} for d, v in sorted(values.items())]


def keep_custom_fields(books: Ledger, obj: Obj, old: Obj | None) -> None:
    """Sets the stored form of the document's custom fields on ``obj`` (none: no key)."""
    stored = stored_custom_fields(books, obj, old)
    if stored:
        obj[FIELD] = stored
    else:
        obj.pop(FIELD, None)


def render_custom_fields(books: Ledger, obj: Obj, out: Obj) -> None:
    """The fields turned on, as QuickBooks answers them; no key at all in a company without any."""
    values = _values(obj)
    shown = []
    for definition, name in custom_field_ids(books).items():
        field: Obj = {"DefinitionId": definition, "Name": name, "Type": "StringType"}
        if values.get(definition):
            field["StringValue"] = values[definition]
        shown.append(field)
    if shown:
        out[FIELD] = shown
    else:
        out.pop(FIELD, None)


def _values(obj: Obj) -> dict[str, str]:
    return {
        str(f.get("DefinitionId")): str(f["StringValue"])
        for f in _items(obj.get(FIELD))
        if f.get("StringValue") not in (None, "")
    }


def _items(value: Any) -> list[Obj]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
