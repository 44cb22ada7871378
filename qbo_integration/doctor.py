"""`manage.py qbo_doctor`: the whole chain checked in order, each finding with a fix in plain words.

settings → token keys (the stored tokens decrypt) → database (reachable, migrated) → worker (heartbeat, inbox) →
QuickBooks (token health, then one CompanyInfo read through the project's own client, `connection/calls.py`).
A problem stops Kadouri from working as it should (the command exits 1); a warning needs attention before it does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

import requests
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from kadouri.display import when

from . import health
from .client.errors import QboAuthError, QboError, QboThrottledError
from .client.http import default_timeout, endpoints
from .connection import calls
from .models import HARD_EXPIRY_WARNING, QboConnection

OK, WARNING, PROBLEM = "ok", "warning", "problem"
DEV_SECRET_KEY = "dev-only-insecure-key-change-me"  # kadouri/settings.py's DEBUG fallback
NEW_SECRET_KEY = 'python -c "import secrets; print(secrets.token_urlsafe(50))"'
NEW_FERNET_KEY = 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
# The worker refreshes every connection at least daily (tasks.refresh_tokens_proactively); a refresh token with less
# than this left, or no refresh for longer than STALE_REFRESH, means that refresh is not happening.
REFRESH_TOKEN_WARNING = timedelta(days=90)
STALE_REFRESH = timedelta(days=2)
DEPLOY_DOC = "docs/deploy.md"


@dataclass
class Finding:
    level: str
    area: str
    text: str
    fix: str = ""


def _ok(area: str, text: str) -> Finding:
    return Finding(OK, area, text)


# --- settings -------------------------------------------------------------------------------------------------


def _secret_key_findings() -> list[Finding]:
    key = settings.SECRET_KEY or ""
    weak = len(key) < 50 or len(set(key)) < 5 or key.startswith("django-insecure-") or key == DEV_SECRET_KEY
    if not key or weak:
        return [
            Finding(
                PROBLEM,
                "Settings",
                "SECRET_KEY is missing or weak (fewer than 50 characters, few distinct ones, or a known default).",
                f"Generate one with {NEW_SECRET_KEY} and set SECRET_KEY (sessions are signed with it: changing it "
                "logs everyone out, nothing else).",
            )
        ]
    return [_ok("Settings", "SECRET_KEY is long and random.")]


def _host_findings() -> list[Finding]:
    findings = []
    if settings.DEBUG:
        findings.append(
            Finding(
                PROBLEM,
                "Settings",
                "DEBUG is on: error pages show code and settings to visitors.",
                "Set DEBUG=false (the default).",
            )
        )
    hosts = settings.ALLOWED_HOSTS
    if not hosts or "*" in hosts:
        findings.append(
            Finding(
                PROBLEM,
                "Settings",
                f"ALLOWED_HOSTS is {'empty' if not hosts else 'a wildcard (*)'}.",
                "Set ALLOWED_HOSTS to the site's host name, e.g. ALLOWED_HOSTS=crm.example.com,127.0.0.1 "
                "(127.0.0.1 for the health probe on the machine itself).",
            )
        )
    if settings.Q_CLUSTER.get("sync"):
        findings.append(
            Finding(
                PROBLEM,
                "Settings",
                "Q_SYNC is on: background QuickBooks work runs inside web requests.",
                "Set Q_SYNC=false and run the worker (manage.py qbo_worker).",
            )
        )
    if not findings:
        findings.append(_ok("Settings", f"DEBUG is off; ALLOWED_HOSTS = {', '.join(hosts)}."))
    return findings


def _quickbooks_setting_findings() -> list[Finding]:
    missing = [
        name
        for name in ("QBO_CLIENT_ID", "QBO_CLIENT_SECRET", "QBO_REDIRECT_URI", "QBO_WEBHOOK_VERIFIER_TOKEN")
        if not getattr(settings, name)
    ]
    findings = []
    if missing:
        findings.append(
            Finding(
                PROBLEM,
                "Settings",
                f"Not set: {', '.join(missing)}.",
                "Copy them from your app on the Intuit developer dashboard (Keys & credentials; Webhooks for the "
                f"verifier token); {DEPLOY_DOC}#connecting-a-real-intuit-app.",
            )
        )
    environment = settings.QBO_ENVIRONMENT
    if environment == "emulator":
        findings.append(
            Finding(
                WARNING,
                "Settings",
                f"QBO_ENVIRONMENT=emulator: QuickBooks calls go to the offline emulator ({settings.QBO_EMULATOR_URL}).",
                "Fine for a trial; for real books set QBO_ENVIRONMENT=sandbox, then production.",
            )
        )
    elif not settings.QBO_REDIRECT_URI.startswith("https://"):
        findings.append(
            Finding(
                PROBLEM,
                "Settings",
                "QBO_REDIRECT_URI is not https: Intuit refuses it.",
                "Use https://<your host>/api/quickbooks/callback, registered with Intuit exactly.",
            )
        )
    if not findings:
        findings.append(_ok("Settings", f"QuickBooks settings are complete (QBO_ENVIRONMENT={environment})."))
    return findings


def check_settings() -> list[Finding]:
    return [*_secret_key_findings(), *_host_findings(), *_quickbooks_setting_findings()]


# --- token keys -------------------------------------------------------------------------------------------------


def _keys() -> list[Fernet] | None:
    try:
        return [Fernet(key.encode()) for key in settings.QBO_TOKEN_KEYS]
    except (ValueError, TypeError):
        return None


def _stored_ciphertexts() -> list[tuple[str, list[str]]]:
    """(realm, ciphertexts) per connection, read raw: the field itself would raise on a token it cannot decrypt."""
    table = connection.ops.quote_name(QboConnection._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT realm_id, access_token, refresh_token FROM {table}")
        return [(realm, [value for value in values if value]) for realm, *values in cursor.fetchall()]


def _undecryptable(keys: list[Fernet], ciphertexts: list[str]) -> tuple[int, int]:
    """How many of `ciphertexts` no key decrypts, and how many only an older key does."""
    lost = older = 0
    for ciphertext in ciphertexts:
        try:
            keys[0].decrypt(ciphertext.encode())
        except InvalidToken:
            try:
                MultiFernet(keys).decrypt(ciphertext.encode())
                older += 1
            except InvalidToken:
                lost += 1
    return lost, older


def check_token_keys() -> list[Finding]:
    keys = _keys()
    if not keys:
        return [
            Finding(
                PROBLEM,
                "Token keys",
                "QBO_TOKEN_KEYS is empty or holds something that is not a Fernet key.",
                f"Restore the keys from your backup; on a new installation generate one with {NEW_FERNET_KEY}.",
            )
        ]
    findings = []
    for realm, ciphertexts in _stored_ciphertexts():
        lost, older = _undecryptable(keys, ciphertexts)
        if lost:
            findings.append(
                Finding(
                    PROBLEM,
                    "Token keys",
                    f"The stored tokens of company {realm} cannot be decrypted with any key in QBO_TOKEN_KEYS.",
                    "Put back the key they were encrypted with (from the backup of QBO_TOKEN_KEYS, newest first). "
                    "If it is lost, an admin reconnects QuickBooks under Settings → QuickBooks Integration.",
                )
            )
        elif older:
            findings.append(
                Finding(
                    WARNING,
                    "Token keys",
                    f"Company {realm}'s tokens are still encrypted under an older key (a rotation is unfinished).",
                    "Run manage.py rotate_qbo_token_keys, then the old key may be dropped.",
                )
            )
    return findings or [_ok("Token keys", f"{len(keys)} key(s); every stored token decrypts with the newest.")]


# --- database and worker ------------------------------------------------------------------------------------------


def check_database() -> list[Finding]:
    reached = health.check_database()
    if not reached.ok:
        return [
            Finding(
                PROBLEM,
                "Database",
                f"{reached.problem[:1].upper()}{reached.problem[1:]}.",
                "Check DATABASE_URL (host, port, name, user, password) and that PostgreSQL is running.",
            )
        ]
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        return [
            Finding(
                PROBLEM,
                "Database",
                f"{len(pending)} migration(s) not applied.",
                "Run manage.py migrate (after a backup), then restart the web and worker services.",
            )
        ]
    return [_ok("Database", f"Reached ({connection.vendor}); every migration applied.")]


def check_worker() -> list[Finding]:
    findings = []
    worker = health.check_worker()
    if worker.ok:
        findings.append(_ok("Worker", f"Last heartbeat {worker.figures['heartbeat_age_seconds']} s ago."))
    else:
        findings.append(
            Finding(
                PROBLEM,
                "Worker",
                f"{worker.problem[:1].upper()}{worker.problem[1:]}.",
                "Start the worker: systemctl start kadouri-worker (or manage.py qbo_worker); its log says why it "
                "stopped (journalctl -u kadouri-worker).",
            )
        )
    inbox = health.check_inbox()
    if not inbox.ok:
        findings.append(
            Finding(
                PROBLEM,
                "Worker",
                f"Webhook inbox: {inbox.problem}.",
                "Look at Settings → QuickBooks → Inbox for the events' errors; with no errors, the worker is not "
                "keeping up (more Q_WORKERS, or a second worker machine: docs/multi-machine.md).",
            )
        )
    return findings


# --- QuickBooks -------------------------------------------------------------------------------------------------


def _token_health(conn: QboConnection) -> list[Finding]:
    now, findings = timezone.now(), []
    reconnect = "An admin reconnects under Settings → QuickBooks Integration (Connect to QuickBooks)."
    if conn.state == QboConnection.State.NEEDS_RECONNECT:
        reason = f" ({conn.last_error})" if conn.last_error else ""
        findings.append(Finding(PROBLEM, "QuickBooks", f"The connection needs reconnecting{reason}.", reconnect))
    if conn.refresh_expires_at and conn.refresh_expires_at <= now:
        findings.append(Finding(PROBLEM, "QuickBooks", "The refresh token has expired.", reconnect))
    elif conn.refresh_expires_at and conn.refresh_expires_at - now < REFRESH_TOKEN_WARNING:
        findings.append(
            Finding(
                WARNING,
                "QuickBooks",
                f"The refresh token expires {when(conn.refresh_expires_at)}: the daily refresh is not happening.",
                "Make sure the worker runs (it refreshes every connection daily); otherwise reconnect before then.",
            )
        )
    if conn.hard_expires_at and conn.hard_expires_at <= now:
        findings.append(Finding(PROBLEM, "QuickBooks", "The connection reached Intuit's hard expiry.", reconnect))
    elif conn.hard_expires_at and conn.hard_expires_at - now <= HARD_EXPIRY_WARNING:
        findings.append(
            Finding(
                WARNING,
                "QuickBooks",
                f"The connection reaches Intuit's hard expiry {when(conn.hard_expires_at)}.",
                f"Reconnect before then. {reconnect}",
            )
        )
    last_refresh = conn.last_refreshed_at or conn.connected_at
    if conn.is_usable and last_refresh and now - last_refresh > STALE_REFRESH:
        findings.append(
            Finding(
                WARNING,
                "QuickBooks",
                f"No token refresh since {when(last_refresh)}.",
                "The worker refreshes daily: make sure it runs.",
            )
        )
    if not findings:
        refresh = when(conn.refresh_expires_at) if conn.refresh_expires_at else "unknown"
        hard = when(conn.hard_expires_at) if conn.hard_expires_at else "not told by Intuit"
        findings.append(
            _ok("QuickBooks", f"Tokens are healthy: refresh token valid until {refresh}; hard expiry {hard}.")
        )
    return findings


def _company_info_finding(conn: QboConnection) -> Finding:
    started = time.monotonic()
    try:
        info = calls.company_info(conn.realm_id)
    except QboAuthError as e:
        return Finding(PROBLEM, "QuickBooks", f"QuickBooks refused the connection: {e.message}", e.message)
    except QboThrottledError as e:
        return Finding(WARNING, "QuickBooks", f"QuickBooks is throttling this company: {e.message}", "Wait; it passes.")
    except QboError as e:
        return Finding(
            PROBLEM,
            "QuickBooks",
            f"Reading CompanyInfo failed ({e.kind}): {e.message}",
            f"Check that this machine reaches {endpoints().api_base} over HTTPS (proxy, firewall, DNS) and "
            "Intuit's status page (https://status.developer.intuit.com/).",
        )
    took = round((time.monotonic() - started) * 1000)
    return _ok("QuickBooks", f"Read CompanyInfo of {info.get('CompanyName') or conn.realm_id} in {took} ms.")


def _discovery_finding() -> Finding:
    url = endpoints().discovery
    try:
        reached = requests.get(url, timeout=default_timeout()).ok
    except requests.RequestException:
        reached = False
    if not reached:
        return Finding(
            PROBLEM,
            "QuickBooks",
            f"Intuit's discovery document ({url}) cannot be read from this machine.",
            "Check outbound HTTPS (proxy, firewall, DNS) and QBO_ENVIRONMENT.",
        )
    return _ok("QuickBooks", f"Intuit's endpoints answer ({url}).")


def check_quickbooks(*, tokens_readable: bool = True) -> list[Finding]:
    conn = health.live_connection()
    if conn is None:
        return [
            Finding(
                WARNING,
                "QuickBooks",
                "No QuickBooks company is connected.",
                "An admin connects under Settings → QuickBooks Integration (Connect to QuickBooks).",
            ),
            _discovery_finding(),
        ]
    findings = _token_health(conn)
    if conn.is_usable and tokens_readable:
        findings.append(_company_info_finding(conn))
    elif conn.is_usable:
        findings.append(
            Finding(WARNING, "QuickBooks", "QuickBooks not called: the stored tokens cannot be decrypted (above).")
        )
    return findings


# --- the whole chain ------------------------------------------------------------------------------------------


def diagnose() -> list[Finding]:
    """Every check in order; without a database, the checks that read it are left out (the fix comes first)."""
    findings = check_settings()
    database = check_database()
    if database[0].level == PROBLEM and "migration" not in database[0].text:
        return [*findings, *database]
    try:
        keys = check_token_keys()
        readable = not any(f.level == PROBLEM for f in keys)
        return [*findings, *keys, *database, *check_worker(), *check_quickbooks(tokens_readable=readable)]
    except DatabaseError as e:
        return [*findings, Finding(PROBLEM, "Database", f"A query failed: {type(e).__name__}.", "Run it again.")]
