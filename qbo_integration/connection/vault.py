"""The token vault: the connection row, its single-flight refresh under a row lock, the company's pause after a
429, and the integration log. QuickBooks' behaviours this relies on are described in docs/quickbooks.md, cited below by
page and section."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from kadouri.display import when as display_when

from ..client import oauth
from ..client.errors import (
    NOT_CONNECTED_MESSAGE,
    RECONNECT_MESSAGE,
    QboAuthError,
    QboError,
    QboNotConnected,
    QboTransientError,
    paused_error,
)
from ..models import IntegrationLog, QboConnection

log = logging.getLogger(__name__)

REFRESH_MARGIN = timedelta(minutes=5)


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
    re-read the row and find the new token (docs/quickbooks/oauth.md#token-lifetimes-and-rotation: a lost rotated
    refresh token means reconnecting). A failure is recorded before the lock is released, so the waiting callers learn
    it instead of trying again."""
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
            tokens = oauth.refresh_tokens(conn.refresh_token)
        except QboError as e:
            failure = e
            _record_refresh_failure(conn, failure)
        else:
            store_tokens(conn, tokens)
            conn.last_refreshed_at = timezone.now()
            conn.save()
            log_event(
                realm_id=conn.realm_id,
                event=IntegrationLog.Event.REFRESHED,
                message=f"Access token refreshed; valid until {display_when(tokens.access_expires_at)}.",
            )
            return conn
    raise failure


def _raise_if_refresh_just_failed(conn: QboConnection, waiting_since: datetime) -> None:
    """A transient refresh failure that happened while this caller waited for the lock is its answer too:
    a burst of callers makes one attempt, not one each."""
    failed = IntegrationLog.objects.filter(
        realm_id=conn.realm_id, event=IntegrationLog.Event.REFRESH_FAILED, created_at__gte=waiting_since
    ).first()
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
def store_tokens(conn: QboConnection, tokens: oauth.TokenSet) -> None:
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


# --- the company's pause after a 429 ---------------------------------------------------------------


def raise_if_paused(conn: QboConnection) -> None:
    if conn.paused_until and conn.paused_until > timezone.now():
        raise paused_error(conn.paused_until)


def pause_company(conn: QboConnection, until: datetime) -> datetime:
    """Every worker holds this company's calls until `until` (QuickBooks throttled it)."""
    QboConnection.objects.filter(pk=conn.pk).update(paused_until=until)
    log_event(
        realm_id=conn.realm_id,
        event=IntegrationLog.Event.THROTTLED,
        message=f"QuickBooks throttled this company (429); every worker pauses until {display_when(until)}.",
    )
    return until
