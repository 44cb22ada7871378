"""Connecting, reconnecting and disconnecting a QuickBooks company (the spec's OAuth flow)."""

import secrets
import time

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accounts.models import Account
from kadouri.debug import remember_secret
from orders.models import Order
from products.models import Product

from . import client
from .client import QboError
from .models import IntegrationLog, QboConnection

STATE_SESSION_KEY = "qbo_oauth_state"
STATE_MAX_AGE_SECONDS = 600


class ConnectError(Exception):
    """The callback cannot complete; the message is shown on the Settings page."""


def oauth_start(*, session) -> str:
    """A single-use, short-lived `state` bound to this session; returns the authorization URL."""
    state = secrets.token_urlsafe(32)
    session[STATE_SESSION_KEY] = {"value": state, "issued": time.time()}
    return client.authorization_url(state)


def _consume_state(session, state: str) -> None:
    expected = session.pop(STATE_SESSION_KEY, None)
    if not expected or not state:
        raise ConnectError("This QuickBooks sign-in link was already used or did not start here. Click Connect again.")
    if not secrets.compare_digest(str(expected.get("value", "")), state):
        raise ConnectError("The QuickBooks sign-in could not be verified (state mismatch). Click Connect again.")
    if time.time() - float(expected.get("issued", 0)) > STATE_MAX_AGE_SECONDS:
        raise ConnectError("The QuickBooks sign-in took too long and expired. Click Connect again.")


def linked_ids_exist() -> bool:
    return (
        Account.objects.filter(qbo_customer_id__isnull=False).exists()
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


@sensitive_variables("params", "code", "state", "tokens")
def oauth_callback(*, session, params, user) -> QboConnection:
    error = params.get("error", "")
    state = params.get("state", "")
    remember_secret(params.get("code"))
    if error:
        session.pop(STATE_SESSION_KEY, None)
        if error == "access_denied":
            raise ConnectError("QuickBooks connection cancelled: access was not granted. Click Connect to try again.")
        raise ConnectError(f"QuickBooks did not connect ({error[:60]}). Click Connect to try again.")
    _consume_state(session, state)
    code, realm_id = params.get("code", ""), params.get("realmId", "")
    if not code or not realm_id:
        raise ConnectError("QuickBooks sent back an incomplete answer (no authorization code or company id). Click Connect again.")
    if not realm_id.isdigit() or len(realm_id) > 32:
        raise ConnectError("QuickBooks sent back an invalid company id. Click Connect again.")
    _refuse_other_company(realm_id)
    try:
        tokens = client.exchange_code(code, realm_id)
    except QboError as e:
        client.log_event(realm_id=realm_id, event=IntegrationLog.Event.CONNECT_FAILED, message=e.message, user=user)
        raise ConnectError(e.message) from None
    conn = _save_connection(realm_id, tokens, user)
    _fetch_company_name(conn)
    client.log_event(realm_id=realm_id, event=IntegrationLog.Event.CONNECTED,
                     message=f"Connected to {conn.company_name or realm_id} by {user.get_username()}.", user=user)
    return conn


@transaction.atomic
@sensitive_variables("tokens")
def _save_connection(realm_id: str, tokens: client.TokenSet, user) -> QboConnection:
    QboConnection.objects.exclude(realm_id=realm_id).delete()  # only reached when no old ids remain
    conn, _ = QboConnection.objects.select_for_update().get_or_create(realm_id=realm_id, defaults={"environment": ""})
    client.store_tokens(conn, tokens)
    conn.environment = settings.QBO_ENVIRONMENT
    conn.state = QboConnection.State.CONNECTED
    conn.connected_by, conn.connected_at = user, timezone.now()
    conn.paused_until = None
    conn.last_error = ""
    conn.save()
    return conn


def _fetch_company_name(conn: QboConnection) -> None:
    try:
        info = client.company_info(conn.realm_id)
    except QboError:
        return  # the name is cosmetic; the connection works
    conn.company_name = (info.get("CompanyName") or "")[:255]
    conn.save(update_fields=["company_name"])


def disconnect(*, user) -> QboConnection | None:
    """Revokes at Intuit, then deletes the tokens. QuickBooks ids on records stay (reconnect resumes)."""
    conn = client.latest_connection()
    if conn is None:
        return None
    note = ""
    if conn.refresh_token:
        try:
            client.revoke(conn.refresh_token)
        except QboError as e:
            note = f" Revoking at QuickBooks failed ({e.message}); the tokens were deleted here anyway."
    conn.access_token = conn.refresh_token = ""
    conn.access_expires_at = conn.refresh_expires_at = None
    conn.state = QboConnection.State.DISCONNECTED
    conn.save()
    client.log_event(realm_id=conn.realm_id, event=IntegrationLog.Event.DISCONNECTED,
                     message=f"Disconnected by {user.get_username()}.{note}", user=user)
    return conn


@transaction.atomic
def clear_linked_ids(*, user) -> dict[str, int]:
    """For switching companies: forget every QuickBooks id of the old company."""
    counts = {
        "accounts": Account.objects.filter(qbo_customer_id__isnull=False).update(qbo_customer_id=None, qbo_sync_token=""),
        "products": Product.objects.filter(qbo_item_id__isnull=False).update(qbo_item_id=None, qbo_sync_token=""),
        "orders": Order.objects.filter(qbo_doc_id__isnull=False).update(
            qbo_doc_id=None, qbo_doc_number="", qbo_doc_type="", qbo_sync_token="", qbo_balance=None, qbo_total=None,
            pushed_fingerprint="",
        ),
    }
    # Creates in doubt belong to the old company: replaying them to a new one would create blind.
    Account.objects.exclude(qbo_create_request="").update(qbo_create_request="")
    Product.objects.exclude(qbo_create_request="").update(qbo_create_request="")
    old = QboConnection.objects.filter(state=QboConnection.State.DISCONNECTED)
    realms = list(old.values_list("realm_id", flat=True))
    old.delete()
    client.log_event(realm_id=",".join(realms), event=IntegrationLog.Event.IDS_CLEARED,
                     message=f"QuickBooks ids cleared by {user.get_username()}: {counts}.", user=user)
    return counts


def status_json() -> dict:
    conn = client.latest_connection()

    def iso(value):
        return value.isoformat() if value else None

    if conn is None:
        return {"connected": False, "state": QboConnection.State.DISCONNECTED, "realmId": None, "companyName": None,
                "environment": settings.QBO_ENVIRONMENT, "accessTokenExpiresAt": None,
                "refreshTokenExpiresAt": None, "refreshTokenHardExpiresAt": None, "lastSuccessfulCallAt": None,
                "lastError": None, "lastErrorAt": None, "pausedUntil": None}
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
