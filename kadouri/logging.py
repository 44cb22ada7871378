"""Keeps OAuth codes, states, tokens and Kadouri's own secrets out of every log line and error report.

`redact` is the one redaction of text: the log filter, both log formats (plain and `LOG_FORMAT=json`) and the
events sent to Sentry (kadouri/sentry.py) go through it; Django's error reports (kadouri/debug.py) hide the same
secret values in their HTML. It hides
- every secret value this process knows: the settings' secrets and the QuickBooks tokens and authorization codes
  that passed through it (`remember_secret`); error reports add the stored tokens (`known_secrets`);
- the OAuth parameters of a query string (runserver and gunicorn print request URLs);
- the credential after "Bearer" (an Authorization header quoted in an error).
"""

import json
import logging
import re
from collections import deque
from datetime import UTC, datetime

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

REDACTED = "[redacted]"
MIN_SECRET_LENGTH = 8  # shorter values would hide innocent text that happens to contain them
# Query-string parameters only (after ? or &): a log line's own "code=6240" must stay readable.
# Query parameters that carry OAuth secrets; the debug page (kadouri/debug.py) hides the same ones.
SECRET_QUERY_KEYS = ("code", "state", "access_token", "refresh_token", "token", "client_secret")
_SECRET_PARAMS = re.compile(rf"(?i)(?<=[?&])({'|'.join(SECRET_QUERY_KEYS)})=([^&\s\"']+)")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[\w.~+/=-]{8,}")

# Plaintext tokens and codes seen by this process recently (newest last); a bounded memory, not a store:
# the same values already live in this process' memory while it uses them.
_handled: deque[str] = deque(maxlen=64)


def remember_secret(value: str | None) -> None:
    """Called where a token or code passes through Kadouri, so no later log line or error report shows it."""
    if value and len(value) >= MIN_SECRET_LENGTH and value not in _handled:
        _handled.append(value)


def _longest_first(values) -> list[str]:
    # Longest first, so a secret containing another is replaced whole.
    return sorted({v for v in values if v and len(v) >= MIN_SECRET_LENGTH}, key=len, reverse=True)


def process_secrets() -> list[str]:
    """The secrets this process knows without asking the database: the settings' and the tokens it handled."""
    configured = []
    # Never the first to load the settings: gunicorn's master logs through here before (and without) Django.
    if settings.configured:
        try:
            configured = [
                settings.SECRET_KEY,
                settings.QBO_CLIENT_SECRET,
                settings.QBO_WEBHOOK_VERIFIER_TOKEN,
                *settings.QBO_TOKEN_KEYS,
            ]
        except (ImproperlyConfigured, AttributeError):
            configured = []
    return _longest_first([*configured, *_handled])


def _stored_tokens() -> list[str]:
    try:
        connection_model = apps.get_model("qbo_integration", "QboConnection")
        return [
            token for pair in connection_model.objects.values_list("access_token", "refresh_token") for token in pair
        ]
    except Exception:  # the database may be what failed; the other sources still apply
        return []


def known_secrets() -> list[str]:
    """For error reports (rare): the process' secrets and every stored QuickBooks token, read from the database."""
    return _longest_first([*process_secrets(), *_stored_tokens()])


def redact(text: str, secrets: list[str] | None = None) -> str:
    """`text` without any secret: the known values (`process_secrets()` unless given), bearer credentials and
    OAuth query parameters."""
    for secret in process_secrets() if secrets is None else secrets:
        text = text.replace(secret, REDACTED)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _SECRET_PARAMS.sub(lambda m: f"{m.group(1)}={REDACTED}", text)


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


class PlainFormatter(logging.Formatter):
    """One line per record, tracebacks included, redacted as a whole (an exception's message can quote a token)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


# Attributes every LogRecord has; anything else on a record was passed with `extra=` and is worth keeping.
_STANDARD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
# Objects Django's loggers attach that are no log field (the request is summed up by method and path instead).
_SKIPPED_EXTRAS = {"request", "server_time"}


class JsonFormatter(logging.Formatter):
    """`LOG_FORMAT=json`: one JSON object per line (time, level, logger, message, exception, and the record's
    extras such as status_code), every text redacted."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request = getattr(record, "request", None)
        if hasattr(request, "method") and hasattr(request, "path"):
            entry["method"], entry["path"] = request.method, request.path
        for name, value in vars(record).items():
            if name not in _STANDARD_ATTRIBUTES and name not in _SKIPPED_EXTRAS and not name.startswith("_"):
                entry[name] = value if isinstance(value, int | float | bool | type(None)) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        secrets = process_secrets()
        clean = {key: redact(value, secrets) if isinstance(value, str) else value for key, value in entry.items()}
        return json.dumps(clean, ensure_ascii=False)


class QuietPollsFilter(logging.Filter):
    """Pages poll their live parts every 2 s (kadouri/live.py); a poll answered 204 (nothing new) is no news for
    runserver's console."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (getattr(record, "status_code", None) == 204 and "since=" in record.getMessage())
