"""Keeps OAuth codes, states and tokens out of every log line (runserver prints request URLs)."""

import logging
import re

# Query-string parameters only (after ? or &): a log line's own "code=6240" must stay readable.
# Query parameters that carry OAuth secrets; the debug page (kadouri/debug.py) hides the same ones.
SECRET_QUERY_KEYS = ("code", "state", "access_token", "refresh_token", "token", "client_secret")
_SECRET_PARAMS = re.compile(rf"(?i)(?<=[?&])({'|'.join(SECRET_QUERY_KEYS)})=([^&\s\"']+)")


def redact(text: str) -> str:
    return _SECRET_PARAMS.sub(lambda m: f"{m.group(1)}=[redacted]", text)


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


class QuietPollsFilter(logging.Filter):
    """Pages poll their live parts every 2 s (kadouri/live.py); a poll answered 204 (nothing new) is no news for
    runserver's console."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (getattr(record, "status_code", None) == 204 and "since=" in record.getMessage())
