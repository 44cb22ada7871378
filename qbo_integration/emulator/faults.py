"""Fault injection for the emulator, plus the gateway-level fault bodies (auth, throttle, 5xx, XML).

A rule answers the next ``count`` requests whose method and path match with a canned failure.
With a ``rate`` (0 < rate <= 1) the rule is probabilistic instead: each matching request fails with
that probability, for as long as the rule lives (``count`` then caps the failures; none = no cap) —
the soak's "20 % transient faults" is a handful of such rules. Kinds: ``429`` ``500`` ``503`` ``401`` ``xml`` (answer with a fault), ``slow`` (run the request,
then wait ``delay`` real seconds before answering) and ``drop`` (run the request, then close the
connection without an answer).
"""

from __future__ import annotations

import itertools
import json
import random
import re
import threading
import uuid
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

RESPONSE_KINDS = ("429", "500", "503", "401", "xml")
BEHAVIOUR_KINDS = ("slow", "drop")
KINDS = RESPONSE_KINDS + BEHAVIOUR_KINDS

_PACIFIC = ZoneInfo("America/Los_Angeles")
JSON_TYPE = "application/json;charset=UTF-8"

Response = tuple[int, dict[str, str], bytes]


def qbo_time(now: datetime) -> str:
    """Intuit stamps responses in Pacific time with milliseconds (qbo-api.md §2.0)."""
    local = now.astimezone(_PACIFIC)
    return local.isoformat(timespec="milliseconds")


def response_headers(content_type: str = JSON_TYPE) -> dict[str, str]:
    # Every Intuit response carries an intuit_tid header (qbo-api.md §1.4).
    return {"Content-Type": content_type, "intuit_tid": uuid.uuid4().hex}


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def json_response(status: int, payload: object) -> Response:
    return status, response_headers(), json.dumps(payload, default=_json_default).encode()


def fault_payload(now: datetime, code: str, message: str, detail: str, fault_type: str) -> dict:
    error = {"Message": message, "Detail": detail, "code": code}
    return {"Fault": {"Error": [error], "type": fault_type}, "time": qbo_time(now)}


def throttle_fault(now: datetime, detail: str = "The request limit was reached.  Try again later") -> Response:
    # 429 body as Intuit sends it: code "003001", type SERVICE (qbo-api.md §4.3, §11.4).
    body = fault_payload(now, "003001", "message=ThrottleExceeded; errorCode=003001; statusCode=429", detail, "SERVICE")
    return json_response(429, body)


def auth_fault(now: datetime, detail: str = "Token expired") -> Response:
    # 401 AuthenticationFailed 3200 (qbo-api.md §4.2, §4.3).
    message = "message=AuthenticationFailed; errorCode=003200; statusCode=401"
    return json_response(401, fault_payload(now, "3200", message, detail, "AUTHENTICATION"))


def forbidden_fault(now: datetime, detail: str) -> Response:
    # A token for another company: 403 ApplicationAuthorizationFailed 3100 (qbo-api.md §4.2).
    message = "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403"
    return json_response(403, fault_payload(now, "3100", message, detail, "SERVICE"))


def server_error_fault(now: datetime) -> Response:
    message = "An application error has occurred while processing your request"
    return json_response(500, fault_payload(now, "10000", message, "System Failure Error: emulated", "SystemFault"))


def unavailable_fault(now: datetime) -> Response:
    # Gateway 503: lower-case "fault" body, epoch-millis time (qbo-api.md §4.1, §11.4).
    error = {"message": "Service Unavailable", "detail": "The service is temporarily unavailable", "code": "503", "element": None}
    body = {"fault": {"error": [error], "type": "SERVICE"}, "time": int(now.timestamp() * 1000)}
    return json_response(503, body)


def not_found_fault(now: datetime, path: str) -> Response:
    detail = f"Operation Could not find resource for relative : {path} of full path: {path}"
    return json_response(404, fault_payload(now, "500", "Unsupported Operation", detail, "ValidationFault"))


def xml_throttle_fault(now: datetime) -> Response:
    # Throttling has been answered in XML even when JSON was asked for (qbo-api.md §1.4, §4.1).
    body = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="{qbo_time(now)}">'
        '<Fault type="SERVICE"><Error code="3001">'
        "<Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>"
        "<Detail>The request limit was reached.  Try again later</Detail>"
        "</Error></Fault></IntuitResponse>"
    )
    return 429, response_headers("application/xml"), body.encode()


def fault_response(kind: str, now: datetime) -> Response:
    builders = {
        "429": throttle_fault,
        "500": server_error_fault,
        "503": unavailable_fault,
        "401": auth_fault,
        "xml": xml_throttle_fault,
    }
    return builders[kind](now)


_ids = itertools.count(1)


@dataclass
class FaultRule:
    kind: str
    method: str = "*"
    path: str = ".*"
    count: int | None = 1
    delay: float = 0.0
    rate: float | None = None
    body: str = ""  # optional regex the request body must match (e.g. '"operation": "create"')
    id: int = field(default_factory=lambda: next(_ids))
    fired: int = 0
    seen: int = 0

    def matches(self, method: str, path: str, body: str = "") -> bool:
        method_ok = self.method in ("*", "", None) or self.method.upper() == method.upper()
        body_ok = not self.body or re.search(self.body, body) is not None
        return method_ok and body_ok and re.search(self.path, path) is not None

    def to_dict(self) -> dict:
        return asdict(self)


class FaultInjector:
    def __init__(self, seed: int | None = None) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self.random = random.Random(seed)

    def add(self, kind: str, method: str = "*", path: str = ".*", count: int | None = 1, delay: float = 0.0,
            rate: float | None = None, body: str = "") -> FaultRule:
        kind = str(kind).lower()
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(KINDS)}")
        if rate is not None:
            rate = float(rate)
            if not 0 < rate <= 1:
                raise ValueError("rate must be greater than 0 and at most 1")
        elif count is None:
            raise ValueError("count is required without a rate")
        if count is not None and int(count) < 1:
            raise ValueError("count must be at least 1")
        if float(delay or 0) < 0:
            raise ValueError("delay cannot be negative")
        re.compile(path or ".*")
        re.compile(body or "")
        rule = FaultRule(kind=kind, method=method or "*", path=path or ".*", count=None if count is None else int(count),
                         delay=float(delay or 0), rate=rate, body=body or "")
        with self._lock:
            self._rules.append(rule)
        return rule

    def take(self, method: str, path: str, body: str = "") -> FaultRule | None:
        """The first live rule that fires for the request (a counted rule always does, a rule with a
        rate with that probability), with one use consumed."""
        with self._lock:
            for rule in self._rules:
                if not rule.matches(method, path, body):
                    continue
                rule.seen += 1
                if rule.rate is not None and self.random.random() >= rule.rate:
                    continue
                rule.fired += 1
                if rule.count is not None:
                    rule.count -= 1
                    if rule.count <= 0:
                        self._rules.remove(rule)
                return rule
        return None

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def list(self) -> list[dict]:
        with self._lock:
            return [rule.to_dict() for rule in self._rules]
