"""No header gives a 500, and Django's DEBUG page (what `make run` shows when something breaks) never shows
a secret: not the webhook verifier token, not the client secret, not a QuickBooks token or authorization code,
not a password.

Crashes are provoked at the edge of the system: the database refuses one statement (Django's
`execute_wrapper`), as a full disk or a dropped connection would.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import DatabaseError, connection
from django.test import Client, RequestFactory
from django.utils import timezone
from django.views.debug import technical_500_response

from qbo_integration.connection.vault import refresh_connection
from qbo_integration.inbound import intake
from qbo_integration.models import QboConnection
from qbo_integration.testing import REALM_ID

from .conftest import TRACEBACK_MARKERS, World, assert_no_leak, secrets_now
from .test_bad_input import _delivery, _start
from .test_secrets import Vault

pytestmark = pytest.mark.django_db

DEBUG_PAGE_MARKER = "Exception Value"  # proves the technical 500 page was rendered (the test is not vacuous)


@contextmanager
def database_refuses(verb: str, table: str):
    """Every `verb` statement on `table` fails, as if the disk were full."""

    def refuse(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith(verb) and f'"{table}"' in sql:
            raise DatabaseError("could not extend file: No space left on device")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse):
        yield


def debug_client() -> Client:
    return Client(raise_request_exception=False)


def assert_debug_page_without(response, secrets: dict[str, str]) -> None:
    text = response.content.decode("utf-8", "replace")
    assert response.status_code == 500 and DEBUG_PAGE_MARKER in text, text[:500]
    leaked = [name for name, value in secrets.items() if value in text]
    assert leaked == [], f"the debug page shows {leaked}"


# --- Content-Length --------------------------------------------------------------------------------

UNREADABLE_LENGTHS = ["abc", "-1", "1e3", "12abc", " ", "０"]  # the last one: a full-width digit zero
BODY_READERS = [  # (who, method, url): every kind of view that reads a body
    ("anon", "POST", "/api/quickbooks/webhook"),
    ("anon", "POST", "/login/"),
    ("anon", "POST", "/admin/login/"),
    ("staff", "POST", "/orders/new/"),
    ("staff", "PATCH", "/api/orders/{draft}"),
    ("staff", "POST", "/api/quickbooks/sync/order/{draft}"),
    ("admin", "POST", "/settings/quickbooks/inbox/replay/"),
]


@pytest.mark.parametrize("debug", [True, False], ids=["debug", "production"])
@pytest.mark.parametrize("length", UNREADABLE_LENGTHS)
def test_it_refuses_an_unreadable_content_length_with_400(
    world: World, staff_user, admin_user, settings, debug, length
):
    settings.DEBUG = debug
    secrets = secrets_now()
    for who, method, url in BODY_READERS:
        client = debug_client()
        if who != "anon":
            client.force_login(staff_user if who == "staff" else admin_user)
        path = url.format(draft=world.draft.pk)
        response = client.generic(
            method,
            path,
            b'{"notes": "x"}',
            content_type="application/json",
            CONTENT_LENGTH=length,
            HTTP_INTUIT_SIGNATURE="c2ln",
        )

        assert response.status_code == 400, (path, length, response.status_code, response.content[:300])
        assert "Content-Length" in response.content.decode(), path
        assert_no_leak(response, secrets, f"{method} {path} Content-Length {length!r}")
        if path.startswith("/api/"):
            assert response.json()["error"]


def test_it_still_reads_a_well_formed_content_length(world: World):
    body = _delivery("5")
    response = Client().post(
        "/api/quickbooks/webhook",
        body,
        content_type="application/json",
        CONTENT_LENGTH=str(len(body)),
        HTTP_INTUIT_SIGNATURE=intake.sign(body, settings.QBO_WEBHOOK_VERIFIER_TOKEN),
    )
    assert response.status_code == 200 and response.json()["stored"] == 1


# --- the DEBUG page ----------------------------------------------------------------------------------


def test_the_debug_page_of_a_crashed_webhook_hides_the_verifier_token(world: World, settings):
    settings.DEBUG = True
    body = _delivery("9")
    with database_refuses("INSERT", "quickbooks_webhook_events"):
        response = debug_client().post(
            "/api/quickbooks/webhook",
            body,
            content_type="application/json",
            HTTP_INTUIT_SIGNATURE=intake.sign(body, settings.QBO_WEBHOOK_VERIFIER_TOKEN),
        )

    assert_debug_page_without(response, secrets_now())


def test_the_debug_page_of_a_crashed_oauth_callback_hides_code_tokens_and_client_secret(qbo, admin_user, settings):
    settings.DEBUG = True
    vault = Vault(qbo)
    admin = debug_client()
    admin.force_login(admin_user)
    params = _start(admin)
    vault.note("authorization code", params["code"])

    with database_refuses("INSERT", "quickbooks_tokens"):
        response = admin.get("/api/quickbooks/callback", params)

    vault.note_connection()  # the tokens the emulator issued in the exchange
    assert any(name.startswith("access token") for name in vault.values), "the exchange did not happen"
    assert_debug_page_without(response, vault.values)


def test_the_debug_page_of_a_crashed_token_refresh_hides_the_tokens(qbo_connected, settings):
    """The vault's refresh, rendered the way Django renders any crash under DEBUG."""
    settings.DEBUG = True
    vault = Vault(qbo_connected)
    vault.note_connection()
    QboConnection.objects.update(access_expires_at=timezone.now() - timedelta(seconds=1))
    conn = QboConnection.objects.get(realm_id=REALM_ID)

    with database_refuses("UPDATE", "quickbooks_tokens"), pytest.raises(DatabaseError):
        try:
            refresh_connection(conn.pk)
        except DatabaseError:
            exc_info = sys.exc_info()
            raise

    vault.note_connection()  # the rotated tokens the emulator handed out
    page = technical_500_response(RequestFactory().get("/settings/quickbooks/"), *exc_info)
    assert_debug_page_without(page, vault.values)


