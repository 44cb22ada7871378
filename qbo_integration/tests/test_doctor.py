"""`manage.py qbo_doctor` against the emulator: a good set-up passes (exit 0) after reading CompanyInfo through the
project's client; every broken set-up is named with a fix, and the command exits 1."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import OperationalError, connection
from django.utils import timezone

from qbo_integration.health import heartbeat_send_now
from qbo_integration.models import QboConnection
from qbo_integration.testing import REALM_ID

pytestmark = pytest.mark.django_db
COMPANY_INFO = f"/v3/company/{REALM_ID}/companyinfo/{REALM_ID}"


def doctor() -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("qbo_doctor", stdout=out, no_color=True)
    except CommandError as failed:
        return failed.returncode, out.getvalue() + str(failed)
    return 0, out.getvalue()


@pytest.fixture
def production_like(settings):
    """What a deployment has that the test settings do not: the worker's queue, not tasks run inline."""
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}
    return settings


@pytest.fixture
def good(qbo_connected, production_like):
    heartbeat_send_now()
    return qbo_connected


def test_a_good_set_up_passes_after_reading_company_info_from_quickbooks(good):
    code, text = doctor()

    assert code == 0, text
    assert "Read CompanyInfo of Kadouri Demo Produce LLC" in text
    assert "[ok]      Tokens are healthy: refresh token valid until " in text
    assert good.count_requests(method="GET", path=COMPANY_INFO) == 1
    assert "[PROBLEM]" not in text
    assert "Kadouri looks healthy: 0 problems, 1 warning." in text  # the emulator, named as such
    assert "QBO_ENVIRONMENT=emulator" in text
    for area in ("Settings", "Token keys", "Database", "Worker", "QuickBooks"):
        assert f"\n{area}\n" in f"\n{text}"


def test_unsafe_settings_are_each_named_with_a_fix(good, settings):
    settings.DEBUG = True
    settings.SECRET_KEY = "short-key"
    settings.ALLOWED_HOSTS = ["*"]
    settings.QBO_WEBHOOK_VERIFIER_TOKEN = ""

    code, text = doctor()

    assert code == 1
    assert "[PROBLEM] SECRET_KEY is missing or weak" in text and "secrets.token_urlsafe(50)" in text
    assert "[PROBLEM] DEBUG is on" in text and "Fix: Set DEBUG=false" in text
    assert "[PROBLEM] ALLOWED_HOSTS is a wildcard (*)." in text
    assert "[PROBLEM] Not set: QBO_WEBHOOK_VERIFIER_TOKEN." in text
    assert "4 problems, 1 warning. Fix the problems above" in text


def test_tokens_the_keys_cannot_decrypt_are_a_problem_and_quickbooks_is_not_called(good, settings):
    settings.QBO_TOKEN_KEYS = [Fernet.generate_key().decode()]  # the key the tokens were stored under is gone

    code, text = doctor()

    assert code == 1
    assert f"[PROBLEM] The stored tokens of company {REALM_ID} cannot be decrypted" in text
    assert "from the backup of QBO_TOKEN_KEYS" in text
    assert "QuickBooks not called" in text
    assert good.count_requests(method="GET", path=COMPANY_INFO) == 0


def test_an_unfinished_key_rotation_is_a_warning_with_the_command_to_finish_it(good, settings):
    settings.QBO_TOKEN_KEYS = [Fernet.generate_key().decode(), *settings.QBO_TOKEN_KEYS]

    code, text = doctor()

    assert code == 0, text
    assert "[WARNING] Company 9130350000000001's tokens are still encrypted under an older key" in text
    assert "Fix: Run manage.py rotate_qbo_token_keys" in text


def test_no_worker_heartbeat_is_a_problem(qbo_connected, production_like):
    code, text = doctor()

    assert code == 1
    assert "[PROBLEM] No worker has ever reported" in text
    assert "systemctl start kadouri-worker" in text


def test_quickbooks_not_answering_is_a_problem_naming_where_it_was_called(good):
    good.add_fault("503", method="GET", path=r"/companyinfo/", count=5)

    code, text = doctor()

    assert code == 1
    assert "[PROBLEM] Reading CompanyInfo failed (transient)" in text
    assert f"reaches {good.base_url}/v3 over HTTPS" in text


def test_a_connection_that_needs_reconnecting_is_a_problem_and_is_not_called(good):
    QboConnection.objects.update(state=QboConnection.State.NEEDS_RECONNECT, last_error="invalid_grant")

    code, text = doctor()

    assert code == 1
    assert "[PROBLEM] The connection needs reconnecting (invalid_grant)." in text
    assert "An admin reconnects under Settings → QuickBooks Integration" in text
    assert good.count_requests(method="GET", path=COMPANY_INFO) == 0


def test_token_expiry_is_a_problem_once_past_and_a_warning_before(good):
    QboConnection.objects.update(hard_expires_at=timezone.now() + timedelta(days=10))
    code, text = doctor()
    assert code == 0 and "[WARNING] The connection reaches Intuit's hard expiry" in text

    QboConnection.objects.update(hard_expires_at=timezone.now() - timedelta(minutes=1))
    code, text = doctor()
    assert code == 1 and "[PROBLEM] The connection reached Intuit's hard expiry." in text

    QboConnection.objects.update(hard_expires_at=None, refresh_expires_at=timezone.now() - timedelta(days=1))
    code, text = doctor()
    assert code == 1 and "[PROBLEM] The refresh token has expired." in text


def test_no_connection_yet_is_a_warning_and_intuits_endpoints_are_still_checked(qbo, production_like):
    heartbeat_send_now()

    code, text = doctor()

    assert code == 0, text
    assert "[WARNING] No QuickBooks company is connected." in text
    assert f"[ok]      Intuit's endpoints answer ({qbo.base_url}/.well-known/openid_configuration)." in text


def test_an_unreachable_database_is_the_one_problem_reported_with_its_fix(db, production_like, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)
    code, text = doctor()

    assert code == 1
    assert "[PROBLEM] The database cannot be reached (OperationalError)." in text
    assert "Check DATABASE_URL" in text
    assert "Worker" not in text  # the checks that read the database are left out
