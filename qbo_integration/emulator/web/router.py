"""One HTTP request through the emulator: fault injection, then the right surface — the JSON control API, the
human UI, OAuth, or the Accounting API behind its token check and rate limits — then the request log.

Every answer is ``(status, headers, body)``; an exception becomes a JSON SystemFault, never an HTML page.
"""

from __future__ import annotations

import re
import sys
import time
import traceback

from .. import ui
from ..core import EmulatorCore
from ..faults import RESPONSE_KINDS, FaultRule, fault_response
from ..limits import Slot
from ..oauth import OAUTH_PATHS
from ..persistence import StateFileError
from .control import ROOT as CONTROL_ROOT
from .control import control
from .request import Request
from .responses import (
    ConnectionDropped,
    Response,
    api_response,
    auth_fault,
    forbidden_fault,
    json_response,
    not_found_fault,
    server_error_fault,
    throttle_fault,
)

API_PATH = re.compile(r"^/v3/company/(?P<realm>[^/]+)/(?P<subpath>.*)$")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
AUTH_DETAILS = {
    "missing": "Authorization header missing or not a bearer token",
    "invalid": "Malformed bearer token",
    "expired": "Token expired",
    "revoked": "Token revoked",
}


def take_slot(emu: EmulatorCore, method: str, path_with_query: str, headers: dict[str, str]) -> Slot | None:
    """For a server, as soon as a request's headers arrive: an authorized Accounting API call takes its
    company's concurrency slot (or is refused one) before its body is read. None for anything the limits
    don't cover."""
    request = Request.parse(method, path_with_query, headers, b"")
    match = API_PATH.match(request.path)
    if match is None or emu.oauth.check_access_token(request.bearer, match["realm"]) != "ok":
        return None
    return emu.limits.take_slot(match["realm"])


def handle(
    emu: EmulatorCore,
    method: str,
    path_with_query: str,
    headers: dict[str, str] | None,
    body: bytes | str | None,
    slot: Slot | None,
) -> Response:
    request = Request.parse(method, path_with_query, headers or {}, body)
    request.slot = slot
    rule = (
        None
        if request.is_emulator_path
        else emu.faults.take(request.method, request.path, request.body.decode("utf-8", "replace"))
    )
    started = time.monotonic()
    if rule is not None and rule.kind == "slow":
        request.delay = rule.delay
    if rule is not None and rule.kind in RESPONSE_KINDS:
        response = fault_response(rule.kind, emu.clock.now())
    else:
        response = _safe_route(emu, request)
    if request.delay:
        time.sleep(request.delay)
    if not request.is_emulator_path:
        _log_request(emu, request, response[0], rule, time.monotonic() - started)
    if rule is not None and rule.kind == "drop":
        raise ConnectionDropped(response)
    return response


def _safe_route(emu: EmulatorCore, request: Request) -> Response:
    try:
        return _route(emu, request)
    except StateFileError:
        raise
    except Exception:
        # Never an HTML error page on API paths (docs/quickbooks/errors.md#answers-are-json): a SystemFault in JSON.
        traceback.print_exc(file=sys.stderr)
        return server_error_fault(emu.clock.now(), "System Failure Error: emulator exception")


def _route(emu: EmulatorCore, request: Request) -> Response:
    path = request.path
    if request.is_emulator_path and request.method not in SAFE_METHODS and request.from_another_site:
        # A page on another site must not drive the emulator (a form or fetch() it sends carries its Origin).
        return json_response(403, {"error": "cross-site requests to the emulator's control API and UI are refused"})
    if path.startswith(CONTROL_ROOT + "/") or path == CONTROL_ROOT:
        return control(emu, request)
    if request.is_emulator_path:
        response = ui.render(emu, request.method, path, request.params, request.body)
        if request.method == "POST":
            emu.save_state()
        return response
    if path in OAUTH_PATHS:
        response = emu.oauth.handle(
            request.method, path, request.params, request.headers, request.body, _base_for(emu, request)
        )
        if request.method == "POST":
            emu.save_state()
        return response  # type: ignore[return-value]
    match = API_PATH.match(path)
    if match:
        return _accounting(emu, request, match["realm"], match["subpath"])
    if path == "/":
        return 302, {"Location": "/_emulator/", "Content-Type": "text/plain"}, b""
    return not_found_fault(emu.clock.now(), path)


def _base_for(emu: EmulatorCore, request: Request) -> str:
    host = request.headers.get("host")
    if host and request.from_socket:
        return f"http://{host}"
    return emu.base_url


def _accounting(emu: EmulatorCore, request: Request, realm: str, subpath: str) -> Response:
    now = emu.clock.now()
    verdict = emu.oauth.check_access_token(request.bearer, realm)
    if verdict == "wrong_realm":
        return forbidden_fault(now, f"The access token was not issued for company {realm}")
    if verdict != "ok":
        # Expired, revoked or unknown tokens: 401 AuthenticationFailed 3200 (docs/quickbooks/errors.md#http-statuses,
        # docs/quickbooks/oauth.md#token-lifetimes-and-rotation).
        return auth_fault(now, AUTH_DETAILS[verdict])
    is_batch = subpath.strip("/") == "batch"
    slot = request.slot
    if slot is not None and slot.refused:
        return throttle_fault(now)  # more than the concurrent limit in flight when its headers arrived
    if emu.limits.enter(realm, is_batch, holding_slot=slot is not None):
        # Per-company limits (docs/quickbooks/limits.md#request-limits).
        return throttle_fault(now)
    try:
        content_type = request.headers.get("content-type", "application/json")
        with emu.lock:
            status, payload = emu.api.handle(realm, request.method, subpath, request.params, request.body, content_type)
            if request.method != "GET":
                emu.save_state()
        if request.delay:
            # A slow reply keeps its concurrency slot while it waits.
            time.sleep(request.delay)
            request.delay = 0.0
    finally:
        if slot is None:
            emu.limits.leave(realm)
    return api_response(status, payload)


def _log_request(emu: EmulatorCore, request: Request, status: int, rule: FaultRule | None, elapsed: float) -> None:
    match = API_PATH.match(request.path)
    emu.request_log.add(
        {
            "time": emu.clock.now().isoformat(),
            "method": request.method,
            "path": request.path,
            "subpath": match["subpath"] if match else None,
            "realm": match["realm"] if match else None,
            "params": request.params,
            "status": status,
            "fault": rule.kind if rule else None,
            "elapsed_ms": round(elapsed * 1000, 1),
        }
    )
