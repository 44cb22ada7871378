"""Error reports to Sentry, when `SENTRY_DSN` is set (kadouri/settings.py calls `init_sentry`; without a DSN the SDK
is never started and nothing leaves the machine).

No event leaves with a secret in it. Sentry's own scrubber removes values under sensitive key names (ours added);
then `before_send` passes every text of the event (message, exception values, local variables, breadcrumbs,
request) through the same redaction as the logs (kadouri/logging.py `redact`), with every secret Kadouri knows:
the settings' secrets, the QuickBooks tokens and codes this process handled and the stored tokens.
"""

import warnings

import sentry_sdk
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

from kadouri.logging import known_secrets, redact

# Key names whose values are dropped whatever they hold (local variables, request data), on top of Sentry's own.
KADOURI_DENYLIST = [
    "access_token",
    "refresh_token",
    "client_secret",
    "verifier_token",
    "id_token",
    "tokens",
    "secret_key",
    "qbo_token_keys",
    "qbo_client_secret",
    "qbo_webhook_verifier_token",
]


def _scrubbed(value, secrets: list[str]):
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {key: _scrubbed(item, secrets) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrubbed(item, secrets) for item in value]
    return value


def _scrub_query_string(event: dict, secrets: list[str]) -> None:
    """Sentry keeps a request's query string without its "?", where the OAuth parameters are found."""
    request = event.get("request")
    if isinstance(request, dict) and isinstance(request.get("query_string"), str):
        request["query_string"] = redact("?" + request["query_string"], secrets)[1:]


def before_send(event: dict, hint: dict) -> dict:
    secrets = known_secrets()
    _scrub_query_string(event, secrets)
    return _scrubbed(event, secrets)


def init_sentry(dsn: str, *, environment: str, release: str | None = None, transport=None) -> None:
    with warnings.catch_warnings():
        # sentry-sdk 2.7x calls send_default_pii deprecated in favour of data_collection, whose default is the
        # same; it is spelled out here because it is the promise: no personal data in any event.
        warnings.filterwarnings("ignore", "The send_default_pii option is deprecated", DeprecationWarning)
        sentry_sdk.init(
            dsn=dsn,
            environment=environment,
            release=release or None,
            integrations=[DjangoIntegration()],
            send_default_pii=False,
            event_scrubber=EventScrubber(denylist=DEFAULT_DENYLIST + KADOURI_DENYLIST, recursive=True),
            before_send=before_send,
            traces_sample_rate=0.0,
            transport=transport,
        )
