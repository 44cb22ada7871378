"""QuickBooks Accounting API calls made with the stored connection: every call in the project goes through
`api_call`. It takes a fresh access token from the vault (single-flight refresh), refuses to send while the
company is paused after a 429 (and starts that pause when QuickBooks throttles), waits for a place in the
company's request budget shared by every process (`budget`), replays once after a 401 with a
refreshed token, and records the outcome on the connection row. Facts: docs/quickbooks/api.md.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from django.utils import timezone

from kadouri.text import storable

from ..client import http
from ..client.errors import (
    CONNECTION_KINDS,
    RECONNECT_MESSAGE,
    QboAuthError,
    QboError,
    QboPausedError,
    QboThrottledError,
    TokenRejected,
)
from ..models import QboConnection
from . import budget
from .vault import connection_for_call, mark_needs_reconnect, pause_company, raise_if_paused, refresh_connection

log = logging.getLogger(__name__)


def _send(conn: QboConnection, method: str, path: str, *, pdf_of: tuple[str, str] | None = None, **kwargs):
    try:
        with budget.admitted(conn.realm_id, is_batch=path == "batch"):
            if pdf_of is not None:  # a binary answer: the document's PDF
                entity, entity_id = pdf_of
                return http.download_pdf(
                    realm_id=conn.realm_id, access_token=conn.access_token, entity=entity, entity_id=entity_id
                )
            return http.send(realm_id=conn.realm_id, access_token=conn.access_token, method=method, path=path, **kwargs)
    except QboThrottledError as e:
        if not isinstance(e, QboPausedError) and e.retry_at is not None:
            pause_company(conn, e.retry_at)
        raise


def api_call(
    method: str,
    path: str,
    *,
    realm_id: str | None = None,
    params: dict | None = None,
    body: Any = None,
    content_type: str = "application/json",
    request_id: str | None = None,
    pdf_of: tuple[str, str] | None = None,
) -> Any:
    """One QuickBooks Accounting API request; `path` is relative to /v3/company/<realm>/. `pdf_of` (entity, id)
    asks for that document's PDF instead: the answer is its bytes."""
    conn = connection_for_call(realm_id)
    raise_if_paused(conn)
    if body is not None and not isinstance(body, str):
        body = json.dumps(body)
    kwargs = dict(params=params, body=body, content_type=content_type, request_id=request_id)
    if pdf_of is not None:
        kwargs = {"pdf_of": pdf_of}
    try:
        try:
            result = _send(conn, method, path, **kwargs)
        except TokenRejected:
            conn = refresh_connection(conn.pk, rejected_access_token=conn.access_token)
            try:
                result = _send(conn, method, path, **kwargs)
            except TokenRejected:
                mark_needs_reconnect(conn.pk, "QuickBooks rejected a freshly refreshed access token.")
                raise QboAuthError(RECONNECT_MESSAGE, code="3200", status=401) from None
    except QboError as e:
        if e.kind in CONNECTION_KINDS:  # the Settings page's "last error" is the connection's, not a document's
            QboConnection.objects.filter(pk=conn.pk).update(last_error=e.message[:500], last_error_at=timezone.now())
        log.warning("quickbooks %s %s failed: %s code=%s", method, path.split("?")[0], e.kind, e.code)
        raise
    QboConnection.objects.filter(pk=conn.pk).update(last_success_at=timezone.now())
    if isinstance(result, bytes):
        return result
    # QuickBooks' own text may hold NUL characters or lone surrogates, which PostgreSQL cannot store: every value
    # Kadouri keeps from an answer (names, numbers, documents in JSON columns) comes through here.
    return storable(result)


def read(entity: str, entity_id: str, *, realm_id: str | None = None) -> dict:
    # https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice#read-an-invoice
    return api_call("GET", f"{entity.lower()}/{entity_id}", realm_id=realm_id)[entity]


def create(entity: str, payload: dict, *, request_id: str, realm_id: str | None = None) -> dict:
    return api_call("POST", entity.lower(), body=payload, request_id=request_id, realm_id=realm_id)[entity]


