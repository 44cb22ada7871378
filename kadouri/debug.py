"""What Django's error reports (the DEBUG page, error e-mails) may show of a crashed request.

Django's own filter steps aside when DEBUG is on, which is exactly when `make run` shows the debug page to
anyone who can reach it. Here the filter always applies, so variables marked with `@sensitive_variables` and
POST parameters marked with `@sensitive_post_parameters` are hidden under DEBUG too. Marking cannot be
complete (Django's own ORM frames hold the values being saved), so the finished report is also scrubbed of
every secret Kadouri knows: the settings' secrets, the QuickBooks tokens and authorization codes this process
has handled, and the OAuth parameters of any URL.
"""

import html
import re
from collections import deque

from django.apps import apps
from django.conf import settings
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

from kadouri.logging import SECRET_QUERY_KEYS

MIN_SECRET_LENGTH = 8  # shorter values would hide innocent text that happens to contain them
SUBSTITUTE = SafeExceptionReporterFilter.cleansed_substitute
_SECRET_KEY_NAMES = "|".join(SECRET_QUERY_KEYS)
# In a URL, a QUERY_STRING value or the HTML of either (where & is written &amp;).
_SECRET_QUERY_PARAMS = re.compile(rf"(?i)(?<![\w-])({_SECRET_KEY_NAMES})=([^&\s\"'<>]+)")

# Plaintext tokens and codes seen by this process recently (newest last); a bounded memory, not a store:
# the same values already live in this process' memory while it uses them.
_handled: deque[str] = deque(maxlen=64)


def remember_secret(value: str | None) -> None:
    """Called where a token or code passes through Kadouri, so a later error report never shows it."""
    if value and len(value) >= MIN_SECRET_LENGTH and value not in _handled:
        _handled.append(value)


def _stored_tokens() -> list[str]:
    try:
        connection_model = apps.get_model("qbo_integration", "QboConnection")
        return [
            token for pair in connection_model.objects.values_list("access_token", "refresh_token") for token in pair
        ]
    except Exception:  # the database may be what failed; the other sources still apply
        return []


def known_secrets() -> list[str]:
    values = [
        settings.SECRET_KEY,
        settings.QBO_CLIENT_SECRET,
        settings.QBO_WEBHOOK_VERIFIER_TOKEN,
        *settings.QBO_TOKEN_KEYS,
        *_handled,
        *_stored_tokens(),
    ]
    # Longest first, so a secret containing another is replaced whole.
    return sorted({v for v in values if v and len(v) >= MIN_SECRET_LENGTH}, key=len, reverse=True)


def _secrets_for(request) -> list[str]:
    """Looked up once per report: the filter is asked about every frame of the traceback."""
    if request is None:
        return known_secrets()
    if not hasattr(request, "_kadouri_known_secrets"):
        request._kadouri_known_secrets = known_secrets()
    return request._kadouri_known_secrets


def scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, SUBSTITUTE)
        escaped = html.escape(secret)
        if escaped != secret:
            text = text.replace(escaped, SUBSTITUTE)
    return _SECRET_QUERY_PARAMS.sub(lambda m: f"{m.group(1)}={SUBSTITUTE}", text)


def _shows_a_secret(value, secrets: list[str]) -> bool:
    try:
        text = repr(value)
    except Exception:
        return False
    return any(secret in text for secret in secrets)


class SecretsExceptionReporterFilter(SafeExceptionReporterFilter):
    def is_active(self, request) -> bool:
        return True

    def get_traceback_frame_variables(self, request, tb_frame):
        secrets = _secrets_for(request)
        return [
            (name, self.cleansed_substitute if _shows_a_secret(value, secrets) else value)
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]


class SecretsExceptionReporter(ExceptionReporter):
    def get_traceback_data(self):
        data = super().get_traceback_data()
        if "request_GET_items" in data:
            data["request_GET_items"] = [
                (key, SUBSTITUTE if key.lower() in SECRET_QUERY_KEYS else value)
                for key, value in data["request_GET_items"]
            ]
        return data

    def get_traceback_html(self):
        return scrub(super().get_traceback_html(), known_secrets())

    def get_traceback_text(self):
        return scrub(super().get_traceback_text(), known_secrets())
