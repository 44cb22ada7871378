"""Reading many QuickBooks objects at once: the one place that writes `... WHERE field IN (...)` queries, 100
values a query (name and DocNumber look-ups, a bulk push's current documents and `read_many` all use it), and
pages of up to 1,000 ids for the inbox's batch reads (`read_pages`)."""

from __future__ import annotations

from .client.errors import QboNotFoundError
from .client.http import query_escape
from .connection import calls

QUERY_IN_CHUNK = 100  # values per IN (...) query
QUERY_MAX_RESULTS = 1000  # rows a query answers at most (docs/quickbooks/api.md#query-language)
# Intuit states no longest query; an Id page is kept under this many characters (docs/quickbooks/api.md#query-length).
QUERY_MAX_CHARS = 8000


def quoted(value: str) -> str:
    return f"'{query_escape(value)}'"


def in_queries(entity: str, field: str, values: list[str]) -> list[str]:
    """One query per 100 values (each answers up to 1000 rows; inactive names are left out,
    docs/quickbooks/api.md#query-language)."""
    chunks = [values[start : start + QUERY_IN_CHUNK] for start in range(0, len(values), QUERY_IN_CHUNK)]
    return [
        f"select * from {entity} where {field} in ({', '.join(map(quoted, chunk))}) MAXRESULTS {QUERY_MAX_RESULTS}"
        for chunk in chunks
    ]


def inactive_rows(entity: str, ids: list[str], *, realm_id: str | None = None) -> list[dict]:
    """The records among `ids` QuickBooks has made inactive (a query leaves them out unless asked,
    docs/quickbooks/api.md#query-language): a customer, an item or a class a document's 2500 may be about."""
    rows: list[dict] = []
    for start in range(0, len(ids), QUERY_IN_CHUNK):
        values = ", ".join(map(quoted, ids[start : start + QUERY_IN_CHUNK]))
        sql = f"select * from {entity} where Active = false and Id in ({values}) MAXRESULTS {QUERY_MAX_RESULTS}"
        rows += calls.query(sql, realm_id=realm_id).get(entity, [])
    return rows


def read_many(entity: str, ids: list[str], *, realm_id: str) -> dict[str, dict | None]:
    """Documents by Id with one query per 100 ids; the ones a query leaves out (inactive names, deleted
    transactions) are read one by one, and None means QuickBooks no longer has it (610)."""
    found: dict[str, dict | None] = {}
    ids = list(dict.fromkeys(str(i) for i in ids))
    if len(ids) > 1:
        for sql in in_queries(entity, "Id", ids):
            for row in calls.query(sql, realm_id=realm_id).get(entity, []):
                found[str(row.get("Id"))] = row
    for doc_id in ids:
        if doc_id not in found:
            try:
                found[doc_id] = calls.read(entity, doc_id, realm_id=realm_id)
            except QboNotFoundError:
                found[doc_id] = None
    return found


def id_pages(ids: list[str], *, prefix_chars: int = 0) -> list[list[str]]:
    """`ids` cut into pages for `... Id in (...)`: at most QUERY_MAX_RESULTS ids a page (one answer holds them all)
    and at most QUERY_MAX_CHARS characters a query, `prefix_chars` being the rest of the query."""
    pages: list[list[str]] = []
    page: list[str] = []
    size = prefix_chars
    for value in ids:
        cost = len(quoted(value)) + 2  # ", " between values
        if page and (len(page) == QUERY_MAX_RESULTS or size + cost > QUERY_MAX_CHARS):
            pages.append(page)
            page, size = [], prefix_chars
        page.append(value)
        size += cost
    return [*pages, page] if page else pages


def read_pages(entity: str, ids: list[str], *, realm_id: str, inactive_too: bool = False) -> dict[str, dict]:
    """What QuickBooks answers for `ids`, one query per page of up to 1,000 ids (`id_pages`). An id left out of the
    answer is not in the result: a deleted transaction, or an inactive name unless `inactive_too` (a name list's
    query leaves those out unless asked, docs/quickbooks/api.md#query-language)."""
    active = "Active in (true, false) and " if inactive_too else ""
    head = f"select * from {entity} where {active}Id in ("
    tail = f") MAXRESULTS {QUERY_MAX_RESULTS}"
    found: dict[str, dict] = {}
    for page in id_pages(list(dict.fromkeys(str(i) for i in ids)), prefix_chars=len(head) + len(tail)):
        sql = head + ", ".join(map(quoted, page)) + tail
        for row in calls.query(sql, realm_id=realm_id).get(entity, []):
            found[str(row.get("Id"))] = row
    return found