def update(entity: str, payload: dict, *, request_id: str, realm_id: str | None = None) -> dict:
    # A full update clears omitted writable fields; send "sparse": true for a partial one
    # (docs/quickbooks/api.md#full-and-sparse-updates).
    return api_call("POST", entity.lower(), body=payload, request_id=request_id, realm_id=realm_id)[entity]


def void(entity: str, entity_id: str, sync_token: str, *, request_id: str, realm_id: str | None = None) -> dict:
    # A void keeps the transaction with every amount 0 (docs/quickbooks/api.md#void): invoices, sales receipts and
    # payments alike. python-quickbooks' void() takes no requestid (docs/quickbooks/libraries.md#writes-and-queries),
    # so post it ourselves.
    return api_call(
        "POST",
        entity.lower(),
        params={"operation": "void"},
        body={"Id": entity_id, "SyncToken": sync_token},
        request_id=request_id,
        realm_id=realm_id,
    )[entity]


def void_invoice(invoice_id: str, sync_token: str, *, request_id: str, realm_id: str | None = None) -> dict:
    return void("Invoice", invoice_id, sync_token, request_id=request_id, realm_id=realm_id)


def delete(entity: str, entity_id: str, sync_token: str, *, request_id: str, realm_id: str | None = None) -> dict:
    return api_call(
        "POST",
        entity.lower(),
        params={"operation": "delete"},
        body={"Id": entity_id, "SyncToken": sync_token},
        request_id=request_id,
        realm_id=realm_id,
    )


def query(sql: str, *, realm_id: str | None = None) -> dict:
    # python-quickbooks posts queries as text (docs/quickbooks/api.md#url-pattern); we do the same.
    answer = api_call("POST", "query", body=sql, content_type="application/text", realm_id=realm_id)
    return answer.get("QueryResponse", {})


def batch(items: list[dict], *, realm_id: str | None = None, request_id: str | None = None) -> list[dict]:
    # At most 30 items per batch (docs/quickbooks/api.md#batch); each answer carries its bId and either the entity or a
    # Fault. A batch `requestid` is at most 36 characters and its bIds at most 10 (docs/quickbooks/api.md#batch,
    # docs/quickbooks/api.md#idempotent-writes-requestid).
    return api_call("POST", "batch", body={"BatchItemRequest": items}, realm_id=realm_id, request_id=request_id).get(
        "BatchItemResponse", []
    )


def cdc(entities: list[str], changed_since: datetime, *, realm_id: str | None = None) -> dict:
    params = {"entities": ",".join(entities), "changedSince": changed_since.isoformat(timespec="seconds")}
    return api_call("GET", "cdc", params=params, realm_id=realm_id)


# --- delivering a document (docs/quickbooks/beyond.md#invoices-that-reach-the-buyer) ---------------------------------


def send_document(entity: str, entity_id: str, *, to: str, request_id: str, realm_id: str | None = None) -> dict:
    """QuickBooks mails the invoice or estimate to `to` (which becomes its BillEmail) and answers the document with
    its EmailStatus and DeliveryInfo."""
    return api_call(
        "POST",
        f"{entity.lower()}/{entity_id}/send",
        params={"sendTo": to},
        content_type="application/octet-stream",
        request_id=request_id,
        realm_id=realm_id,
    )[entity]


def read_with_invoice_link(entity: str, entity_id: str, *, realm_id: str | None = None) -> dict:
    """The document with its online payment link, which QuickBooks adds only when asked (`include=invoiceLink`)."""
    return api_call("GET", f"{entity.lower()}/{entity_id}", params={"include": "invoiceLink"}, realm_id=realm_id)[
        entity
    ]


def pdf(entity: str, entity_id: str, *, realm_id: str | None = None) -> bytes:
    return api_call("GET", f"{entity.lower()}/{entity_id}/pdf", pdf_of=(entity, entity_id), realm_id=realm_id)


def company_info(realm_id: str) -> dict:
    return api_call("GET", f"companyinfo/{realm_id}", realm_id=realm_id)["CompanyInfo"]


def preferences(realm_id: str) -> dict:
    # One Preferences object per company, read without an id (docs/quickbooks/next.md#company-preferences).
    return api_call("GET", "preferences", realm_id=realm_id)["Preferences"]
