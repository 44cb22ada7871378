"""The only module that talks to QuickBooks Online.

Every call in the project goes through `api_call` (or the small wrappers below it): it obtains a fresh
access token from the vault (single-flight refresh under a row lock), builds python-quickbooks' client with
that token so the library never refreshes on its own, pins minorversion 75, sets timeouts, sends a
`requestid` on writes, replays once after a 401, pauses the company after a 429, and sorts every failure by
QuickBooks' fault code into a few error classes with a message a person can act on.
Facts: ../shared/reference/qbo-api.md (cited below as §n).
"""

import json
import logging
import re
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterator

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from intuitlib.client import AuthClient
from intuitlib.enums import Scopes
from intuitlib.exceptions import AuthClientError
from quickbooks import QuickBooks
from quickbooks.exceptions import QuickbooksException
from requests.adapters import HTTPAdapter

from kadouri.debug import remember_secret
from kadouri.display import when as display_when
from kadouri.text import is_ascii_digits, storable

from .models import IntegrationLog, QboConnection

log = logging.getLogger(__name__)

MINOR_VERSION = 75  # below 75 Intuit ignores the value since 2025-08-01 (§1.3)
REFRESH_MARGIN = timedelta(minutes=5)
# Intuit advises a 60 s wait after a 429 (field-lessons §0); settings.QBO_THROTTLE_PAUSE_SECONDS (the soak shortens it).
DEFAULT_THROTTLE_PAUSE = timedelta(seconds=settings.QBO_THROTTLE_PAUSE_SECONDS)
HARD_EXPIRY_HEADER = "x-include-refresh-token-hard-expires-in"  # §6.4


# --- endpoints -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Endpoints:
    discovery: str
    authorization: str
    token: str
    revocation: str
    api_base: str  # ".../v3"


INTUIT_ENDPOINTS = {  # §1.1, §6.1
    "sandbox": Endpoints(
        discovery="https://developer.intuit.com/.well-known/openid_sandbox_configuration/",
        authorization="https://appcenter.intuit.com/connect/oauth2",
        token="https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
        revocation="https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
        api_base="https://sandbox-quickbooks.api.intuit.com/v3",
    ),
    "production": Endpoints(
        discovery="https://developer.intuit.com/.well-known/openid_configuration/",
        authorization="https://appcenter.intuit.com/connect/oauth2",
        token="https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
        revocation="https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
        api_base="https://quickbooks.api.intuit.com/v3",
    ),
}


def endpoints() -> Endpoints:
    if settings.QBO_ENVIRONMENT in INTUIT_ENDPOINTS:
        return INTUIT_ENDPOINTS[settings.QBO_ENVIRONMENT]
    base = settings.QBO_EMULATOR_URL
    return Endpoints(
        discovery=f"{base}/.well-known/openid_configuration",
        authorization=f"{base}/connect/oauth2",
        token=f"{base}/oauth2/v1/tokens/bearer",
        revocation=f"{base}/v2/oauth2/tokens/revoke",
        api_base=f"{base}/v3",
    )


# --- errors ------------------------------------------------------------------------------------

class QboError(Exception):
    """A QuickBooks failure, classified. `str(e)` is safe to show to staff; it never holds a secret."""

    kind = "validation"

    def __init__(self, message: str, *, code: str = "", detail: str = "", status: int | None = None,
                 retry_at: datetime | None = None, in_doubt: bool = False) -> None:
        super().__init__(message)
        self.message, self.code, self.detail, self.status = message, str(code or ""), detail[:1000], status
        self.retry_at, self.in_doubt = retry_at, in_doubt

    def as_dict(self) -> dict:
        return {"kind": self.kind, "code": self.code, "message": self.message, "detail": self.detail}


class QboTransientError(QboError):
    """Busy, throttled, unreachable: retrying later will work. `in_doubt`: a write may have happened."""

    kind = "transient"