def test_the_debug_page_of_a_crashed_login_hides_the_password(staff_user, settings):
    settings.DEBUG = True
    secrets = {"password": "pw-sam-123"} | secrets_now()
    with database_refuses("UPDATE", "auth_user"):  # the last_login update after a correct password
        response = debug_client().post("/login/", {"username": "sam", "password": "pw-sam-123"})

    assert_debug_page_without(response, secrets)


def test_the_debug_page_hides_a_secret_held_by_an_unmarked_variable(rf, settings):
    """The class, not a list: a local that happens to hold a secret is hidden even if nobody marked it."""
    settings.DEBUG = True

    def careless_helper():
        copied = {"header": f"Bearer {settings.QBO_CLIENT_SECRET}"}
        raise RuntimeError(f"failed with {len(json.dumps(copied))} bytes")

    try:
        careless_helper()
    except RuntimeError:
        page = technical_500_response(rf.get("/"), *sys.exc_info())
    assert_debug_page_without(page, {"client secret": settings.QBO_CLIENT_SECRET})
    assert "careless_helper" in page.content.decode()  # the frame is shown, only its secret is not


def test_production_error_pages_show_no_traceback(world: World, settings):
    settings.DEBUG = False
    body = _delivery("9")
    with database_refuses("INSERT", "quickbooks_webhook_events"):
        response = debug_client().post(
            "/api/quickbooks/webhook",
            body,
            content_type="application/json",
            HTTP_INTUIT_SIGNATURE=intake.sign(body, settings.QBO_WEBHOOK_VERIFIER_TOKEN),
        )
    text = response.content.decode()
    assert response.status_code == 500 and not any(marker in text for marker in TRACEBACK_MARKERS)


HOSTILE_HEADERS = {
    "multipart without boundary": {"CONTENT_TYPE": "multipart/form-data"},
    "multipart with a junk boundary": {"CONTENT_TYPE": "multipart/form-data; boundary=\x00\x01"},
    "unknown charset": {"CONTENT_TYPE": "application/x-www-form-urlencoded; charset=no-such-charset"},
    "utf-16 form": {"CONTENT_TYPE": "application/x-www-form-urlencoded; charset=utf-16"},
    "junk content type": {"CONTENT_TYPE": "\x00;;;=="},
    "huge content length": {"CONTENT_LENGTH": "9" * 40},
    "junk forwarded-for": {"HTTP_X_FORWARDED_FOR": "not-an-ip, \x00, 999.1.1.1"},
    "junk cookie": {"HTTP_COOKIE": "sessionid=\x00; csrftoken=" + "a" * 5000},
    "junk htmx headers": {
        "HTTP_HX_REQUEST": "true",
        "HTTP_HX_CURRENT_URL": "javascript:\x00",
        "HTTP_HX_TARGET": "\x1b",
    },
    "junk accept": {"HTTP_ACCEPT": "\x00/\x00;q=abc"},
    "junk signature": {"HTTP_INTUIT_SIGNATURE": "\x00" * 100},
}


@pytest.mark.parametrize("name", list(HOSTILE_HEADERS))
def test_no_header_gives_a_500(world: World, staff_user, name, settings):
    settings.DEBUG = False
    secrets = secrets_now()
    for who, method, url in BODY_READERS + [("staff", "GET", "/orders/"), ("staff", "GET", "/api/orders/{draft}")]:
        client = debug_client()
        if who != "anon":
            client.force_login(staff_user)
        path = url.format(draft=world.draft.pk)
        extra = dict(HOSTILE_HEADERS[name])
        content_type = extra.pop("CONTENT_TYPE", "application/x-www-form-urlencoded")
        response = client.generic(method, path, b"notes=x&a=b", content_type=content_type, **extra)
        assert response.status_code < 500, (name, method, path, response.status_code, response.content[:300])
        assert_no_leak(response, secrets, f"{name} {method} {path}")
