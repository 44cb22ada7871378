"""The Accounting API's resources: what follows ``/v3/company/<realm>/`` mapped onto the operations.

``query``, ``batch``, ``cdc``, and per entity ``POST /<entity>`` (create, update, delete, void by the body and
``operation`` / ``include``) and ``GET /<entity>/<id>``; a sales form's ``/send`` and ``/pdf`` (``delivery.py``).
Entity names in the path are read in any case.
"""

from __future__ import annotations

from datetime import datetime

from .batch import run_batch
from .books import Books, check_properties
from .catalogue import MODELLED, entity_named
from .cdc import run_cdc
from .company import Company, Event
from .delivery import pdf, send, with_invoice_link
from .errors import unsupported
from .exchange import exchange_rate_resource
from .query import run_query
from .values import Obj, parse_json_body


def route(
    company: Company,
    method: str,
    path: str,
    params: dict[str, str],
    body: bytes,
    now: datetime,
    events: list[Event],
    base_url: str = "",
) -> Obj:
    segments = [s for s in path.split("/") if s]
    head = segments[0] if segments else ""
    books = Books(company, now, events)
    if segments == ["query"]:
        allow(method, "GET", "POST")
        text = params.get("query", "") if method == "GET" else body.decode("utf-8", "replace")
        return run_query(books, text)
    if segments == ["batch"]:
        allow(method, "POST")
        return run_batch(company, body, now, events)
    if segments == ["cdc"]:
        allow(method, "GET")
        return run_cdc(books, params)
    if len(segments) == 1 and head.lower() == "exchangerate":
        return exchange_rate_resource(books, method, params, body)  # docs/quickbooks/next.md#multicurrency
    entity = entity_named(head)
    if entity is not None and entity in MODELLED:
        if len(segments) == 1 and entity == "Preferences" and method == "GET":
            return {entity: books.read(entity, "1")}  # docs/quickbooks/next.md#company-preferences: no id
        if len(segments) == 1:
            allow(method, "POST")
            return {entity: write(books, entity, params, parse_json_body(body))}
        if len(segments) == 2:
            allow(method, "GET")
            found = books.read(entity, segments[1])
            if "invoicelink" in includes(params):  # docs/quickbooks/beyond.md#invoices-that-reach-the-buyer
                found = with_invoice_link(books, entity, found, base_url)
            return {entity: found}
        if len(segments) == 3 and segments[2] == "send":
            allow(method, "POST")
            return {entity: send(books, entity, segments[1], params.get("sendTo"))}
        if len(segments) == 3 and segments[2] == "pdf":
            allow(method, "GET")
            return pdf(books, entity, segments[1])
    raise unsupported(
        f"Operation Could not find resource for relative : /{path} of full path: /v3/company/{company.realm_id}/{path}",
        status=404,
    )


def write(books: Books, entity: str, params: dict[str, str], body: Obj) -> Obj:
    check_properties(entity, body)
    operation = params.get("operation", "").lower()
    include = includes(params)
    if operation == "delete":
        return books.delete(entity, body)
    # docs/quickbooks/api.md#void: invoices void with ?operation=void, payments and sales receipts with
    # ?operation=update&include=void (docs/quickbooks/entities.md#salesreceipt); either way for any voidable entity,
    # and a code 500 fault for the others (CreditMemo, RefundReceipt: delete only)
    if operation == "void" or (operation == "update" and "void" in include):
        return books.void(entity, body)
    if operation not in ("", "update", "create"):
        raise unsupported(f"Operation {operation} is not supported")
    if body.get("Id") not in (None, "", 0, "0") or not books.kind(entity).creatable:
        # docs/quickbooks/api.md#full-and-sparse-updates: Id in body = update; CompanyInfo is only updated
        return books.update(entity, body, include)
    return books.create(entity, body, include)


def includes(params: dict[str, str]) -> frozenset[str]:
    return frozenset(p.strip().lower() for p in params.get("include", "").split(","))


def allow(method: str, *allowed: str) -> None:
    if method not in allowed:
        raise unsupported(f"Method {method} is not allowed here", status=405)