class QboThrottledError(QboTransientError):
    kind = "throttled"


class QboPausedError(QboThrottledError):
    """Not sent at all: the company is paused after an earlier 429 (by any worker). Not the caller's failure."""


class QboAuthError(QboError):
    """The connection needs an admin to reconnect; retrying will not help."""

    kind = "auth"


class QboNotConnected(QboAuthError):
    kind = "not_connected"


class QboStaleError(QboError):
    kind = "stale"


class QboDuplicateError(QboError):
    kind = "duplicate"


class QboNotFoundError(QboError):
    kind = "not_found"


class QboValidationError(QboError):
    kind = "validation"


class QboWrongLinkError(QboError):
    """Not sent: the QuickBooks document at the order's id is not the order's own (another number)."""

    kind = "wrong_link"


class _TokenRejected(Exception):
    """An API 401: refresh once and replay (§11.3)."""


CONNECTION_KINDS = {"transient", "throttled", "auth", "not_connected"}

RECONNECT_MESSAGE = (
    "The QuickBooks connection needs to be reconnected. An admin can do this in Settings → QuickBooks Integration "
    "→ Reconnect; nothing is sent to QuickBooks until then."
)
NOT_CONNECTED_MESSAGE = "QuickBooks is not connected. An admin can connect it in Settings → QuickBooks Integration."


def _message_for(kind: str, code: str, detail: str, retry_at: datetime | None) -> str:
    brief = f" (QuickBooks error {code})" if code else ""
    reason = f": {detail.rstrip('. ')}" if detail else ""
    if kind == "throttled":
        when = f"at {display_when(retry_at)}" if retry_at else "shortly"
        return f"QuickBooks asked us to slow down{brief}. Kadouri pauses this company and retries {when}."
    if kind == "transient":
        return f"QuickBooks is busy or unreachable right now{brief}. Kadouri retries automatically; if this lasts, check QuickBooks' status page."
    if kind == "stale":
        return f"The document was changed in QuickBooks at the same time{brief}. Reload and try again."
    if kind == "duplicate":
        return (f"QuickBooks already has a record with this name or number{brief}{reason}. Rename it in Kadouri, "
                "or check QuickBooks for the existing record (see the Activity Log).")
    if kind == "not_found":
        return f"QuickBooks cannot find this record{brief}; it may have been deleted in QuickBooks{reason}."
    if code == "6000":  # a business rule of the books (e.g. payments applied): settled in QuickBooks
        return f"QuickBooks refused{brief}{reason}. Resolve it in QuickBooks, then try again."
    return f"QuickBooks refused the data{brief}{reason}. Correct it in Kadouri and try again."


_XML_CODE = re.compile(r"<Error[^>]*\bcode=\"(\d+)\"", re.I)
_XML_DETAIL = re.compile(r"<Detail>(.*?)</Detail>", re.I | re.S)


def classify(*, code: str | int | None, status: int | None, detail: str = "", in_doubt: bool = False,
             retry_at: datetime | None = None, token_rejected_as_auth: bool = False) -> QboError:
    """One table from fault code (and HTTP status) to error class; §4.3, §4.4, §11.4. A rejected token raises
    _TokenRejected so api_call can refresh and replay the request; with `token_rejected_as_auth` (a fault inside
    a batch answer, which cannot be replayed on its own) it is an auth error for the caller to stop on."""
    code = str(code or "").lstrip("0")
    if code == "3001" or status == 429:
        kind, cls = "throttled", QboThrottledError
    elif code in {"3200", "100", "120"} or status == 401:
        if not token_rejected_as_auth:
            raise _TokenRejected()
        kind, cls, status = "auth", QboAuthError, 401
    elif code == "3100" or status == 403:
        kind, cls = "auth", QboAuthError
    elif code == "5010":
        kind, cls = "stale", QboStaleError
    elif code in {"6240", "6140"}:
        kind, cls = "duplicate", QboDuplicateError
    elif code == "610":
        kind, cls = "not_found", QboNotFoundError
    elif status is None or status >= 500 or code == "10000":
        kind, cls = "transient", QboTransientError
    else:
        kind, cls = "validation", QboValidationError
    message = RECONNECT_MESSAGE if kind == "auth" else _message_for(kind, code, detail, retry_at)
    return cls(message, code=code, detail=detail, status=status, retry_at=retry_at, in_doubt=in_doubt)


