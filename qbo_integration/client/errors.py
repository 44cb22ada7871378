"""QuickBooks failures, classified: one table from fault code (and HTTP status) to a few error classes, each
with a message a person can act on. QuickBooks' behaviours this relies on are described in docs/quickbooks.md, cited
below by page and section."""

from __future__ import annotations

import re
from datetime import datetime

from kadouri.display import when as display_when


class QboError(Exception):
    """A QuickBooks failure, classified. `str(e)` is safe to show to staff; it never holds a secret."""

    kind = "validation"

    def __init__(
        self,
        message: str,
        *,
        code: str = "",
        detail: str = "",
        status: int | None = None,
        retry_at: datetime | None = None,
        in_doubt: bool = False,
        fault_message: str = "",
    ) -> None:
        super().__init__(message)
        self.message, self.code, self.detail, self.status = message, str(code or ""), detail[:1000], status
        self.retry_at, self.in_doubt = retry_at, in_doubt
        self.fault_message = fault_message[:500]  # the fault's Message, beside its Detail

    def as_dict(self) -> dict:
        return {"kind": self.kind, "code": self.code, "message": self.message, "detail": self.detail}


class QboTransientError(QboError):
    """Busy, throttled, unreachable: retrying later will work. `in_doubt`: a write may have happened."""

    kind = "transient"


class QboThrottledError(QboTransientError):
    kind = "throttled"


class QboPausedError(QboThrottledError):
    """Not sent at all: the company is paused after an earlier 429 (by any worker). Not the caller's failure."""


class QboAuthError(QboError):
    """The connection needs an admin to reconnect; retrying will not help."""

    kind = "auth"


class QboNotConnected(QboAuthError):
    kind = "not_connected"


class QboStaleError(QboError):
    kind = "stale"


class QboDuplicateError(QboError):
    kind = "duplicate"


class QboNotFoundError(QboError):
    kind = "not_found"


class QboValidationError(QboError):
    kind = "validation"


class QboWrongLinkError(QboError):
    """Not sent: the QuickBooks document at the order's id is not the order's own (another number)."""

    kind = "wrong_link"


class SyncRefused(Exception):
    """Refused before anything was sent: the status table, the order's content, bad input, or a job that cannot be
    prepared. `status` is the HTTP status the API answers (409 forbidden, 422 incomplete or bad input, 400 bad
    request); `field` names the form field a bad input concerns ("" for none). Re-exported by outbox/jobs.py."""

    def __init__(self, message: str, *, status: int = 409, field: str = "") -> None:
        super().__init__(message)
        self.message, self.status, self.field = message, status, field


class TokenRejected(Exception):
    """An API 401: the caller refreshes the token once and replays the request
    (docs/quickbooks/libraries.md#tokens-and-timeouts)."""


CONNECTION_KINDS = {"transient", "throttled", "auth", "not_connected"}

RECONNECT_MESSAGE = (
    "The QuickBooks connection needs to be reconnected. An admin can do this in Settings → QuickBooks Integration "
    "→ Reconnect; nothing is sent to QuickBooks until then."
)
NOT_CONNECTED_MESSAGE = "QuickBooks is not connected. An admin can connect it in Settings → QuickBooks Integration."


CLOSED_PERIOD_CODES = {"6210"}


def is_closed_period(code: str, *texts: str) -> bool:
    """QuickBooks refused because its books are closed for the date (docs/quickbooks/errors.md#fault-codes): by code,
    or by a fault's text (Detail or Message) saying "Account Period Closed" — one variant is a 5010."""
    return str(code or "").lstrip("0") in CLOSED_PERIOD_CODES or any(
        "account period closed" in text.lower() for text in texts
    )


