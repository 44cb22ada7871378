"""Reading many QuickBooks objects by Id at once (one query per 100 ids)."""

from __future__ import annotations

from . import client


def read_many(entity: str, ids: list[str], *, realm_id: str) -> dict[str, dict | None]:
    """Documents by Id with one query per 100 ids; the ones a query leaves out (inactive names, deleted
    transactions) are read one by one, and None means QuickBooks no longer has it (610)."""
    found: dict[str, dict | None] = {}
    ids = list(dict.fromkeys(str(i) for i in ids))
    if len(ids) > 1:
        for start in range(0, len(ids), 100):
            chunk = ids[start:start + 100]
            listed = ", ".join(f"'{client.query_escape(i)}'" for i in chunk)
            rows = client.query(f"SELECT * FROM {entity} WHERE Id IN ({listed}) MAXRESULTS 1000", realm_id=realm_id)
            for row in rows.get(entity, []):
                found[str(row.get("Id"))] = row
    for doc_id in ids:
        if doc_id not in found:
            try:
                found[doc_id] = client.read(entity, doc_id, realm_id=realm_id)
            except client.QboNotFoundError:
                found[doc_id] = None
    return found
