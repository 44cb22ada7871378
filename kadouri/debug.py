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

from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

# remember_secret is re-exported: the fields and the OAuth client call it where a token passes through.
from kadouri.logging import SECRET_QUERY_KEYS, known_secrets
from kadouri.logging import remember_secret as remember_secret

SUBSTITUTE = SafeExceptionReporterFilter.cleansed_substitute
_SECRET_KEY_NAMES = "|".join(SECRET_QUERY_KEYS)
# In a URL, a QUERY_STRING value or the HTML of either (where & is written &amp;).
_SECRET_QUERY_PARAMS = re.compile(rf"(?i)(?<![\w-])({_SECRET_KEY_NAMES})=([^&\s\"'<>]+)")


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
