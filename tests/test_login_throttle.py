"""Log-in throttling: after LOGIN_FAILURE_LIMIT wrong passwords for one username from one address, even the right
password is refused with a lock-out page until the cool-off passes or an administrator unlocks it."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parent.parent
LIMIT = 5  # the default LOGIN_FAILURE_LIMIT
WRONG = "correct username and password"  # the admin says "the correct …"
LOCKED = "Too many log-in attempts"


def _fail(client: Client, username: str, times: int, url: str = "/login/", **extra) -> None:
    for _ in range(times):
        response = client.post(url, {"username": username, "password": "not-the-password"}, **extra)
        assert response.status_code == 200 and WRONG in response.content.decode(), response.status_code


def _lock_out(client: Client, username: str, url: str = "/login/", **extra) -> None:
    """LIMIT wrong passwords: the last one already answers with the lock-out page."""
    _fail(client, username, LIMIT - 1, url, **extra)
    _assert_locked_out(client.post(url, {"username": username, "password": "not-the-password"}, **extra), username)


def _log_in(client: Client, username: str, password: str, url: str = "/login/", **extra):
    return client.post(url, {"username": username, "password": password}, **extra)


def _is_logged_in(client: Client) -> bool:
    return client.get("/").status_code == 200


def _assert_locked_out(response, username: str) -> None:
    page = response.content.decode()
    assert response.status_code == 429, response.status_code
    assert LOCKED in page and f"<strong>{username}</strong>" in page
    assert "Try again in 15 minutes" in page and "administrator can unlock" in page
    assert 'href="/login/"' in page


def test_it_refuses_the_right_password_after_five_wrong_ones(client, staff_user):
    _lock_out(client, "sam")

    response = _log_in(client, "sam", "pw-sam-123")

    _assert_locked_out(response, "sam")
    assert not _is_logged_in(client)
    assert AccessAttempt.objects.get(username="sam", ip_address="127.0.0.1").failures_since_start >= LIMIT


def test_it_lets_a_user_in_below_the_limit_and_forgets_failures_after_a_success(client, staff_user):
    for _ in range(3):
        _fail(client, "sam", LIMIT - 1)
        assert _log_in(client, "sam", "pw-sam-123").status_code == 302
        client.post("/logout/")


def test_it_throttles_the_django_admin_log_in_too(client, admin_user):
    _lock_out(client, "ada", url="/admin/login/")

    response = _log_in(client, "ada", "pw-ada-123", url="/admin/login/")

    _assert_locked_out(response, "ada")
    assert client.get("/admin/").status_code == 302
    _assert_locked_out(_log_in(client, "ada", "pw-ada-123"), "ada")  # one count for both log-in pages


def test_it_leaves_other_users_and_other_addresses_alone(client, staff_user, admin_user):
    _lock_out(client, "sam")

    assert _log_in(Client(), "ada", "pw-ada-123").status_code == 302  # another user, same address
    assert _log_in(Client(), "sam", "pw-sam-123", REMOTE_ADDR="192.0.2.7").status_code == 302  # sam elsewhere
    _assert_locked_out(_log_in(client, "sam", "pw-sam-123"), "sam")


def test_an_admin_unlocks_a_user_from_the_django_admin(client, staff_user, admin_client):
    _lock_out(client, "sam")
    _assert_locked_out(_log_in(client, "sam", "pw-sam-123"), "sam")
    attempt = AccessAttempt.objects.get(username="sam")

    listing = admin_client.get("/admin/axes/accessattempt/?locked_out=yes")
    assert listing.status_code == 200 and "sam" in listing.content.decode()
    deleted = admin_client.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})

    assert deleted.status_code == 302 and not AccessAttempt.objects.exists()
    assert _log_in(client, "sam", "pw-sam-123").status_code == 302 and _is_logged_in(client)


def test_an_admin_unlocks_a_user_with_the_management_command(client, staff_user):
    _lock_out(client, "sam")
    _assert_locked_out(_log_in(client, "sam", "pw-sam-123"), "sam")

    call_command("axes_reset_username", "sam")

    assert _log_in(client, "sam", "pw-sam-123").status_code == 302


def test_it_lets_the_user_in_again_after_the_cool_off(client, staff_user):
    _lock_out(client, "sam")
    _assert_locked_out(_log_in(client, "sam", "pw-sam-123"), "sam")

    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))

    assert _log_in(client, "sam", "pw-sam-123").status_code == 302


def test_it_counts_the_address_our_proxy_saw_not_the_forged_hops(client, staff_user, settings):
    """Behind the TLS proxy the client decides the first X-Forwarded-For hops: changing them must not reset the
    count, while a different real client (the hop the proxy appended) is not locked out."""
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    for n in range(LIMIT - 1):
        _fail(client, "sam", 1, HTTP_X_FORWARDED_FOR=f"6.6.6.{n}, 203.0.113.9", secure=True)
    fifth = _log_in(client, "sam", "wrong", HTTP_X_FORWARDED_FOR="6.6.6.98, 203.0.113.9", secure=True)
    _assert_locked_out(fifth, "sam")

    forged = _log_in(client, "sam", "pw-sam-123", HTTP_X_FORWARDED_FOR="6.6.6.99, 203.0.113.9", secure=True)

    _assert_locked_out(forged, "sam")
    assert AccessAttempt.objects.get().ip_address == "203.0.113.9"
    other = _log_in(Client(), "sam", "pw-sam-123", HTTP_X_FORWARDED_FOR="203.0.113.10", secure=True)
    assert other.status_code == 302


def test_it_stores_no_nul_from_the_client_headers(client, staff_user):
    """PostgreSQL refuses NUL in text columns: a NUL in a header must leave a counted failure, not a 500."""
    headers = {"HTTP_USER_AGENT": "curl\x00/8", "HTTP_ACCEPT": "text/html\x00"}
    _fail(client, "sam", 1, **headers)
    attempt = AccessAttempt.objects.get()
    assert (attempt.user_agent, attempt.http_accept) == ("curl/8", "text/html")
    assert _log_in(client, "sam", "pw-sam-123", **headers).status_code == 302


def test_it_reads_the_limit_and_cool_off_from_the_environment():
    code = "from django.conf import settings as s; print(s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME)"
    env = {"PATH": os.environ.get("PATH", ""), "DJANGO_SETTINGS_MODULE": "kadouri.settings", "SECRET_KEY": "x" * 50}
    script = f"import django; django.setup(); {code}"

    def run(**extra: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", script], cwd=BASE_DIR, env=env | extra, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().splitlines()[-1]

    assert run() == "5 0:15:00"
    assert run(LOGIN_FAILURE_LIMIT="3", LOGIN_COOLOFF_MINUTES="30") == "3 0:30:00"
    assert run(LOGIN_COOLOFF_MINUTES="0") == "5 None"  # locked until an administrator unlocks it
