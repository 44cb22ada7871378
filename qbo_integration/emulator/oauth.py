"""Intuit OAuth 2.0 / OpenID server of the emulator (docs/quickbooks/oauth.md,
docs/quickbooks/libraries.md#intuit-oauth-authclient).

Serves the discovery document, the consent page, the token endpoint (authorization_code and
refresh_token grants, HTTP Basic or form client authentication), revocation, a JWKS stub and
userinfo. All lifetimes follow emulator time (the shared ``Clock``).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from .clock import Clock
from .consent import ACCOUNTING_SCOPE, AUTHORIZE_PATH, ConsentEndpoint
from .web.responses import Response

ACCESS_TOKEN_SECONDS = 3600
REFRESH_IDLE_SECONDS = 100 * 24 * 3600
REFRESH_GRACE_SECONDS = 24 * 3600
HARD_EXPIRY_SECONDS = 5 * 365 * 24 * 3600
HARD_EXPIRY_HEADER = "x-include-refresh-token-hard-expires-in"

DISCOVERY_PATHS = (
    "/.well-known/openid_configuration",
    "/.well-known/openid_configuration/",
    "/.well-known/openid_sandbox_configuration",
    "/.well-known/openid_sandbox_configuration/",
)
TOKEN_PATH = "/oauth2/v1/tokens/bearer"
REVOKE_PATH = "/v2/oauth2/tokens/revoke"
JWKS_PATH = "/op/v1/jwks"
USERINFO_PATH = "/v1/openid_connect/userinfo"
OAUTH_PATHS = set(DISCOVERY_PATHS) | {AUTHORIZE_PATH, TOKEN_PATH, REVOKE_PATH, JWKS_PATH, USERINFO_PATH}

CompanyLister = Callable[[], list[tuple[str, str, str]]]  # realm, name, summary


@dataclass
class OAuthConfig:
    client_id: str = "emulator-client-id"
    client_secret: str = "emulator-client-secret"
    redirect_uris: list[str] = field(default_factory=lambda: ["http://127.0.0.1:8000/api/quickbooks/callback"])


def _json(status: int, payload: object, extra: dict[str, str] | None = None) -> Response:
    headers = {"Content-Type": "application/json;charset=UTF-8", "Cache-Control": "no-store", "Pragma": "no-cache"}
    headers.update(extra or {})
    return status, headers, json.dumps(payload).encode()


def _oauth_error(status: int, error: str, description: str | None = None) -> Response:
    payload = {"error": error}
    if description:
        payload["error_description"] = description
    extra = {"WWW-Authenticate": 'Basic realm="intuit"'} if status == 401 else None
    return _json(status, payload, extra)


def _post_required() -> Response:
    return _oauth_error(405, "invalid_request", "POST required")


def discovery(base_url: str) -> dict:
    """The OpenID discovery document, every endpoint on ``base_url``."""
    return {
        "issuer": f"{base_url}/op/v1",
        "authorization_endpoint": f"{base_url}{AUTHORIZE_PATH}",
        "token_endpoint": f"{base_url}{TOKEN_PATH}",
        "userinfo_endpoint": f"{base_url}{USERINFO_PATH}",
        "revocation_endpoint": f"{base_url}{REVOKE_PATH}",
        "jwks_uri": f"{base_url}{JWKS_PATH}",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile", "address", "phone"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
    }


def _empty_stats() -> dict[str, int]:
    return {
        "authorization_code": 0,
        "refresh_token": 0,
        "revoke": 0,
        "authorization_code_failed": 0,
        "refresh_token_failed": 0,
        "revoke_failed": 0,
        "unsupported_grant_type": 0,
        "invalid_client": 0,
        "authorizations": 0,
        "denials": 0,
    }


class OAuthServer(ConsentEndpoint):
    def __init__(self, clock: Clock, config: OAuthConfig, companies: CompanyLister) -> None:
        self.clock = clock
        self.config = config
        self.companies = companies
        self._lock = threading.RLock()
        self._codes: dict[str, dict] = {}
        self._grants: dict[str, dict] = {}
        self._access: dict[str, dict] = {}
        self._refresh: dict[str, dict] = {}
        self.stats: dict[str, int] = _empty_stats()

    # ---- public helpers ------------------------------------------------------------------

    def issue_tokens(self, realm_id: str, scope: str = ACCOUNTING_SCOPE, include_hard: bool = True) -> dict:
        """Mint a fresh grant for ``realm_id`` without the consent flow (for tests and scripts)."""
        with self._lock:
            grant_id = self._new_grant(realm_id, self.config.client_id, scope)
            body = self._token_body(grant_id, include_hard)
        return {**body, "realm_id": realm_id}

    def check_access_token(self, token: str | None, realm_id: str) -> str:
        """One of ok, missing, invalid, expired, revoked, wrong_realm."""
        if not token:
            return "missing"
        with self._lock:
            record = self._access.get(token)
            if record is None:
                return "invalid"
            grant = self._grants.get(record["grant"])
            if grant is None or grant["revoked"]:
                return "revoked"
            if self._now() >= record["expires_at"]:
                return "expired"
            if grant["realm"] != realm_id:
                return "wrong_realm"
            return "ok"

    def grants(self, realm_id: str | None = None) -> list[dict]:
        """Every grant issued (consent + code exchange, or ``issue_tokens``), oldest first, with whether it was
        revoked."""
        with self._lock:
            return [
                {
                    "id": grant_id,
                    "realm": grant["realm"],
                    "created_at": grant["created_at"],
                    "revoked": grant["revoked"],
                }
                for grant_id, grant in self._grants.items()
                if realm_id in (None, grant["realm"])
            ]

    def grant_of(self, token: str) -> str | None:
        """The grant an access or refresh token belongs to."""
        with self._lock:
            record = self._refresh.get(token) or self._access.get(token)
            return record["grant"] if record else None

    def revoke_realm(self, realm_id: str) -> int:
        """Disconnect every grant of a company, as a user disconnecting the app in QBO does."""
        with self._lock:
            grants = [g for g in self._grants.values() if g["realm"] == realm_id and not g["revoked"]]
            for grant in grants:
                grant["revoked"] = True
            return len(grants)

    def reset(self) -> None:
        with self._lock:
            self._codes.clear()
            self._grants.clear()
            self._access.clear()
            self._refresh.clear()
            self.stats = _empty_stats()

    def to_state(self) -> dict:
        with self._lock:
            return {
                "codes": self._codes,
                "grants": self._grants,
                "access": self._access,
                "refresh": self._refresh,
                "stats": self.stats,
            }

    def load_state(self, data: dict) -> None:
        with self._lock:
            self._codes = dict(data["codes"])
            self._grants = dict(data["grants"])
            self._access = dict(data["access"])
            self._refresh = dict(data["refresh"])
            self.stats = {**_empty_stats(), **data.get("stats", {})}

    # ---- routing -------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, params: dict[str, str], headers: dict[str, str], body: bytes, base_url: str
    ) -> Response | None:
        if path in DISCOVERY_PATHS:
            return _json(200, discovery(base_url))
        if path == AUTHORIZE_PATH:
            return self._authorize(method, params, body)
        if path == TOKEN_PATH:
            return self._token(method, headers, body) if method == "POST" else _post_required()
        if path == REVOKE_PATH:
            return self._revoke(method, headers, body) if method == "POST" else _post_required()
        if path == JWKS_PATH:
            return _json(200, {"keys": []})
        if path == USERINFO_PATH:
            return self._userinfo(headers)
        return None

    # ---- authorization page --------------------------------------------------------------

    # ---- token endpoint ------------------------------------------------------------------

    def _token(self, method: str, headers: dict[str, str], body: bytes) -> Response:
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        grant_type = form.get("grant_type", "")
        counted = grant_type if grant_type in ("authorization_code", "refresh_token") else "unsupported_grant_type"
        with self._lock:
            self.stats[counted] += 1
            if not self._client_ok(headers, form):
                self.stats["invalid_client"] += 1
                self._count_failure(counted)
                return _oauth_error(401, "invalid_client")
            include_hard = headers.get(HARD_EXPIRY_HEADER, "").lower() == "true"
            if grant_type == "authorization_code":
                response = self._exchange_code(form, include_hard)
            elif grant_type == "refresh_token":
                response = self._refresh_grant(form, include_hard)
            else:
                response = _oauth_error(400, "unsupported_grant_type")
            if response[0] != 200:
                self._count_failure(counted)
            return response

    def _count_failure(self, counted: str) -> None:
        key = f"{counted}_failed"
        if key in self.stats:
            self.stats[key] += 1

    def _client_ok(self, headers: dict[str, str], form: dict[str, str]) -> bool:
        client = _basic_credentials(headers.get("authorization", ""))
        if client is None and "client_id" in form:
            client = (form.get("client_id", ""), form.get("client_secret", ""))
        return client == (self.config.client_id, self.config.client_secret)

    def _exchange_code(self, form: dict[str, str], include_hard: bool) -> Response:
        record = self._codes.get(form.get("code", ""))
        if record is None or record["used"] or self._now() >= record["expires_at"]:
            # Codes are single use and short lived; Intuit's exact text is unverified
            # (docs/quickbooks/oauth.md#token-requests).
            return _oauth_error(400, "invalid_grant")
        if form.get("redirect_uri") != record["redirect_uri"] or record["client_id"] != self.config.client_id:
            return _oauth_error(400, "invalid_grant")
        record["used"] = True
        grant_id = self._new_grant(record["realm"], record["client_id"], record["scope"])
        return _json(200, self._token_body(grant_id, include_hard))

    def _refresh_grant(self, form: dict[str, str], include_hard: bool) -> Response:
        token = form.get("refresh_token", "")
        record = self._refresh.get(token)
        if record is None or not self._refresh_alive(record):
            # Text as Intuit sends it (docs/quickbooks/oauth.md#token-requests).
            return _oauth_error(400, "invalid_grant", "Incorrect or invalid refresh token")
        now = self._now()
        record["last_used_at"] = now
        if record["superseded_at"] is None:
            # The previous token keeps working for 24 h after rotation
            # (docs/quickbooks/oauth.md#token-lifetimes-and-rotation).
            record["superseded_at"] = now
        return _json(200, self._token_body(record["grant"], include_hard))

    def _refresh_alive(self, record: dict) -> bool:
        grant = self._grants.get(record["grant"])
        now = self._now()
        if grant is None or grant["revoked"]:
            return False
        if now >= grant["created_at"] + HARD_EXPIRY_SECONDS:
            return False
        if now >= record["last_used_at"] + REFRESH_IDLE_SECONDS:
            return False
        superseded = record["superseded_at"]
        return superseded is None or now < superseded + REFRESH_GRACE_SECONDS

    def _new_grant(self, realm: str, client_id: str, scope: str) -> str:
        grant_id = secrets.token_hex(8)
        self._grants[grant_id] = {
            "realm": realm,
            "client_id": client_id,
            "scope": scope,
            "created_at": self._now(),
            "revoked": False,
        }
        return grant_id

    def _token_body(self, grant_id: str, include_hard: bool) -> dict:
        now = self._now()
        grant = self._grants[grant_id]
        access = "eyJlbmMiOiJlbXUifQ." + secrets.token_urlsafe(40)
        refresh = "AB11" + secrets.token_hex(24)
        self._access[access] = {
            "grant": grant_id,
            "realm": grant["realm"],
            "issued_at": now,
            "expires_at": now + ACCESS_TOKEN_SECONDS,
        }
        self._refresh[refresh] = {"grant": grant_id, "issued_at": now, "last_used_at": now, "superseded_at": None}
        hard_left = math.ceil(grant["created_at"] + HARD_EXPIRY_SECONDS - now)
        body = {
            "token_type": "bearer",
            "access_token": access,
            "expires_in": ACCESS_TOKEN_SECONDS,
            "refresh_token": refresh,
            "x_refresh_token_expires_in": min(REFRESH_IDLE_SECONDS, hard_left),
        }
        if include_hard:
            # Only when asked with the header (docs/quickbooks/oauth.md#token-requests,
            # docs/quickbooks/libraries.md#tokens-and-timeouts).
            body["x_refresh_token_hard_expires_in"] = hard_left
        return body

    # ---- revocation and userinfo ---------------------------------------------------------

    def _revoke(self, method: str, headers: dict[str, str], body: bytes) -> Response:
        with self._lock:
            self.stats["revoke"] += 1
            client = (self.config.client_id, self.config.client_secret)
            if _basic_credentials(headers.get("authorization", "")) != client:
                self.stats["invalid_client"] += 1
                self.stats["revoke_failed"] += 1
                return _oauth_error(401, "invalid_client")
            token = _revocation_token(headers, body)
            if not token:
                self.stats["revoke_failed"] += 1
                return _oauth_error(400, "invalid_request", "token is required")
            record = self._refresh.get(token) or self._access.get(token)
            if record is not None and record["grant"] in self._grants:
                # Revoking either token kills the whole grant (docs/quickbooks/oauth.md#token-requests).
                self._grants[record["grant"]]["revoked"] = True
            # Unknown tokens answer 200 as RFC 7009 asks; Intuit's behaviour is unverified.
            return 200, {"Content-Type": "application/json;charset=UTF-8"}, b""

    def _userinfo(self, headers: dict[str, str]) -> Response:
        token = _bearer(headers)
        with self._lock:
            record = self._access.get(token or "")
            if record is None or self.check_access_token(token, record["realm"]) != "ok":
                return _oauth_error(401, "invalid_token")
            return _json(
                200,
                {
                    "sub": record["grant"],
                    "realmid": record["realm"],
                    "email": "bookkeeper@example.test",
                    "emailVerified": True,
                    "givenName": "Emulated",
                    "familyName": "Bookkeeper",
                },
            )

    def _now(self) -> float:
        return self.clock.now().timestamp()


def _bearer(headers: dict[str, str]) -> str | None:
    value = headers.get("authorization", "")
    if value[:7].lower() == "bearer ":
        return value[7:].strip() or None
    return None


def _basic_credentials(header: str) -> tuple[str, str] | None:
    if header[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    client_id, _, secret = decoded.partition(":")
    return client_id, secret


def _revocation_token(headers: dict[str, str], body: bytes) -> str:
    text = body.decode("utf-8", "replace").strip()
    if "json" in headers.get("content-type", "") or text.startswith("{"):
        try:
            return str(json.loads(text).get("token", ""))
        except (ValueError, AttributeError):
            return ""
    # The Java client sends a form body (docs/quickbooks/oauth.md#token-requests).
    return dict(parse_qsl(text)).get("token", "")


# ---- HTML ----------------------------------------------------------------------------------
