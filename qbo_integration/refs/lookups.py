"""Finding what QuickBooks already has: names and numbers many at a time, documents by Id, one DocNumber."""

from __future__ import annotations

from ..client.errors import batch_fault
from ..reads import in_queries, quoted
from . import pacing
from .pacing import BATCH_MAX_ITEMS, NO_PACER, Pacer


def lookup_many(specs: list[tuple[str, str, list[str]]], pacer: Pacer) -> dict[str, dict[str, dict]]:
    """Batch requests of IN (...) queries (30 per request) find every existing name or number at once
    (active names only, docs/quickbooks/api.md#query-language). Answers {entity: {casefolded value: row}}."""
    found: dict[str, dict[str, dict]] = {entity: {} for entity, _, _ in specs}
    queries, owners = [], {}
    for entity, field_name, names in specs:
        for sql in in_queries(entity, field_name, names):
            bid = f"q{len(queries)}"
            owners[bid] = (entity, field_name)
            queries.append({"bId": bid, "Query": sql})
    for start in range(0, len(queries), BATCH_MAX_ITEMS):
        for bid, answer in pacing.batch(queries[start : start + BATCH_MAX_ITEMS], pacer).items():
            entity, field_name = owners[bid]
            if "Fault" in answer:
                raise batch_fault(answer["Fault"], f"looking up {entity.lower()}s")
            for row in (answer.get("QueryResponse") or {}).get(entity, []):
                found[entity][str(row.get(field_name, "")).casefold()] = row
    return found


def lookup_by_name(entity: str, field_name: str, names: list[str], pacer: Pacer) -> dict[str, dict]:
    return lookup_many([(entity, field_name, names)], pacer)[entity]


def rows_by_id(entity: str, ids: list[str], pacer: Pacer) -> dict[str, dict]:
    """The rows QuickBooks has for `ids` (one query per 100), by Id; a missing Id is not in the answer."""
    rows: dict[str, dict] = {}
    for sql in in_queries(entity, "Id", ids):
        rows |= {str(row["Id"]): row for row in pacing.query(sql, pacer).get(entity, [])}
    return rows


def find_by_doc_number(entity: str, number: str, pacer: Pacer = NO_PACER) -> dict | None:
    rows = pacing.query(f"select * from {entity} where DocNumber = {quoted(number)}", pacer).get(entity, [])
    return rows[0] if rows else None
