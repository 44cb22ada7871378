"""Answers as the HTTP layer sends them — ``(status, headers, body)`` — and the gateway-level QBO faults
(auth, throttle, 5xx, XML, unknown path) that Intuit answers before the accounting engine is reached."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

_PACIFIC = ZoneInfo("America/Los_Angeles")
JSON_TYPE = "application/json;charset=UTF-8"

Response = tuple[int, dict[str, str], bytes]


class ConnectionDropped(Exception):
    """The request ran server-side but the connection must close without an answer."""

    def __init__(self, response: Response) -> None:
        super().__init__("connection dropped by fault injection")
        self.response = response


def qbo_time(now: datetime) -> str:
    """Intuit stamps responses in Pacific time with milliseconds (docs/quickbooks/api.md#envelope-id-and-synctoken)."""
    local = now.astimezone(_PACIFIC)
    return local.isoformat(timespec="milliseconds")


def response_headers(content_type: str = JSON_TYPE) -> dict[str, str]:
    # Every Intuit response carries an intuit_tid header (docs/quickbooks/api.md#headers).
    return {"Content-Type": content_type, "intuit_tid": uuid.uuid4().hex}


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def json_response(status: int, payload: object) -> Response:
    return status, response_headers(), json.dumps(payload, default=_json_default).encode()


def api_response(status: int, payload: dict) -> Response:
    """An Accounting API answer: JSON, or the binary body the engine hands over as latin-1 text (a PDF)."""
    if "_content_type" in payload:
        return status, response_headers(payload["_content_type"]), str(payload["_body"]).encode("latin-1")
    return json_response(status, payload)


def fault_payload(now: datetime, code: str, message: str, detail: str, fault_type: str) -> dict:
    error = {"Message": message, "Detail": detail, "code": code}
    return {"Fault": {"Error": [error], "type": fault_type}, "time": qbo_time(now)}


def throttle_fault(now: datetime, detail: str = "The request limit was reached.  Try again later") -> Response:
    # 429 body as Intuit sends it: code "003001", type SERVICE (docs/quickbooks/errors.md#fault-codes,
    # docs/quickbooks/errors.md#what-python-quickbooks-raises).
    body = fault_payload(now, "003001", "message=ThrottleExceeded; errorCode=003001; statusCode=429", detail, "SERVICE")
    return json_response(429, body)


def auth_fault(now: datetime, detail: str = "Token expired") -> Response:
    # 401 AuthenticationFailed 3200 (docs/quickbooks/errors.md#http-statuses, docs/quickbooks/errors.md#fault-codes).
    message = "message=AuthenticationFailed; errorCode=003200; statusCode=401"
    return json_response(401, fault_payload(now, "3200", message, detail, "AUTHENTICATION"))


def forbidden_fault(now: datetime, detail: str) -> Response:
    # A token for another company: 403 ApplicationAuthorizationFailed 3100 (docs/quickbooks/errors.md#http-statuses).
    message = "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403"
    return json_response(403, fault_payload(now, "3100", message, detail, "SERVICE"))


def server_error_fault(now: datetime, detail: str = "System Failure Error: emulated") -> Response:
    message = "An application error has occurred while processing your request"
    return json_response(500, fault_payload(now, "10000", message, detail, "SystemFault"))


def unavailable_fault(now: datetime) -> Response:
    # Gateway 503: lower-case "fault" body, epoch-millis time (docs/quickbooks/errors.md#fault-shape,
    # docs/quickbooks/errors.md#what-python-quickbooks-raises).
    error = {
        "message": "Service Unavailable",
        "detail": "The service is temporarily unavailable",
        "code": "503",
        "element": None,
    }
    body = {"fault": {"error": [error], "type": "SERVICE"}, "time": int(now.timestamp() * 1000)}
    return json_response(503, body)


def not_found_fault(now: datetime, path: str) -> Response:
    detail = f"Operation Could not find resource for relative : {path} of full path: {path}"
    return json_response(404, fault_payload(now, "500", "Unsupported Operation", detail, "ValidationFault"))


def xml_throttle_fault(now: datetime) -> Response:
    # Throttling has been answered in XML even when JSON was asked for (docs/quickbooks/api.md#headers,
    # docs/quickbooks/errors.md#fault-shape).
    body = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="{qbo_time(now)}">'
        '<Fault type="SERVICE"><Error code="3001">'
        "<Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>"
        "<Detail>The request limit was reached.  Try again later</Detail>"
        "</Error></Fault></IntuitResponse>"
    )
    return 429, response_headers("application/xml"), body.encode()
