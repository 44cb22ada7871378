"""Connecting, reconnecting and disconnecting a QuickBooks company (the spec's OAuth flow)."""

import secrets
import time

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accounts.models import Account
from kadouri.debug import remember_secret
from kadouri.text import clean_inbound_line, is_ascii_digits
from orders.models import Order
from products.models import Product

from ..client import http, oauth
from ..client.errors import QboAuthError, QboError, QboValidationError, TokenRejected
from ..models import BrokerDocument, IntegrationLog, QboConnection
from . import budget
from .profile import refresh_profile
from .vault import current_connection, latest_connection, log_event, store_tokens

STATE_SESSION_KEY = "qbo_oauth_state"
STATE_MAX_AGE_SECONDS = 600
REALM_ID_MAX = 32  # QboConnection.realm_id


class ConnectError(Exception):
    """The callback cannot complete; the message is shown on the Settings page."""


class InvalidCallback(ConnectError):
    """A callback that does not answer the connect this session started (no pending state, or another one).
    It is ignored: the admin's connect in progress, if any, stays pending."""


def oauth_start(*, session) -> str:
    """A single-use, short-lived `state` bound to this session; returns the authorization URL."""
    state = secrets.token_urlsafe(32)
    session[STATE_SESSION_KEY] = {"value": state, "issued": time.time()}
    return oauth.authorization_url(state)


def _accept_state(session, state: str) -> None:
    """Only the callback carrying this session's pending state may use (and so end) the connect in progress."""
    expected = session.get(STATE_SESSION_KEY)
    if not expected or not state:
        raise InvalidCallback(
            "This QuickBooks sign-in link is invalid: it was already used or did not start here. "
            "Nothing was changed. Click Connect on the Settings page to connect."
        )
    if not secrets.compare_digest(str(expected.get("value", "")).encode(), state.encode()):
        raise InvalidCallback(
            "This QuickBooks sign-in link is invalid: it could not be verified (state mismatch). "
            "Nothing was changed. Click Connect on the Settings page to connect."
        )
    session.pop(STATE_SESSION_KEY, None)
    if time.time() - float(expected.get("issued", 0)) > STATE_MAX_AGE_SECONDS:
        raise ConnectError("The QuickBooks sign-in took too long and expired. Click Connect again.")


def is_realm_id(value: str) -> bool:
    return is_ascii_digits(value) and len(value) <= REALM_ID_MAX


def linked_ids_exist() -> bool:
    return (
        Account.objects.filter(qbo_customer_id__isnull=False).exists()
        or Account.objects.filter(qbo_vendor_id__isnull=False).exists()
        or Product.objects.filter(qbo_item_id__isnull=False).exists()
        or Order.objects.filter(qbo_doc_id__isnull=False).exists()
    )


def _refuse_other_company(realm_id: str) -> None:
    """Ids stored on records belong to the company of the connection row; any other company is refused."""
    if QboConnection.objects.filter(realm_id=realm_id).exists() or not linked_ids_exist():
        return
    old = QboConnection.objects.first()
    which = f"{old.company_name or 'another company'} ({old.realm_id})" if old else "another QuickBooks company"
    raise ConnectError(
        f"Kadouri holds QuickBooks ids from {which}. Connecting a different company would mix the two "
        "companies' records. Reconnect that company, or have an admin clear the old company's ids on this page first."
    )


def _refuse_error(error: str) -> None:
    if error == "access_denied":
        raise ConnectError("QuickBooks connection cancelled: access was not granted. Click Connect to try again.")
    raise ConnectError(f"QuickBooks did not connect ({error[:60]}). Click Connect to try again.")


@sensitive_variables("params", "code", "state", "tokens")
def oauth_callback(*, session, params, user) -> QboConnection:
    """Nothing is replaced until the new tokens have read the named company's CompanyInfo; a sign-in that is
    not kept is revoked at Intuit, and so is every sign-in the new one replaces."""
    remember_secret(params.get("code"))
    _accept_state(session, params.get("state", ""))
    if params.get("error", ""):
        _refuse_error(params["error"])
    code, realm_id = params.get("code", ""), params.get("realmId", "")
    if not code:
        raise ConnectError("QuickBooks sent back an incomplete answer (no authorization code). Click Connect again.")
    tokens = _exchange_code(code, realm_id, user)
    try:
        info = _verify_company(tokens, realm_id)
        _refuse_other_company(realm_id)
    except ConnectError as e:
        _discard_new_grant(tokens, realm_id, user, str(e))
        raise
    company_name = clean_inbound_line(info.get("CompanyName") or "")[:255]
    conn, replaced = _save_connection(realm_id, tokens, user, company_name=company_name)
    note = _revoke_replaced(replaced)
    log_event(
        realm_id=realm_id,
        event=IntegrationLog.Event.CONNECTED,
        message=f"Connected to {conn.company_name or realm_id} by {user.get_username()}.{note}",
        user=user,
    )
    _read_profile(realm_id, info)
    return conn


