"""Security headers and cookies per `check --deploy`, and a Content-Security-Policy on every HTML page."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.test import Client

from .conftest import World
from .test_url_crawler import ALL_PATTERNS, LOGOUT, fill

BASE_DIR = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "kadouri.settings",
    "DEBUG": "false",
    "ALLOWED_HOSTS": "example.com",
    "QBO_ENVIRONMENT": "production",
    "QBO_CLIENT_ID": "prod-client-id",
    "QBO_CLIENT_SECRET": "prod-client-secret",
    "QBO_REDIRECT_URI": "https://example.com/api/quickbooks/callback",
    "QBO_TOKEN_KEYS": Fernet.generate_key().decode(),
    "QBO_WEBHOOK_VERIFIER_TOKEN": "prod-verifier-token",
}
SETTING_NAMES = [
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "CSRF_COOKIE_SECURE",
    "CSRF_COOKIE_HTTPONLY",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY",
    "X_FRAME_OPTIONS",
    "DEBUG",
]


def _production(*args: str) -> subprocess.CompletedProcess:
    # A clean environment: nothing from the test settings (which relax TLS) leaks into the child.
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "SECRET_KEY": secrets.token_urlsafe(50),
    } | PRODUCTION_ENV
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def production_settings() -> dict:
    code = (
        "from django.conf import settings; import json; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {SETTING_NAMES!r}}}))"
    )
    result = _production("shell", "-c", code)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_it_passes_check_deploy_with_production_settings():
    result = _production("check", "--deploy", "--fail-level", "WARNING")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues (0 silenced)." in output, output


def test_it_refuses_to_start_production_with_a_short_secret_key():
    env_key = "x" * 20
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env={"PATH": os.environ.get("PATH", ""), "SECRET_KEY": env_key} | PRODUCTION_ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0 and "security.W009" in result.stdout + result.stderr


def test_it_uses_secure_production_values(production_settings):
    assert production_settings == production_settings | {
        "DEBUG": False,
        "SECURE_SSL_REDIRECT": True,
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "CSRF_COOKIE_SECURE": True,
        "CSRF_COOKIE_HTTPONLY": True,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "SECURE_REFERRER_POLICY": "same-origin",
        "X_FRAME_OPTIONS": "DENY",
    }
    assert production_settings["SECURE_HSTS_SECONDS"] >= 31536000


@pytest.mark.django_db
def test_it_sends_hsts_and_secure_cookies_with_production_values(settings, production_settings, staff_user):
    for name, value in production_settings.items():
        if name != "DEBUG":
            setattr(settings, name, value)
    client = Client()
    plain = client.get("/login/")
    assert plain.status_code == 301 and plain["Location"] == "https://testserver/login/"

    page = client.get("/login/", secure=True)
    assert page["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    csrf = page.cookies["csrftoken"]
    assert csrf["secure"] and csrf["httponly"] and csrf["samesite"] == "Lax"

    login = client.post("/login/", {"username": "sam", "password": "pw-sam-123"}, secure=True)
    assert login.status_code == 302
    session = login.cookies["sessionid"]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style|\sstyle=\"|\son[a-z]+=\"|javascript:", re.I)


@pytest.mark.django_db
def test_it_sends_security_headers_and_a_csp_on_every_page(world: World, admin_client, client):
    checked, problems = 0, []
    for pattern in ALL_PATTERNS:
        if pattern.name in LOGOUT:
            continue
        path = fill(pattern)
        # Anonymous visitors only ever see the login page (the crawler proves it); it is checked with them.
        for who, browser in (("anonymous", client),) if pattern.is_public else (("admin", admin_client),):
            response = browser.get(path)
            headers = {k.lower(): v for k, v in response.items()}
            where = f"{who} GET {path} ({response.status_code})"
            if headers.get("x-content-type-options") != "nosniff" or headers.get("x-frame-options") != "DENY":
                problems.append(f"{where}: nosniff / X-Frame-Options missing")
            if headers.get("referrer-policy") != "same-origin":
                problems.append(f"{where}: Referrer-Policy missing")
            if not headers.get("content-type", "").startswith("text/html"):
                continue
            checked += 1
            csp = headers.get("content-security-policy", "")
            directives = dict((d.strip().split(" ", 1) + [""])[:2] for d in csp.split(";") if d.strip())
            if directives.get("default-src") != "'self'" or directives.get("script-src") != "'self'":
                problems.append(f"{where}: CSP {csp!r}")
            if (
                "unsafe" in csp
                or directives.get("frame-ancestors") != "'none'"
                or directives.get("object-src") != "'none'"
            ):
                problems.append(f"{where}: weak CSP {csp!r}")
            html = response.content.decode("utf-8", "replace")
            if not pattern.is_admin and (INLINE_SCRIPT.search(html) or INLINE_STYLE.search(html)):
                found = (INLINE_SCRIPT.search(html) or INLINE_STYLE.search(html)).group(0)
                problems.append(f"{where}: inline script/style the CSP blocks: {found}")
    assert not problems, "\n".join(problems)
    assert checked > 30
