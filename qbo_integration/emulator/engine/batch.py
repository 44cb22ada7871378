"""Batch (docs/quickbooks/api.md#batch): up to 30 operations and queries in one request, run in order against the live
state.

Each item succeeds or fails on its own; only the events of items that succeeded are reported.
"""

from __future__ import annotations

from datetime import datetime

from .books import Books, check_properties
from .catalogue import MODELLED
from .company import Company, Event
from .errors import QboFault, business, invalid_enum, invalid_property, required
from .query import run_query
from .values import Obj, parse_json_body

BATCH_LIMIT = 30  # docs/quickbooks/api.md#batch


def run_batch(company: Company, body: bytes, now: datetime, events: list[Event]) -> Obj:
    data = parse_json_body(body)
    items = data.get("BatchItemRequest")
    if not isinstance(items, list):
        raise required("BatchItemRequest")
    if len(items) > BATCH_LIMIT:  # docs/quickbooks/api.md#batch
        raise QboFault(
            400,
            "1040",
            "Batch size exceeds allowed limit",
            f"Batch request has {len(items)} items; the limit is {BATCH_LIMIT}",
        )
    bids = [item.get("bId") if isinstance(item, dict) else None for item in items]
    if any(b in (None, "") for b in bids):
        raise required("bId")
    if len(set(map(str, bids))) != len(bids):
        raise business("Every bId in a batch request must be unique.", "bId")
    answers = []
    for item in items:
        item_events: list[Event] = []
        try:
            result = run_item(Books(company, now, item_events), item)
        except QboFault as fault:
            result = {"Fault": fault.fault()}
        else:
            events.extend(item_events)
        answers.append({"bId": item["bId"], **result})
    return {"BatchItemResponse": answers}


def run_item(books: Books, item: Obj) -> Obj:
    if "Query" in item:
        return run_query(books, str(item["Query"]))
    keys = [k for k in item if k not in ("bId", "operation", "optionsData")]
    if len(keys) != 1 or keys[0] not in MODELLED or not isinstance(item[keys[0]], dict):
        raise invalid_property(keys[0] if keys else "BatchItemRequest")
    entity, body = keys[0], item[keys[0]]
    check_properties(entity, body)
    operation = str(item.get("operation", "")).lower()
    if operation == "create":
        created = {k: v for k, v in body.items() if k != "Id"}
        return {entity: books.create(entity, created)}
    if operation == "update" and str(item.get("optionsData", "")).lower() == "void":
        return {entity: books.void(entity, body)}
    if operation == "update":
        return {entity: books.update(entity, body)}
    if operation == "delete":
        return {entity: books.delete(entity, body)}
    if not operation:
        raise required("operation")
    raise invalid_enum("operation", operation)