def _read_profile(realm_id: str, info: dict) -> None:
    """The connection stands even when the company's settings cannot be read now: the next catch-up reads them."""
    try:
        refresh_profile(realm_id, company_info=info)
    except QboError as e:
        log_event(
            realm_id=realm_id,
            event=IntegrationLog.Event.PROFILE_READ,
            message=f"Could not read the company's settings ({e.message}); the next catch-up will.",
        )


def _exchange_code(code: str, realm_id: str, user) -> oauth.TokenSet:
    try:
        return oauth.exchange_code(code, realm_id if is_realm_id(realm_id) else "")
    except QboError as e:
        log_event(
            realm_id=_loggable_realm(realm_id), event=IntegrationLog.Event.CONNECT_FAILED, message=e.message, user=user
        )
        raise ConnectError(e.message) from None


def _verify_company(tokens: oauth.TokenSet, realm_id: str) -> dict:
    if not realm_id:
        raise ConnectError("QuickBooks sent back an incomplete answer (no company id). Click Connect again.")
    if not is_realm_id(realm_id):
        raise ConnectError(
            "QuickBooks sent back an invalid company id (it must be digits 0-9). "
            "Nothing was changed. Click Connect again."
        )
    try:
        return _company_info_with_new_tokens(tokens, realm_id)
    except QboAuthError:
        raise ConnectError(
            f"QuickBooks did not confirm company {realm_id}: this sign-in was not granted for it. "
            "Nothing was changed. Click Connect and choose the company again."
        ) from None
    except QboError as e:
        raise ConnectError(
            f"Kadouri could not confirm the company with QuickBooks, so nothing was changed: {e.message}"
        ) from None


@sensitive_variables("tokens")
def _company_info_with_new_tokens(tokens: oauth.TokenSet, realm_id: str) -> dict:
    """Reads CompanyInfo with tokens that are not stored yet: QuickBooks answers only if they were granted
    for `realm_id` (403 otherwise), which proves which company a sign-in connected before anything is saved."""
    try:
        with budget.admitted(realm_id):
            return http.send(
                realm_id=realm_id, access_token=tokens.access_token, method="GET", path=f"companyinfo/{realm_id}"
            )["CompanyInfo"]
    except TokenRejected:
        raise QboAuthError("QuickBooks did not accept the new sign-in's access token.", status=401) from None
    except KeyError:
        raise QboValidationError("QuickBooks answered without the company's details.") from None


def _discard_new_grant(tokens: oauth.TokenSet, realm_id: str, user, reason: str) -> None:
    note = "The new sign-in was revoked at QuickBooks."
    try:
        oauth.revoke(tokens.refresh_token)
    except QboError as e:
        note = f"Revoking the new sign-in at QuickBooks failed ({e.message})."
    log_event(
        realm_id=_loggable_realm(realm_id),
        event=IntegrationLog.Event.CONNECT_FAILED,
        message=f"{reason} Company id in the answer: {ascii(realm_id[:40])}. {note}",
        user=user,
    )


def _loggable_realm(realm_id: str) -> str:
    return realm_id if is_realm_id(realm_id) else ""


@transaction.atomic
@sensitive_variables("tokens")
def _save_connection(
    realm_id: str, tokens: oauth.TokenSet, user, *, company_name: str
) -> tuple[QboConnection, list[str]]:
    """Returns the connection and the refresh tokens of the sign-ins it replaced (to revoke once committed)."""
    rows = list(QboConnection.objects.select_for_update().order_by("pk"))
    replaced = [row.refresh_token for row in rows if row.refresh_token]
    QboConnection.objects.exclude(realm_id=realm_id).delete()  # only reached when no old ids remain
    conn = next((row for row in rows if row.realm_id == realm_id), None) or QboConnection(realm_id=realm_id)
    store_tokens(conn, tokens)
    conn.company_name = company_name or conn.company_name
    conn.environment = settings.QBO_ENVIRONMENT
    conn.state = QboConnection.State.CONNECTED
    conn.connected_by, conn.connected_at = user, timezone.now()
    conn.paused_until = None
    conn.last_error = ""
    conn.save()
    return conn, replaced


