"""Intuit's OAuth 2.0 service through intuit-oauth: the authorization URL, exchanging a code, refreshing and
revoking tokens. Every failure becomes a classified QboError. Facts: docs/quickbooks/oauth.md."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import requests
from django.conf import settings
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from intuitlib.client import AuthClient
from intuitlib.enums import Scopes
from intuitlib.exceptions import AuthClientError

from kadouri.debug import remember_secret

from .errors import RECONNECT_MESSAGE, QboAuthError, QboError, QboTransientError
from .http import INTUIT_ENDPOINTS, default_timeout, endpoints

HARD_EXPIRY_HEADER = "x-include-refresh-token-hard-expires-in"  # docs/quickbooks/oauth.md#token-requests


class _TimedAuthClient(AuthClient):
    # intuit-oauth passes no timeout, and its constructor already GETs the discovery document
    # (docs/quickbooks/libraries.md#tokens-and-timeouts), so the timeout goes on the session itself, before that first
    # request.
    def request(self, method, url, *args, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = default_timeout()
        return super().request(method, url, *args, **kwargs)


@sensitive_variables("client")
def _auth_client() -> AuthClient:
    environment = settings.QBO_ENVIRONMENT if settings.QBO_ENVIRONMENT in INTUIT_ENDPOINTS else endpoints().discovery
    client = _TimedAuthClient(
        settings.QBO_CLIENT_ID, settings.QBO_CLIENT_SECRET, settings.QBO_REDIRECT_URI, environment
    )
    client.headers[HARD_EXPIRY_HEADER] = "true"
    return client


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
            detail = {
                "invalid_grant": "QuickBooks rejected the refresh token or code (invalid_grant)",
                "invalid_client": "QuickBooks rejected the client id or secret (invalid_client)",
            }.get(error, error)
            return QboAuthError(f"{action} failed: {detail}. {RECONNECT_MESSAGE}", code=error, status=e.status_code)
        if e.status_code and e.status_code < 500:
            return QboAuthError(f"{action} failed (HTTP {e.status_code}). {RECONNECT_MESSAGE}", status=e.status_code)
        return QboTransientError(
            f"{action} failed: QuickBooks' sign-in service answered HTTP {e.status_code}; try again shortly.",
            status=e.status_code,
        )
    return QboTransientError(
        f"{action} failed: QuickBooks' sign-in service could not be reached "
        f"({e.__class__.__name__}); try again shortly."
    )


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
    _, url = _oauth(
        "Reaching QuickBooks", lambda auth: auth.get_authorization_url([Scopes.ACCOUNTING], state_token=state)
    )
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
