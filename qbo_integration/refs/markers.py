"""Finding the document an earlier try created, in a company that numbers its documents itself: its `DocNumber` is
QuickBooks' own, so the look-up reads the customer's documents created since the order existed and matches the
marker in their private note (adapt/numbering.py, docs/quickbooks.md#quickbooks-numbers-the-documents)."""

from __future__ import annotations

from datetime import timedelta

from orders.models import Order

from ..adapt.numbering import marked_order_id
from ..client.errors import batch_fault
from ..reads import QUERY_MAX_RESULTS, quoted
from . import pacing
from .pacing import BATCH_MAX_ITEMS, NO_PACER, Pacer

CLOCK_MARGIN = timedelta(days=1)  # QuickBooks' clock against ours: a document is never older than its order
MAX_PAGES = 20  # 20,000 documents of one customer since the order was made


def _since(orders: list[Order]) -> str:
    return (min(o.created_at for o in orders) - CLOCK_MARGIN).isoformat(timespec="seconds")


def marker_query(entity: str, customer_id: str, since: str, page: int = 0) -> str:
    return (
        f"select * from {entity} where CustomerRef = {quoted(str(customer_id))} and MetaData.CreateTime >= "
        f"{quoted(since)} ORDERBY MetaData.CreateTime STARTPOSITION {page * QUERY_MAX_RESULTS + 1} "
        f"MAXRESULTS {QUERY_MAX_RESULTS}"
    )


def find_by_marker(entity: str, order: Order, customer_id: str, pacer: Pacer = NO_PACER) -> dict | None:
    """The customer's document carrying the order's marker (the newest when there are several), or None."""
    since = _since([order])
    found = None
    for page in range(MAX_PAGES):
        rows = pacing.query(marker_query(entity, customer_id, since, page), pacer).get(entity, [])
        found = next((row for row in reversed(rows) if marked_order_id(row) == order.pk), found)
        if len(rows) < QUERY_MAX_RESULTS:
            break
    return found


def lookup_markers(entity: str, work: list[tuple[Order, str]], pacer: Pacer) -> dict[int, dict]:
    """For many orders (each with its customer id) at once: one query per customer, 30 per batch request. Answers
    {order pk: document}; a customer with more than a page of documents since is read page by page."""
    by_customer: dict[str, list[Order]] = {}
    for order, customer_id in work:
        by_customer.setdefault(str(customer_id), []).append(order)
    wanted = {order.pk for order, _ in work}
    found: dict[int, dict] = {}
    full: list[str] = []
    queries = [
        {"bId": f"m{n}", "Query": marker_query(entity, customer_id, _since(orders))}
        for n, (customer_id, orders) in enumerate(by_customer.items())
    ]
    customers = list(by_customer)
    for start in range(0, len(queries), BATCH_MAX_ITEMS):
        for bid, answer in pacing.batch(queries[start : start + BATCH_MAX_ITEMS], pacer).items():
            if "Fault" in answer:
                raise batch_fault(answer["Fault"], f"looking up {entity.lower()}s")
            rows = (answer.get("QueryResponse") or {}).get(entity, [])
            _collect(rows, wanted, found)
            if len(rows) >= QUERY_MAX_RESULTS:
                full.append(customers[int(bid[1:])])
    for customer_id in full:  # rare: read the rest of this customer's documents one order at a time
        for order in by_customer[customer_id]:
            doc = find_by_marker(entity, order, customer_id, pacer)
            if doc is not None:
                found[order.pk] = doc
    return found


def _collect(rows: list[dict], wanted: set[int], found: dict[int, dict]) -> None:
    for row in rows:
        order_id = marked_order_id(row)
        if order_id in wanted:
            found[order_id] = row