def _revoke_replaced(refresh_tokens: list[str]) -> str:
    failures = []
    for refresh_token in refresh_tokens:
        try:
            oauth.revoke(refresh_token)
        except QboError as e:
            failures.append(e.message)
    if failures:
        return f" Revoking the replaced sign-in at QuickBooks failed ({failures[0]})."
    return " The replaced sign-in was revoked at QuickBooks." if refresh_tokens else ""


def disconnect(*, user) -> QboConnection | None:
    """Revokes at Intuit, then deletes the tokens. QuickBooks ids on records stay (reconnect resumes).
    None when there was no live connection to disconnect."""
    conn = current_connection()
    if conn is None:
        return None  # already disconnected (or never connected): nothing to revoke, nothing to log
    note = ""
    if conn.refresh_token:
        try:
            oauth.revoke(conn.refresh_token)
        except QboError as e:
            note = f" Revoking at QuickBooks failed ({e.message}); the tokens were deleted here anyway."
    conn.access_token = conn.refresh_token = ""
    conn.access_expires_at = conn.refresh_expires_at = None
    conn.state = QboConnection.State.DISCONNECTED
    conn.save()
    log_event(
        realm_id=conn.realm_id,
        event=IntegrationLog.Event.DISCONNECTED,
        message=f"Disconnected by {user.get_username()}.{note}",
        user=user,
    )
    return conn


@transaction.atomic
def clear_linked_ids(*, user) -> dict[str, int]:
    """For switching companies: forget every QuickBooks id of the old company."""
    counts = {
        "accounts": Account.objects.filter(qbo_customer_id__isnull=False).update(
            qbo_customer_id=None, qbo_sync_token=""
        ),
        "products": Product.objects.filter(qbo_item_id__isnull=False).update(qbo_item_id=None, qbo_sync_token=""),
        "orders": Order.objects.filter(qbo_doc_id__isnull=False).update(
            qbo_doc_id=None,
            qbo_doc_number="",
            qbo_doc_type="",
            qbo_sync_token="",
            qbo_balance=None,
            qbo_total=None,
            pushed_fingerprint="",
            qbo_link_problem="",
        ),
    }
    # Creates in doubt belong to the old company: replaying them to a new one would create blind.
    Account.objects.exclude(qbo_create_request="").update(qbo_create_request="")
    Product.objects.exclude(qbo_create_request="").update(qbo_create_request="")
    # The broker's own books (docs/quickbooks/beyond.md#the-brokers-own-books): sellers' vendors and the documents
    Account.objects.filter(Q(qbo_vendor_id__isnull=False) | ~Q(qbo_vendor_create_request="")).update(
        qbo_vendor_id=None, qbo_vendor_sync_token="", qbo_vendor_name_suffix="", qbo_vendor_create_request=""
    )
    BrokerDocument.objects.all().delete()
    old = QboConnection.objects.filter(state=QboConnection.State.DISCONNECTED)
    realms = list(old.values_list("realm_id", flat=True))
    old.delete()
    log_event(
        realm_id=",".join(realms),
        event=IntegrationLog.Event.IDS_CLEARED,
        message=f"QuickBooks ids cleared by {user.get_username()}: {counts}.",
        user=user,
    )
    return counts


def status_json() -> dict:
    conn = latest_connection()

    def iso(value):
        return value.isoformat() if value else None

    if conn is None:
        return {
            "connected": False,
            "state": QboConnection.State.DISCONNECTED,
            "realmId": None,
            "companyName": None,
            "environment": settings.QBO_ENVIRONMENT,
            "accessTokenExpiresAt": None,
            "refreshTokenExpiresAt": None,
            "refreshTokenHardExpiresAt": None,
            "lastSuccessfulCallAt": None,
            "lastError": None,
            "lastErrorAt": None,
            "pausedUntil": None,
        }
    return {
        "connected": conn.state == QboConnection.State.CONNECTED,
        "state": conn.state,
        "realmId": conn.realm_id,
        "companyName": conn.company_name,
        "environment": conn.environment,
        "connectedAt": iso(conn.connected_at),
        "accessTokenExpiresAt": iso(conn.access_expires_at),
        "refreshTokenExpiresAt": iso(conn.refresh_expires_at),
        "refreshTokenHardExpiresAt": iso(conn.hard_expires_at),
        "lastSuccessfulCallAt": iso(conn.last_success_at),
        "lastError": conn.last_error or None,
        "lastErrorAt": iso(conn.last_error_at),
        "pausedUntil": iso(conn.paused_until),
    }
