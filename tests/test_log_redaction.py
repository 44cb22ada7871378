import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from kadouri.logging import JsonFormatter, PlainFormatter, RedactSecretsFilter, redact, remember_secret


def test_it_redacts_the_oauth_callback_query():
    line = '"GET /api/quickbooks/callback?code=AB12-secret&state=xyz789&realmId=9130350000000001 HTTP/1.1" 302 0'

    assert (
        redact(line)
        == '"GET /api/quickbooks/callback?code=[redacted]&state=[redacted]&realmId=9130350000000001 HTTP/1.1" 302 0'
    )


def test_it_redacts_formatted_log_records():
    record = logging.LogRecord(
        "django.server", logging.INFO, __file__, 1, '"%s" %s', ("GET /cb?code=S3CR3T HTTP/1.1", 302), None
    )

    RedactSecretsFilter().filter(record)

    assert "S3CR3T" not in record.getMessage()
    assert "code=[redacted]" in record.getMessage()


def test_it_keeps_quickbooks_fault_codes_readable():
    line = "quickbooks POST batch failed: duplicate code=6240"

    assert redact(line) == line


# --- the log formats: plain lines and LOG_FORMAT=json, both redacted as a whole ---------------------------------


def _record(message: str, *args, exc_info=None, **extra) -> logging.LogRecord:
    record = logging.LogRecord("qbo_integration.connection", logging.ERROR, __file__, 1, message, args, exc_info)
    record.__dict__.update(extra)
    return record


def _failure(token: str):
    try:
        raise RuntimeError(f"refresh refused for {token}")
    except RuntimeError:
        return sys.exc_info()


def test_a_json_line_is_one_object_with_the_record_fields(settings):
    line = JsonFormatter().format(_record("pushed %s orders", 3, status_code=200, realm="9130350000000001"))

    entry = json.loads(line)
    assert "\n" not in line
    assert entry["level"] == "ERROR" and entry["logger"] == "qbo_integration.connection"
    assert entry["message"] == "pushed 3 orders"
    assert entry["status_code"] == 200 and entry["realm"] == "9130350000000001"
    assert entry["time"].endswith("+00:00")


def test_json_and_plain_lines_hide_tokens_in_messages_and_tracebacks(settings):
    token = "rt-" + "x" * 40
    remember_secret(token)  # a token that passed through Kadouri (the fields and the OAuth client call this)
    record = _record("callback /cb?code=%s went wrong", "AUTH-CODE-123", exc_info=_failure(token))

    for formatter in (JsonFormatter(), PlainFormatter("%(levelname)s %(message)s")):
        text = formatter.format(record)
        assert token not in text and "AUTH-CODE-123" not in text
        assert "code=[redacted]" in text and "refresh refused for [redacted]" in text
    assert json.loads(JsonFormatter().format(record))["exception"].startswith("Traceback")


def _log_one_line(**env) -> subprocess.CompletedProcess:
    environment = os.environ | {"DJANGO_SETTINGS_MODULE": "kadouri.test_settings", **env}
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('kadouri.test').warning('GET /api/quickbooks/callback?state=ST4TE-1234')"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[1],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_log_format_json_writes_one_json_object_per_line():
    done = _log_one_line(LOG_FORMAT="json")

    lines = [line for line in done.stderr.splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is JSON
    (ours,) = [e for e in entries if e["logger"] == "kadouri.test"]
    assert ours["message"] == "GET /api/quickbooks/callback?state=[redacted]" and ours["level"] == "WARNING"


def test_an_unknown_log_format_is_refused_by_name():
    done = _log_one_line(LOG_FORMAT="xml")

    assert done.returncode != 0
    assert "LOG_FORMAT must be plain or json, not 'xml'" in done.stderr
