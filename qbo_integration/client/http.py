"""The one HTTP chokepoint to QuickBooks Online's Accounting API.

`send` makes one request for a company with the access token it is given: python-quickbooks' client is built
with that token so the library never refreshes on its own, minorversion 75 is pinned, timeouts are set, writes
carry their `requestid`, and every failure is sorted by QuickBooks' fault code into an error class (a 401 is
TokenRejected: the caller refreshes and replays). Which token, the refresh and the company's pause after a 429
belong to the stored connection (`qbo_integration.connection.calls`).
QuickBooks' behaviours this relies on are described in docs/quickbooks.md, cited below by page and section.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from quickbooks import QuickBooks
from quickbooks.exceptions import QuickbooksException
from requests.adapters import HTTPAdapter

from kadouri.text import is_ascii_digits

from .errors import QboTransientError, QboValidationError, classify, message_for, xml_fault

MINOR_VERSION = 75  # below 75 Intuit ignores the value since 2025-08-01 (docs/quickbooks/api.md#minor-versions)
# Intuit advises a 60 s wait after a 429 (docs/quickbooks/limits.md#waiting-after-a-429);
# settings.QBO_THROTTLE_PAUSE_SECONDS (the soak shortens it).
DEFAULT_THROTTLE_PAUSE = timedelta(seconds=settings.QBO_THROTTLE_PAUSE_SECONDS)
MAX_THROTTLE_PAUSE = timedelta(hours=1)


# --- endpoints -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoints:
    discovery: str
    authorization: str
    token: str
    revocation: str
    api_base: str  # ".../v3"


INTUIT_ENDPOINTS = {  # docs/quickbooks/api.md#base-urls, docs/quickbooks/oauth.md#endpoints-and-discovery
    "sandbox": Endpoints(
        discovery="https://developer.intuit.com/.well-known/openid_sandbox_configuration/",
        authorization="https://appcenter.intuit.com/connect/oauth2",
        token="https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
        revocation="https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
        api_base="https://sandbox-quickbooks.api.intuit.com/v3",
    ),
    "production": Endpoints(
        discovery="https://developer.intuit.com/.well-known/openid_configuration/",
        authorization="https://appcenter.intuit.com/connect/oauth2",
        token="https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
        revocation="https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
        api_base="https://quickbooks.api.intuit.com/v3",
    ),
}


def endpoints() -> Endpoints:
    if settings.QBO_ENVIRONMENT in INTUIT_ENDPOINTS:
        return INTUIT_ENDPOINTS[settings.QBO_ENVIRONMENT]
    base = settings.QBO_EMULATOR_URL
    return Endpoints(
        discovery=f"{base}/.well-known/openid_configuration",
        authorization=f"{base}/connect/oauth2",
        token=f"{base}/oauth2/v1/tokens/bearer",
        revocation=f"{base}/v2/oauth2/tokens/revoke",
        api_base=f"{base}/v3",
    )


# --- sessions and timeouts -------------------------------------------------------------------------


def default_timeout() -> tuple[float, float]:
    return (5, settings.QBO_HTTP_TIMEOUT)


class _DefaultTimeoutAdapter(HTTPAdapter):
    # Neither python-quickbooks nor intuit-oauth passes a timeout (docs/quickbooks/libraries.md#tokens-and-timeouts).
    def send(self, request, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = default_timeout()
        return super().send(request, **kwargs)


class _BearerSession(requests.Session):
    """What python-quickbooks needs from its session: `.access_token` and `.request` — and no refreshing."""

    @sensitive_variables("access_token")
    def __init__(self, access_token: str) -> None:
        super().__init__()
        self.access_token = access_token
        self.last_response: requests.Response | None = None
        self.hooks["response"].append(self._keep)
        for scheme in ("https://", "http://"):
            self.mount(scheme, _DefaultTimeoutAdapter())

    def _keep(self, response, *args, **kwargs):
        self.last_response = response


@sensitive_variables("access_token")
def _build_qb(realm_id: str, access_token: str) -> QuickBooks:
    qb = QuickBooks(company_id=realm_id, minorversion=MINOR_VERSION)
    # docs/quickbooks/libraries.md#pointing-at-the-emulator
    qb.api_url_v3 = qb.sandbox_api_url_v3 = endpoints().api_base
    qb.session = _BearerSession(access_token)
    return qb


# --- writes that left ------------------------------------------------------------------------------

# The request ids of the writes sent inside `writes_sent()` (None outside it).
_writes_sent: ContextVar[list[str] | None] = ContextVar("qbo_writes_sent", default=None)


@contextmanager
def writes_sent() -> Iterator[list[str]]:
    """Collects the requestid of every write that leaves for QuickBooks inside the block (a write without
    one is collected as ""). The outbox uses it to tell "nothing was sent" from "a write may have landed"."""
    sent: list[str] = []
    token = _writes_sent.set(sent)
    try:
        yield sent
    finally:
        _writes_sent.reset(token)


def _note_write(request_id: str | None) -> None:
    sent = _writes_sent.get()
    if sent is not None:
        sent.append(request_id or "")


# --- one request -------------------------------------------------------------------------------------


def throttle_until(response: requests.Response | None) -> datetime:
    """When a 429's pause ends: QuickBooks' Retry-After (ASCII digits only, at most an hour), else the default."""
    pause = DEFAULT_THROTTLE_PAUSE
    retry_after = response.headers.get("Retry-After", "") if response is not None else ""
    if is_ascii_digits(retry_after):
        pause = min(timedelta(seconds=int(retry_after)), MAX_THROTTLE_PAUSE)
    return timezone.now() + pause


def _fault_code_and_detail(e: QuickbooksException) -> tuple[str, str]:
    if e.error_code == 10000:  # non-JSON or non-200 without Fault: maybe an XML fault (docs/quickbooks/api.md#headers)
        return xml_fault(f"{e.message} {e.detail or ''}") or ("10000", "")
    return str(e.error_code), (e.detail or e.message or "")


@sensitive_variables("access_token")
def send(
    *,
    realm_id: str,
    access_token: str,
    method: str,
    path: str,
    params: dict | None = None,
    body: str | None = None,
    content_type: str = "application/json",
    request_id: str | None = None,
) -> dict:
    """One Accounting API request; `path` is relative to /v3/company/<realm>/. Raises a classified QboError
    (a 429's carries `retry_at`, the end of the pause it asks for) or TokenRejected."""
    qb = _build_qb(realm_id, access_token)
    url = f"{qb.api_url}/company/{realm_id}/{path}"
    is_write = method != "GET" and path.split("?")[0] not in {"query"}
    if is_write:
        _note_write(request_id)
    return _answer(
        qb,
        is_write,
        lambda: qb.make_request(
            method, url, request_body=body, content_type=content_type, params=dict(params or {}), request_id=request_id
        ),
    )


@sensitive_variables("access_token")
def download_pdf(*, realm_id: str, access_token: str, entity: str, entity_id: str) -> bytes:
    """A document's PDF as QuickBooks prints it (docs/quickbooks/beyond.md#invoices-that-reach-the-buyer):
    python-quickbooks' download_pdf, its failures sorted like any other request's."""
    qb = _build_qb(realm_id, access_token)

    def fetch() -> bytes:
        try:
            return qb.download_pdf(entity, entity_id)
        except KeyError:  # python-quickbooks trips on a failure without "Fault" (a gateway 503's lower-case "fault")
            raise QuickbooksException("QuickBooks answered with an error but no fault", 10000) from None

    return _answer(qb, False, fetch)


def _answer(qb: QuickBooks, is_write: bool, request):
    """Runs one request of `qb` and classifies what can go wrong (see `send`)."""
    try:
        return request()
    except QuickbooksException as e:
        response = qb.session.last_response
        status = response.status_code if response is not None else None
        code, detail = _fault_code_and_detail(e)
        retry_at = throttle_until(response) if status == 429 or code.lstrip("0") == "3001" else None
        # A write answered by a server error (or no status) may still have been applied.
        in_doubt = is_write and (status is None or status >= 500)
        raise classify(
            code=code,
            status=status,
            detail=detail[:500],
            retry_at=retry_at,
            in_doubt=in_doubt,
            fault_message=str(e.message or ""),
        ) from None
    except (TypeError, ValueError):
        raise QboValidationError(
            "QuickBooks answered with an unreadable fault; an operator should look at the logs."
        ) from None
    except requests.RequestException as e:
        raise QboTransientError(
            message_for("transient", "", "", None), detail=e.__class__.__name__, in_doubt=is_write
        ) from None


def query_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")
