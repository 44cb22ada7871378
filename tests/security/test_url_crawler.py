"""Every URL pattern, found by walking the resolver, visited as an anonymous user, plain staff and an admin.

Patterns added later (outbound sync, inbound webhooks, …) are crawled automatically; a pattern whose path
parameters the crawler cannot fill fails the suite until `fill` learns them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RegexPattern

from orders.models import Order
from qbo_integration.connection.connect import STATE_SESSION_KEY
from qbo_integration.models import IntegrationLog, QboConnection

from .conftest import WEBHOOK_PATH, World, add_integration_rows, assert_no_leak, diff, full_snapshot, secrets_now

pytestmark = pytest.mark.django_db

UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
PUBLIC = {"login", "admin:login", "healthz"}  # plus the webhook, by path
# /healthz answers 503 by design while a check fails (the crawled world has no worker).
HEALTH = {"healthz"}
LOGOUT = {"logout", "admin:logout"}
# Connecting, disconnecting and clearing ids need qbo_integration.manage_connection (admins).
MANAGE = {"qbo-connect", "qbo-callback", "qbo-disconnect", "qbo:clear-ids"}
LOGIN_LOCATIONS = ("/login/?next=", "/admin/login/?next=")
# Everything an admin's form could send, so a refusal is not just a missing field.
ADMIN_FORM = {"confirm": "CLEAR", "action": "take_quickbooks", "all_failed": "1", "full": "1", "event": "1"}
# `<thing>_id` path parameters the crawler knows how to fill: the model whose first row supplies the id.
ID_MODELS = {
    "order_id": "orders.Order",
    "account_id": "accounts.Account",
    "product_id": "products.Product",
    "activity_id": "orders.OrderActivity",
    "job_id": "qbo_integration.QboSyncJob",
    "event_id": "qbo_integration.QboWebhookEvent",
    "conflict_id": "qbo_integration.SyncConflict",
    "push_id": "qbo_integration.BulkPush",
    "bulk_push_id": "qbo_integration.BulkPush",
    "run_id": "qbo_integration.QboReconcileRun",
    "catchup_id": "qbo_integration.QboCatchUp",
    "log_id": "qbo_integration.IntegrationLog",
    "connection_id": "qbo_integration.QboConnection",
    "bulk_id": "qbo_integration.BulkPush",
    # QuickBooks' ids of credit memos (the pages look them up by qbo_id: a pk is crawled as an unknown credit)
    "qbo_id": "qbo_integration.QboMoney",
    "credit_id": "qbo_integration.QboMoney",
}
# Word parameters: one valid value each (the views' own tests cover the others; unknown words must 404).
WORDS = {"action": "invoice", "kind": "account", "payment_id": "1"}
KIND_MODELS = {"account": "accounts.Account", "product": "products.Product", "order": "orders.Order"}
PARAM = re.compile(r"<(?:\w+:)?(?P<name>\w+)>|\(\?P<(?P<rname>\w+)>[^)]*\)")
ADMIN_MODEL = re.compile(r"^admin/(?P<app>\w+)/(?P<model>\w+)/")


@dataclass(frozen=True)
class Pattern:
    route: str  # the pattern as written, e.g. "orders/<int:order_id>/edit/"
    name: str  # "orders:edit", or the route when unnamed
    callback: object
    params: tuple[str, ...]

    @property
    def is_api(self) -> bool:
        return self.route.startswith("api/")

    @property
    def is_admin(self) -> bool:
        return self.route.startswith("admin/")

    @property
    def is_webhook(self) -> bool:
        return "/" + self.route.rstrip("$") == WEBHOOK_PATH

    @property
    def is_public(self) -> bool:
        return self.name in PUBLIC or self.is_webhook

    def __str__(self) -> str:
        return self.route


def _piece(pattern) -> str:
    text = str(pattern.pattern)
    if isinstance(pattern.pattern, RegexPattern):
        text = text.removeprefix("^").removesuffix("$").replace("\\", "")
    return text


def walk(patterns=None, prefix: str = "", namespace: str = ""):
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry.url_patterns, prefix + _piece(entry), ns)
        elif isinstance(entry, URLPattern):
            route = prefix + _piece(entry)
            params = tuple(m.group("name") or m.group("rname") for m in PARAM.finditer(route))
            name = f"{namespace}{entry.name}" if entry.name else route
            yield Pattern(route, name, entry.callback, params)


ALL_PATTERNS = list(walk())


def _first_pk(label: str) -> str:
    row = apps.get_model(label)._default_manager.order_by("pk").first()
    return str(row.pk) if row else "999999"  # the model has no rows: crawl it with an unknown id


def fill(pattern: Pattern) -> str:
    values = {}
    for name in pattern.params:
        if name in ID_MODELS:
            values[name] = _first_pk(ID_MODELS[name])
        elif name == "object_id" and (m := ADMIN_MODEL.match(pattern.route)) and m["app"] != "r":
            values[name] = _first_pk(f"{m['app']}.{m['model']}")
        elif name in ("content_type_id", "object_id") and pattern.route.startswith("admin/r/"):
            order = Order.objects.order_by("pk").first()
            values[name] = str(ContentType.objects.get_for_model(Order).pk if name == "content_type_id" else order.pk)
        elif name in WORDS:
            values[name] = WORDS[name]
        elif name == "pk" and "kind" in pattern.params:
            values[name] = _first_pk(KIND_MODELS[WORDS["kind"]])
        elif name == "id" and pattern.route.startswith("admin/auth/user/"):
            values[name] = _first_pk("auth.User")
        elif name == "app_label":
            values[name] = "orders"
        elif name == "url":
            values[name] = "no-such-page/"
        else:
            raise LookupError(name)
    path = "/" + PARAM.sub(lambda m: values[m.group("name") or m.group("rname")], pattern.route)
    match = resolve(path.split("?")[0])
    assert match.func is pattern.callback, f"{pattern} filled as {path} resolves elsewhere"
    return path


def test_it_knows_how_to_fill_every_pattern(world):
    unfillable = []
    for pattern in ALL_PATTERNS:
        try:
            fill(pattern)
        except LookupError as e:
            unfillable.append(f"{pattern} (parameter {e})")
    assert not unfillable, "Teach the crawler these path parameters (ID_MODELS / fill): " + "; ".join(unfillable)
    assert len(ALL_PATTERNS) > 40


@pytest.fixture
def crawl(world: World):
    """Rows for every integration table, so admin change pages are crawled with real ids."""
    add_integration_rows(world)
    return world


def _client(user=None, *, enforce_csrf=False) -> Client:
    client = Client(enforce_csrf_checks=enforce_csrf)
    if user is not None:
        client.force_login(user)
    return client


def _request(client: Client, method: str, path: str, **extra):
    return getattr(client, method.lower())(path, **extra)


def _crashed(response) -> bool:
    """A 500, or any 5xx that is not a deliberate JSON answer (the sync API says 502/503 when QuickBooks is
    unreachable or not connected)."""
    if response.status_code == 500:
        return True
    if response.status_code > 500:
        return not (response["Content-Type"].startswith("application/json") and response.json().get("error"))
    return False


def _problem(pattern: Pattern, method: str, path: str, response, expected: str) -> str:
    location = response.get("Location", "")
    return f"{method} {path} [{pattern.name}] → {response.status_code} {location} (expected {expected})"


def _anonymous_ok(pattern: Pattern, method: str, response) -> bool:
    status, location = response.status_code, response.get("Location", "")
    if pattern.name in HEALTH:
        return status in (200, 503, 405)
    if pattern.is_public:
        return status < 500
    if pattern.name in LOGOUT:
        return (status == 405 and method != "POST") or (status == 302 and location in ("/login/", "/admin/"))
    if pattern.is_api:
        return status == 401 and response["Content-Type"].startswith("application/json")
    if (
        pattern.name == "admin:logout"
        or pattern.route.startswith("admin/(?P<url>")
        or pattern.route.startswith("admin/<url>")
    ):
        return status in (302, 404) and (status == 404 or location.startswith(LOGIN_LOCATIONS) or location == "/admin/")
    return status == 302 and location.startswith(LOGIN_LOCATIONS)


def test_it_answers_anonymous_visitors_only_on_public_pages(crawl):
    before, secrets, problems = full_snapshot(), secrets_now(), []
    client = _client()
    for pattern in ALL_PATTERNS:
        path = fill(pattern)
        for method in ("GET", "POST") + (UNSAFE_METHODS[1:] if not pattern.is_admin else ()):
            response = _request(client, method, path)
            assert_no_leak(response, secrets, f"anonymous {method} {path}")
            if not _anonymous_ok(pattern, method, response):
                problems.append(_problem(pattern, method, path, response, "login redirect / 401 JSON"))
    assert not problems, "\n".join(problems)
    # Refused webhook deliveries are counted by design (a count and a reason, never the body).
    assert diff(before, full_snapshot()) in ([], ["qbo_integration.QboWebhookCounter"])


ACCEPT_HEADERS = ("", "text/html,application/xhtml+xml,*/*;q=0.8", "application/json", "*/*")


def _api_refusal_ok(pattern: Pattern, response, *, anonymous: bool) -> bool:
    """An /api/ endpoint refuses in JSON with 401 (not logged in) or 403 (not allowed), never with a redirect."""
    if 300 <= response.status_code < 400:
        return False
    is_json = response["Content-Type"].startswith("application/json") and "error" in response.json()
    if anonymous and not pattern.is_webhook:
        return response.status_code == 401 and is_json
    if not anonymous and pattern.name in MANAGE:
        return response.status_code == 403 and is_json
    return response.status_code < 400 or is_json


def _sweep_api(user, problems: list[str]) -> None:
    who = "staff" if user else "anonymous"
    for accept in ACCEPT_HEADERS:
        client = _client(user)
        headers = {"HTTP_ACCEPT": accept} if accept else {}
        for pattern in (p for p in ALL_PATTERNS if p.is_api):
            path = fill(pattern)
            for method in ("GET",) + UNSAFE_METHODS:
                response = _request(client, method, path, **headers)
                if not _api_refusal_ok(pattern, response, anonymous=user is None):
                    problems.append(
                        f"{who} Accept={accept!r}: "
                        + _problem(pattern, method, path, response, "401/403 JSON, no redirect")
                    )
        assert STATE_SESSION_KEY not in client.session, f"{who} started an OAuth flow"


def test_it_refuses_api_calls_in_json_whatever_the_accept_header(crawl, staff_user):
    assert {p.name for p in ALL_PATTERNS if p.is_api} >= MANAGE - {"qbo:clear-ids"}
    before, problems = full_snapshot(), []
    _sweep_api(None, problems)
    assert diff(before, full_snapshot()) in ([], ["qbo_integration.QboWebhookCounter"])
    _sweep_api(staff_user, problems)  # staff may sync and edit through the API, but not manage the connection
    assert not problems, "\n".join(problems)
    assert QboConnection.objects.get().state == QboConnection.State.CONNECTED


def test_it_renders_every_page_for_staff_and_admins_without_changing_anything(crawl, staff_user, admin_user):
    before, secrets, problems = full_snapshot(), secrets_now(), []
    for who, user in (("staff", staff_user), ("admin", admin_user)):
        client = _client(user)
        for pattern in ALL_PATTERNS:
            path = fill(pattern)
            # With the parameters a mutating form would send: a GET must still change nothing.
            response = client.get(path, ADMIN_FORM if not pattern.is_admin else None)
            assert_no_leak(response, secrets, f"{who} GET {path}")
            if _crashed(response):
                problems.append(_problem(pattern, "GET", path, response, "no 5xx"))
            if who == "staff" and pattern.is_admin and pattern.name not in PUBLIC and response.status_code == 200:
                problems.append(_problem(pattern, "GET", path, response, "admin closed to non-staff users"))
            if pattern.name in LOGOUT:
                client = _client(user)
    assert not problems, "\n".join(problems)
    assert diff(before, full_snapshot()) == [], "a GET changed the database"


def test_it_tells_browsers_and_proxies_not_to_keep_any_answer_to_a_logged_in_user(crawl, staff_user, admin_user):
    """Pages, JSON, redirects and refusals alike: after logout, the back button or a shared proxy shows nothing."""
    problems = []
    for who, user in (("staff", staff_user), ("admin", admin_user)):
        client = _client(user)
        for pattern in ALL_PATTERNS:
            if pattern.name in LOGOUT:
                continue  # ends the session: the answer is no longer a logged-in user's
            path = fill(pattern)
            for method in ("GET", "POST"):
                response = _request(client, method, path)
                directives = {d.strip() for d in response.get("Cache-Control", "").split(",")}
                if not {"no-store", "private"} <= directives:
                    problems.append(
                        f"{who} {method} {path} → {response.status_code} "
                        f"Cache-Control: {response.get('Cache-Control')!r}"
                    )
    assert not problems, "\n".join(problems)


def test_it_refuses_every_unsafe_request_without_a_csrf_token(crawl, admin_user):
    before, problems = full_snapshot(), []
    exempt = [p.name for p in ALL_PATTERNS if getattr(p.callback, "csrf_exempt", False)]
    assert all(p.is_webhook for p in ALL_PATTERNS if p.name in exempt), f"csrf_exempt views: {exempt}"
    client = _client(admin_user, enforce_csrf=True)
    for pattern in ALL_PATTERNS:
        if pattern.is_webhook:
            continue  # signed by QuickBooks instead; see test_bad_input
        path = fill(pattern)
        for method in UNSAFE_METHODS if not pattern.is_admin else ("POST",):
            response = _request(client, method, path, data="{}", content_type="application/json")
            if response.status_code != 403:
                problems.append(_problem(pattern, method, path, response, "403 CSRF"))
    assert not problems, "\n".join(problems)
    assert diff(before, full_snapshot()) == [], "a request without a CSRF token changed the database"


def test_it_accepts_the_same_request_with_the_csrf_token(crawl, admin_user):
    client = _client(admin_user, enforce_csrf=True)
    client.get("/login/")  # the login form sets the CSRF cookie (the user is redirected, cookie set first)
    client.get("/settings/quickbooks/")
    token = client.cookies["csrftoken"].value
    response = client.post(f"/orders/{crawl.draft.pk}/delete/", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 302
    assert not Order.objects.filter(pk=crawl.draft.pk).exists()


def test_it_never_answers_5xx_to_an_empty_unsafe_request(crawl, staff_user, admin_user):
    secrets, problems = secrets_now(), []
    for who, user in (("staff", staff_user), ("admin", admin_user)):
        client = _client(user)
        for pattern in ALL_PATTERNS:
            if who == "staff" and pattern.is_admin:
                continue  # redirected to the admin login before any view runs (see the GET crawl)
            methods = ("POST",) if pattern.is_admin else UNSAFE_METHODS
            for method in methods:
                path = fill(pattern)
                response = _request(client, method, path)
                secrets |= secrets_now()
                assert_no_leak(response, secrets, f"{who} {method} {path}")
                if _crashed(response):
                    problems.append(_problem(pattern, method, path, response, "no 5xx"))
                if pattern.name in LOGOUT:
                    client = _client(user)  # a new session: the logout must not end the rest of the crawl
    assert not problems, "\n".join(problems)


# Views whose every action is an admin's: the connection (views/connection_pages.py, views/connection_api.py) and
# the inbox / catch-up / reconciliation operator pages (views/inbox_pages.py, catchup_pages.py, reconcile_pages.py).
# Their read-only pages are crawled too: they must not change anything.
MANAGE_MODULES = {
    "qbo_integration.views.connection_pages",
    "qbo_integration.views.connection_api",
    "qbo_integration.views.inbox_pages",
    "qbo_integration.views.catchup_pages",
    "qbo_integration.views.reconcile_pages",
}


def _manage_patterns() -> list[Pattern]:
    found = [p for p in ALL_PATTERNS if p.name in MANAGE or getattr(p.callback, "__module__", "") in MANAGE_MODULES]
    assert {p.name for p in found} >= MANAGE
    assert {getattr(p.callback, "__module__", "") for p in found} >= MANAGE_MODULES  # a renamed module is not skipped
    return [p for p in found if not p.is_webhook]


def test_it_keeps_connection_management_to_admins(crawl, staff_user):
    assert not staff_user.has_perm("qbo_integration.manage_connection")
    before = full_snapshot()
    client, problems = _client(staff_user), []
    for pattern in _manage_patterns():
        path = fill(pattern)
        for method in ("GET", "POST"):
            response = _request(client, method, path, data=ADMIN_FORM)
            location = response.get("Location", "")
            if _crashed(response) or location.startswith(("http://", "https://")):
                problems.append(_problem(pattern, method, path, response, "refused"))
        assert STATE_SESSION_KEY not in client.session, f"{path} started an OAuth flow for a plain staff user"
    assert not problems, "\n".join(problems)
    assert diff(before, full_snapshot()) == []
    assert QboConnection.objects.get().state == QboConnection.State.CONNECTED


def test_it_shows_the_settings_page_read_only_to_staff(crawl, staff_client):
    html = staff_client.get("/settings/quickbooks/").content.decode()
    assert "/api/quickbooks/disconnect" not in html and "/api/quickbooks/connect" not in html
    assert "clear-ids" not in html


def test_it_lets_a_staff_member_with_the_permission_manage_the_connection(crawl, staff_user):
    staff_user.user_permissions.add(Permission.objects.get(codename="manage_connection"))
    client = _client(staff_user)
    response = client.post("/api/quickbooks/disconnect")
    assert response.status_code == 302
    assert QboConnection.objects.get().state == QboConnection.State.DISCONNECTED
    assert IntegrationLog.objects.filter(event="disconnected").exists()
