"""The query operation (docs/quickbooks/api.md#query-language): ``SELECT`` over one entity's rendered objects, as QBO
pages them.

The language itself (parsing, conditions, ordering, paging) is ``querylang``.
"""

from __future__ import annotations

from . import querylang
from .books import Books
from .catalogue import UNMODELLED, entity_named
from .entities import KINDS
from .errors import QboFault
from .times import public_time
from .values import Obj


def run_query(books: Books, text: str) -> Obj:
    try:
        parsed = querylang.parse(text)
    except querylang.QueryError as error:
        raise QboFault(400, error.code, error.message, error.detail) from None
    entity = entity_named(parsed.entity)
    if entity is None:
        raise QboFault(400, "4000", "Error parsing query", f"QueryParserError: Invalid entity name: {parsed.entity}")
    if entity in UNMODELLED:
        return {"QueryResponse": {"totalCount": 0} if parsed.count else {}}
    check_query_fields(entity, parsed)
    balances = books.customer_balances()
    rows = [books.render(entity, o, True, balances) for o in books.rows(entity)]
    if KINDS[entity].name_list and not any(c.field == "Active" for c in parsed.conditions):
        rows = [r for r in rows if r.get("Active", True)]  # inactive names hidden
    page, total = querylang.run(parsed, rows)
    if parsed.count:
        return {"QueryResponse": {"totalCount": total}}
    if not page:
        return {"QueryResponse": {}}
    for row in page:
        row["MetaData"] = {k: public_time(v) for k, v in row["MetaData"].items()}
    return {"QueryResponse": {entity: page, "startPosition": parsed.start_position, "maxResults": len(page)}}


def check_query_fields(entity: str, parsed: querylang.Query) -> None:
    allowed = KINDS[entity].properties | {"Id", "SyncToken", "MetaData"}
    for field in parsed.fields:
        root, _, rest = field.partition(".")
        bad_meta = root == "MetaData" and rest not in ("CreateTime", "LastUpdatedTime")
        if root not in allowed or bad_meta:
            raise QboFault(400, "4001", "Invalid query", f"QueryValidationError: property '{field}' is not queryable")