# --- HTTP plumbing -------------------------------------------------------------------------------

class _DefaultTimeoutAdapter(HTTPAdapter):
    # Neither python-quickbooks nor intuit-oauth passes a timeout (§11.3).
    def send(self, request, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = (5, settings.QBO_HTTP_TIMEOUT)
        return super().send(request, **kwargs)


def _with_timeouts(session: requests.Session) -> requests.Session:
    for scheme in ("https://", "http://"):
        session.mount(scheme, _DefaultTimeoutAdapter())
    return session


class _BearerSession(requests.Session):
    """What python-quickbooks needs from its session: `.access_token` and `.request` — and no refreshing."""

    @sensitive_variables("access_token")
    def __init__(self, access_token: str) -> None:
        super().__init__()
        self.access_token = access_token
        self.last_response: requests.Response | None = None
        self.hooks["response"].append(self._keep)
        _with_timeouts(self)

    def _keep(self, response, *args, **kwargs):
        self.last_response = response


def _build_qb(conn: QboConnection) -> QuickBooks:
    qb = QuickBooks(company_id=conn.realm_id, minorversion=MINOR_VERSION)
    qb.api_url_v3 = qb.sandbox_api_url_v3 = endpoints().api_base  # §8.4, §11.2
    qb.session = _BearerSession(conn.access_token)
    return qb


class _TimedAuthClient(AuthClient):
    # intuit-oauth passes no timeout, and its constructor already GETs the discovery document (§11.3),
    # so the timeout goes on the session itself, before that first request.
    def request(self, method, url, *args, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = (5, settings.QBO_HTTP_TIMEOUT)
        return super().request(method, url, *args, **kwargs)


@sensitive_variables("client")
def _auth_client() -> AuthClient:
    environment = settings.QBO_ENVIRONMENT if settings.QBO_ENVIRONMENT in INTUIT_ENDPOINTS else endpoints().discovery
    client = _TimedAuthClient(settings.QBO_CLIENT_ID, settings.QBO_CLIENT_SECRET, settings.QBO_REDIRECT_URI, environment)
    client.headers[HARD_EXPIRY_HEADER] = "true"
    return client


# --- OAuth ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TokenSet:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    access_expires_at: datetime
    refresh_expires_at: datetime | None
    hard_expires_at: datetime | None


@sensitive_variables("client")
def _token_set(client: AuthClient) -> TokenSet:
    now = timezone.now()
    remember_secret(client.access_token)
    remember_secret(client.refresh_token)

    def later(seconds):
        return now + timedelta(seconds=int(seconds)) if seconds not in (None, "") else None

    return TokenSet(
        access_token=client.access_token,
        refresh_token=client.refresh_token,
        access_expires_at=later(client.expires_in or 3600),
        refresh_expires_at=later(client.x_refresh_token_expires_in),
        hard_expires_at=later(getattr(client, "x_refresh_token_hard_expires_in", None)),
    )


def _oauth_failure(e: Exception, action: str) -> QboError:
    if isinstance(e, AuthClientError):
        try:
            error = json.loads(e.content or b"{}").get("error", "")
        except (ValueError, AttributeError):
            error = ""
        if error in {"invalid_grant", "invalid_client", "unauthorized_client"}:
            detail = {"invalid_grant": "QuickBooks rejected the refresh token or code (invalid_grant)",
                      "invalid_client": "QuickBooks rejected the client id or secret (invalid_client)"}.get(error, error)
            return QboAuthError(f"{action} failed: {detail}. {RECONNECT_MESSAGE}", code=error, status=e.status_code)
        if e.status_code and e.status_code < 500:
            return QboAuthError(f"{action} failed (HTTP {e.status_code}). {RECONNECT_MESSAGE}", status=e.status_code)
        return QboTransientError(f"{action} failed: QuickBooks' sign-in service answered HTTP {e.status_code}; try again shortly.", status=e.status_code)
    return QboTransientError(f"{action} failed: QuickBooks' sign-in service could not be reached ({e.__class__.__name__}); try again shortly.")


# Discovery answers that are not JSON or lack a field surface as ValueError / KeyError.
_OAUTH_FAILURES = (AuthClientError, requests.RequestException, ValueError, KeyError)


@sensitive_variables("auth", "operation")
def _oauth(action: str, operation) -> tuple[AuthClient, Any]:
    """Runs one intuit-oauth operation; every failure becomes a classified QboError."""
    try:
        auth = _auth_client()
        return auth, operation(auth)
    except _OAUTH_FAILURES as e:
        raise _oauth_failure(e, action) from None


def authorization_url(state: str) -> str:
    _, url = _oauth("Reaching QuickBooks", lambda auth: auth.get_authorization_url([Scopes.ACCOUNTING], state_token=state))
    return url


@sensitive_variables("code", "auth")
def exchange_code(code: str, realm_id: str) -> TokenSet:
    auth, _ = _oauth("Connecting to QuickBooks", lambda auth: auth.get_bearer_token(code, realm_id=realm_id))
    return _token_set(auth)


@sensitive_variables("refresh_token", "auth")
def refresh_tokens(refresh_token: str) -> TokenSet:
    auth, _ = _oauth("Refreshing the QuickBooks token", lambda auth: auth.refresh(refresh_token=refresh_token))
    return _token_set(auth)


@sensitive_variables("refresh_token")
def revoke(refresh_token: str) -> None:
    _oauth("Revoking the QuickBooks connection", lambda auth: auth.revoke(token=refresh_token))


# --- the vault: single-flight refresh --------------------------------------------------------------

def log_event(*, realm_id: str, event: str, message: str, user=None) -> None:
    IntegrationLog.objects.create(realm_id=realm_id, event=event, message=message[:500], user=user)
    log.info("quickbooks %s realm=%s: %s", event, realm_id, message)


def current_connection() -> QboConnection | None:
    return QboConnection.objects.exclude(state=QboConnection.State.DISCONNECTED).order_by("-connected_at").first()


def latest_connection() -> QboConnection | None:
    """The connection to show: the live one, else the last one (disconnected, its realm still remembered)."""
    return current_connection() or QboConnection.objects.first()


def usable_connection(realm_id: str | None = None) -> QboConnection:
    """The connection QuickBooks work may use, or the error that says why there is none."""
    conn = QboConnection.objects.filter(realm_id=realm_id).first() if realm_id else current_connection()
    if conn is None or conn.state == QboConnection.State.DISCONNECTED:
        raise QboNotConnected(NOT_CONNECTED_MESSAGE)
    if conn.state == QboConnection.State.NEEDS_RECONNECT:
        raise QboAuthError(RECONNECT_MESSAGE)
    return conn


def needs_refresh(conn: QboConnection) -> bool:
    return conn.access_expires_at is None or conn.access_expires_at - timezone.now() <= REFRESH_MARGIN


def mark_needs_reconnect(conn_pk: int, reason: str) -> None:
    conn = QboConnection.objects.get(pk=conn_pk)
    QboConnection.objects.filter(pk=conn_pk).update(
        state=QboConnection.State.NEEDS_RECONNECT, last_error=reason[:500], last_error_at=timezone.now()
    )
    log_event(realm_id=conn.realm_id, event=IntegrationLog.Event.RECONNECT_NEEDED, message=reason)


@sensitive_variables("tokens", "rejected_access_token")
def refresh_connection(conn_pk: int, *, rejected_access_token: str | None = None, force: bool = False) -> QboConnection:
    """Refreshes at most once however many workers ask: the row lock makes the others wait, then they
    re-read the row and find the new token (§6.5: a lost rotated refresh token means reconnecting).
    A failure is recorded before the lock is released, so the waiting callers learn it instead of trying again."""
    waiting_since = timezone.now()
    failure: QboError | None = None
    with transaction.atomic():
        conn = QboConnection.objects.select_for_update().get(pk=conn_pk)
        if conn.state != QboConnection.State.CONNECTED:
            raise QboAuthError(RECONNECT_MESSAGE)
        if rejected_access_token is not None and conn.access_token != rejected_access_token:
            return conn  # another worker already refreshed after the same 401
        if rejected_access_token is None and not force and not needs_refresh(conn):
            return conn
        _raise_if_refresh_just_failed(conn, waiting_since)
        try:
            tokens = refresh_tokens(conn.refresh_token)
        except QboError as e:
            failure = e
            _record_refresh_failure(conn, failure)
        else:
            store_tokens(conn, tokens)
            conn.last_refreshed_at = timezone.now()
            conn.save()
            log_event(realm_id=conn.realm_id, event=IntegrationLog.Event.REFRESHED,
                      message=f"Access token refreshed; valid until {display_when(tokens.access_expires_at)}.")
            return conn
    raise failure


def _raise_if_refresh_just_failed(conn: QboConnection, waiting_since: datetime) -> None:
    """A transient refresh failure that happened while this caller waited for the lock is its answer too:
    a burst of callers makes one attempt, not one each."""
    failed = IntegrationLog.objects.filter(realm_id=conn.realm_id, event=IntegrationLog.Event.REFRESH_FAILED,
                                           created_at__gte=waiting_since).first()
    if failed is not None:
        raise QboTransientError(failed.message)


def _record_refresh_failure(conn: QboConnection, failure: QboError) -> None:
    """Called with the row still locked (the caller's transaction commits it with the lock's release)."""
    if isinstance(failure, QboAuthError):
        mark_needs_reconnect(conn.pk, failure.message)
    else:
        QboConnection.objects.filter(pk=conn.pk).update(last_error=failure.message[:500], last_error_at=timezone.now())
        log_event(realm_id=conn.realm_id, event=IntegrationLog.Event.REFRESH_FAILED, message=failure.message)


@sensitive_variables("tokens")
def store_tokens(conn: QboConnection, tokens: TokenSet) -> None:
    conn.access_token = tokens.access_token
    conn.refresh_token = tokens.refresh_token
    conn.access_expires_at = tokens.access_expires_at
    conn.refresh_expires_at = tokens.refresh_expires_at
    if tokens.hard_expires_at:
        conn.hard_expires_at = tokens.hard_expires_at


def connection_for_call(realm_id: str | None = None) -> QboConnection:
    conn = usable_connection(realm_id)
    if needs_refresh(conn):
        conn = refresh_connection(conn.pk)
    return conn


# --- API calls -------------------------------------------------------------------------------------

def _raise_if_paused(conn: QboConnection) -> None:
    if conn.paused_until and conn.paused_until > timezone.now():
        raise QboPausedError(_message_for("throttled", "3001", "", conn.paused_until), code="3001", retry_at=conn.paused_until)


def _pause_company(conn: QboConnection, response: requests.Response | None) -> datetime:
    pause = DEFAULT_THROTTLE_PAUSE
    retry_after = response.headers.get("Retry-After", "") if response is not None else ""
    if is_ascii_digits(retry_after):
        pause = timedelta(seconds=min(int(retry_after), 3600))
    until = timezone.now() + pause
    QboConnection.objects.filter(pk=conn.pk).update(paused_until=until)
    log_event(realm_id=conn.realm_id, event=IntegrationLog.Event.THROTTLED,
              message=f"QuickBooks throttled this company (429); every worker pauses until {display_when(until)}.")
    return until


def _fault_code_and_detail(e: QuickbooksException) -> tuple[str, str]:
    text = f"{e.message} {e.detail or ''}"
    if e.error_code == 10000:  # non-JSON or non-200 without Fault: maybe an XML fault (§1.4)
        match = _XML_CODE.search(text)
        if match:
            detail = _XML_DETAIL.search(text)
            return match.group(1), (detail.group(1).strip() if detail else "")
        return "10000", ""
    return str(e.error_code), (e.detail or e.message or "")


# The request ids of the writes sent inside `writes_sent()` (None outside it).
_writes_sent: ContextVar[list[str] | None] = ContextVar("qbo_writes_sent", default=None)


@contextmanager
def writes_sent() -> Iterator[list[str]]:
    """Collects the requestid of every write that leaves for QuickBooks inside the block (a write without
    one is collected as ""). The outbox uses it to tell "nothing was sent" from "a write may have landed"."""
    sent: list[str] = []
    token = _writes_sent.set(sent)
    try:
        yield sent
    finally:
        _writes_sent.reset(token)


def _note_write(request_id: str | None) -> None:
    sent = _writes_sent.get()
    if sent is not None:
        sent.append(request_id or "")


def _invoke(conn: QboConnection, method: str, path: str, *, params, body, content_type, request_id) -> dict:
    qb = _build_qb(conn)
    url = f"{qb.api_url}/company/{conn.realm_id}/{path}"
    is_write = method != "GET" and path.split("?")[0] not in {"query"}
    if is_write:
        _note_write(request_id)
    try:
        return qb.make_request(method, url, request_body=body, content_type=content_type,
                               params=dict(params or {}), request_id=request_id)
    except QuickbooksException as e:
        response = qb.session.last_response
        status = response.status_code if response is not None else None
        code, detail = _fault_code_and_detail(e)
        retry_at = _pause_company(conn, response) if status == 429 or code.lstrip("0") == "3001" else None
        # A write answered by a server error (or no status) may still have been applied.
        in_doubt = is_write and (status is None or status >= 500)
        raise classify(code=code, status=status, detail=detail[:500], retry_at=retry_at, in_doubt=in_doubt) from None
    except (TypeError, ValueError):
        raise QboValidationError("QuickBooks answered with an unreadable fault; an operator should look at the logs.") from None
    except requests.RequestException as e:
        raise QboTransientError(
            _message_for("transient", "", "", None), detail=e.__class__.__name__, in_doubt=is_write
        ) from None


def api_call(method: str, path: str, *, realm_id: str | None = None, params: dict | None = None,
             body: Any = None, content_type: str = "application/json", request_id: str | None = None) -> dict:
    """One QuickBooks Accounting API request; `path` is relative to /v3/company/<realm>/."""
    conn = connection_for_call(realm_id)
    _raise_if_paused(conn)
    if body is not None and not isinstance(body, str):
        body = json.dumps(body)
    kwargs = dict(params=params, body=body, content_type=content_type, request_id=request_id)
    try:
        try:
            result = _invoke(conn, method, path, **kwargs)
        except _TokenRejected:
            conn = refresh_connection(conn.pk, rejected_access_token=conn.access_token)
            try:
                result = _invoke(conn, method, path, **kwargs)
            except _TokenRejected:
                mark_needs_reconnect(conn.pk, "QuickBooks rejected a freshly refreshed access token.")
                raise QboAuthError(RECONNECT_MESSAGE, code="3200", status=401) from None
    except QboError as e:
        if e.kind in CONNECTION_KINDS:  # the Settings page's "last error" is the connection's, not a document's
            QboConnection.objects.filter(pk=conn.pk).update(last_error=e.message[:500], last_error_at=timezone.now())
        log.warning("quickbooks %s %s failed: %s code=%s", method, path.split("?")[0], e.kind, e.code)
        raise
    QboConnection.objects.filter(pk=conn.pk).update(last_success_at=timezone.now())
    # QuickBooks' own text may hold NUL characters or lone surrogates, which PostgreSQL cannot store: every value Kadouri keeps
    # from an answer (names, numbers, documents in JSON columns) comes through here.
    return storable(result)


# --- small typed wrappers ---------------------------------------------------------------------------

def read(entity: str, entity_id: str, *, realm_id: str | None = None) -> dict:
    # https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice#read-an-invoice
    return api_call("GET", f"{entity.lower()}/{entity_id}", realm_id=realm_id)[entity]


def create(entity: str, payload: dict, *, request_id: str, realm_id: str | None = None) -> dict:
    return api_call("POST", entity.lower(), body=payload, request_id=request_id, realm_id=realm_id)[entity]


def update(entity: str, payload: dict, *, request_id: str, realm_id: str | None = None) -> dict:
    # A full update clears omitted writable fields; send "sparse": true for a partial one (§3.3).
    return api_call("POST", entity.lower(), body=payload, request_id=request_id, realm_id=realm_id)[entity]


def void_invoice(invoice_id: str, sync_token: str, *, request_id: str, realm_id: str | None = None) -> dict:
    # python-quickbooks' void() takes no requestid (§11.5), so post it ourselves.
    return api_call("POST", "invoice", params={"operation": "void"}, body={"Id": invoice_id, "SyncToken": sync_token},
                    request_id=request_id, realm_id=realm_id)["Invoice"]


def delete(entity: str, entity_id: str, sync_token: str, *, request_id: str, realm_id: str | None = None) -> dict:
    return api_call("POST", entity.lower(), params={"operation": "delete"},
                    body={"Id": entity_id, "SyncToken": sync_token}, request_id=request_id, realm_id=realm_id)


def query(sql: str, *, realm_id: str | None = None) -> dict:
    # python-quickbooks posts queries as text (§1.2); we do the same.
    return api_call("POST", "query", body=sql, content_type="application/text", realm_id=realm_id).get("QueryResponse", {})


def query_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def batch(items: list[dict], *, realm_id: str | None = None, request_id: str | None = None) -> list[dict]:
    # At most 30 items per batch (§3.7); each answer carries its bId and either the entity or a Fault.
    # A batch `requestid` is at most 36 characters and its bIds at most 10 (§3.7, §3.9).
    return api_call("POST", "batch", body={"BatchItemRequest": items}, realm_id=realm_id,
                    request_id=request_id).get("BatchItemResponse", [])


def cdc(entities: list[str], changed_since: datetime, *, realm_id: str | None = None) -> dict:
    params = {"entities": ",".join(entities), "changedSince": changed_since.isoformat(timespec="seconds")}
    return api_call("GET", "cdc", params=params, realm_id=realm_id)


def company_info(realm_id: str) -> dict:
    return api_call("GET", f"companyinfo/{realm_id}", realm_id=realm_id)["CompanyInfo"]


def company_info_with_new_tokens(tokens: TokenSet, realm_id: str) -> dict:
    """Reads CompanyInfo with tokens that are not stored yet: QuickBooks answers only if they were granted
    for `realm_id` (403 otherwise), which proves which company a sign-in connected before anything is saved."""
    unsaved = QboConnection(realm_id=realm_id, access_token=tokens.access_token)
    try:
        return _invoke(unsaved, "GET", f"companyinfo/{realm_id}", params=None, body=None,
                       content_type="application/json", request_id=None)["CompanyInfo"]
    except _TokenRejected:
        raise QboAuthError("QuickBooks did not accept the new sign-in's access token.", status=401) from None
    except KeyError:
        raise QboValidationError("QuickBooks answered without the company's details.") from None