def message_for(kind: str, code: str, detail: str, retry_at: datetime | None, fault_message: str = "") -> str:
    brief = f" (QuickBooks error {code})" if code else ""
    reason = f": {detail.rstrip('. ')}" if detail else ""
    if kind == "throttled":
        when = f"at {display_when(retry_at)}" if retry_at else "shortly"
        return f"QuickBooks asked us to slow down{brief}. Kadouri pauses this company and retries {when}."
    if kind == "transient":
        return (
            f"QuickBooks is busy or unreachable right now{brief}. Kadouri retries automatically; if this lasts, "
            "check QuickBooks' status page."
        )
    if kind == "stale":
        return f"The document was changed in QuickBooks at the same time{brief}. Reload and try again."
    if kind == "duplicate":
        return (
            f"QuickBooks already has a record with this name or number{brief}{reason}. Rename it in Kadouri, "
            "or check QuickBooks for the existing record (see the Activity Log)."
        )
    if kind == "not_found":
        return f"QuickBooks cannot find this record{brief}; it may have been deleted in QuickBooks{reason}."
    if is_closed_period(code, detail, fault_message):
        return (
            f"QuickBooks' books are closed for this date{brief}. Change the order date or ask your accountant to "
            "reopen the period."
        )
    if code == "6000":  # a business rule of the books (e.g. payments applied): settled in QuickBooks
        return f"QuickBooks refused{brief}{reason}. Resolve it in QuickBooks, then try again."
    return f"QuickBooks refused the data{brief}{reason}. Correct it in Kadouri and try again."


def paused_error(until: datetime) -> QboPausedError:
    """What a call answers, without sending anything, while the company is paused after a 429."""
    return QboPausedError(message_for("throttled", "3001", "", until), code="3001", retry_at=until)


_XML_CODE = re.compile(r"<Error[^>]*\bcode=\"(\d+)\"", re.I)
_XML_DETAIL = re.compile(r"<Detail>(.*?)</Detail>", re.I | re.S)


def xml_fault(text: str) -> tuple[str, str] | None:
    """The code and detail of an XML fault (docs/quickbooks/api.md#headers), or None when `text` holds none."""
    match = _XML_CODE.search(text)
    if not match:
        return None
    detail = _XML_DETAIL.search(text)
    return match.group(1), (detail.group(1).strip() if detail else "")


def classify(
    *,
    code: str | int | None,
    status: int | None,
    detail: str = "",
    in_doubt: bool = False,
    retry_at: datetime | None = None,
    token_rejected_as_auth: bool = False,
    fault_message: str = "",
) -> QboError:
    """One table from fault code (and HTTP status) to error class; docs/quickbooks/errors.md#fault-codes,
    docs/quickbooks/errors.md#what-python-quickbooks-raises. A rejected token raises TokenRejected so the caller can
    refresh the token and replay the request; with `token_rejected_as_auth` (a fault inside a batch answer, which cannot
    be replayed on its own) it is an auth error for the caller to stop on."""
    code = str(code or "").lstrip("0")
    if code == "3001" or status == 429:
        kind, cls = "throttled", QboThrottledError
    elif code in {"3200", "100", "120"} or status == 401:
        if not token_rejected_as_auth:
            raise TokenRejected()
        kind, cls, status = "auth", QboAuthError, 401
    elif code == "3100" or status == 403:
        kind, cls = "auth", QboAuthError
    elif is_closed_period(code, detail, fault_message):
        # Closed books (docs/quickbooks/errors.md#fault-codes): told apart by text too, one variant is a 5010.
        kind, cls = "validation", QboValidationError
    elif code == "5010":
        kind, cls = "stale", QboStaleError
    elif code in {"6240", "6140"}:
        kind, cls = "duplicate", QboDuplicateError
    elif code == "610":
        kind, cls = "not_found", QboNotFoundError
    elif status is None or status >= 500 or code == "10000":
        kind, cls = "transient", QboTransientError
    else:
        kind, cls = "validation", QboValidationError
    message = RECONNECT_MESSAGE if kind == "auth" else message_for(kind, code, detail, retry_at, fault_message)
    return cls(
        message,
        code=code,
        detail=detail,
        status=status,
        retry_at=retry_at,
        in_doubt=in_doubt,
        fault_message=fault_message,
    )


def batch_fault(fault: dict | None, what: str) -> QboError:
    """The error of one item of a batch answer (`what`: the item, for the message)."""
    errors = (fault or {}).get("Error") or [{}]
    first = errors[0]
    detail = f"{what}: {first.get('Detail') or first.get('Message') or ''}".strip()
    # A batch item cannot be refreshed and replayed on its own: a rejected token is an auth failure to stop on.
    return classify(
        code=first.get("code", ""),
        status=400,
        detail=detail[:500],
        token_rejected_as_auth=True,
        fault_message=str(first.get("Message") or ""),
    )
