"""The JSON control API under ``/_emulator/api/``: each route calls one ``EmulatorCore`` method.

A body must be JSON with ``Content-Type: application/json`` (415 otherwise), because text and form bodies are
what a web page can send to another site without a CORS preflight.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from ..core import EmulatorCore
from ..engine.errors import QboFault
from .request import Request
from .responses import Response, json_response

ROOT = "/_emulator/api"


def control(emu: EmulatorCore, request: Request) -> Response:
    route = request.path[len(ROOT) :].strip("/")
    if request.method in ("POST", "PUT", "PATCH") and request.media_type != "application/json":
        # text/plain and form bodies are what a web page can send cross-site without a preflight.
        return json_response(415, {"error": "send the body as JSON with Content-Type: application/json"})
    try:
        data = json.loads(request.body or b"{}") if request.method in ("POST", "PUT", "PATCH") else {}
    except ValueError:
        return json_response(400, {"error": "body must be JSON"})
    if not isinstance(data, dict):
        return json_response(400, {"error": "body must be a JSON object"})
    try:
        result = _dispatch(emu, request.method, route, request.params, data)
    except QboFault as fault:
        return json_response(fault.status, fault.body(emu.clock.now()))
    except (KeyError, ValueError, TypeError, re.error) as exc:
        return json_response(400, {"error": f"{type(exc).__name__}: {exc}"})
    if result is None:
        return json_response(404, {"error": f"no control route {request.method} {ROOT}/{route}"})
    return json_response(200, result)


def _dispatch(emu: EmulatorCore, method: str, route: str, params: dict[str, str], data: dict) -> Any:
    parts = route.split("/") if route else []
    handlers: dict[tuple[str, str], Callable[[], Any]] = {
        ("POST", "reset"): lambda: emu.reset(bool(data.get("keep_tokens", False))) or {"ok": True},
        ("GET", "companies"): lambda: {"companies": emu.companies()},
        ("POST", "companies"): lambda: emu.add_company(
            str(data["realm_id"]), str(data["name"]), data.get("preferences")
        ),
        ("GET", "clock"): lambda: _clock_json(emu),
        ("POST", "clock/advance"): lambda: emu.advance(float(data["seconds"])) and _clock_json(emu),
        ("GET", "faults"): lambda: {"faults": emu.faults.list()},
        ("POST", "faults"): lambda: _add_fault_json(emu, data),
        ("DELETE", "faults"): lambda: emu.clear_faults() or {"ok": True},
        ("GET", "webhooks"): emu.webhooks.snapshot,
        ("POST", "webhooks/flush"): lambda: {
            "attempts": emu.flush_webhooks(bool(data.get("force", False))),
            "pending": emu.webhooks.pending(),
        },
        ("POST", "webhooks/config"): lambda: {"config": emu.configure_webhooks(**data)},
        ("GET", "requests"): lambda: {"requests": _requests_json(emu, params)},
        ("DELETE", "requests"): lambda: emu.clear_requests() or {"ok": True},
        ("GET", "stats"): emu.stats,
        ("GET", "grants"): lambda: {"grants": emu.grants(params.get("realm") or None)},
        ("POST", "limits"): lambda: {"config": emu.configure_limits(**data)},
        ("POST", "tokens"): lambda: emu.issue_tokens(str(data["realm_id"]), bool(data.get("include_hard", True))),
    }
    handler = handlers.get((method, route))
    if handler is not None:
        return handler()
    if len(parts) == 2 and parts[0] == "companies" and method == "GET":
        return emu.dump(parts[1]) if parts[1] in emu.api.companies else None
    if len(parts) == 3 and parts[0] == "companies" and parts[2] == "mail" and method == "GET":
        return {"mail": emu.sent_mail(parts[1])} if parts[1] in emu.api.companies else None
    if len(parts) == 3 and parts[0] == "companies" and parts[2] == "disconnect" and method == "POST":
        return {"revoked_grants": emu.disconnect(parts[1])}
    if len(parts) == 4 and parts[0] == "companies" and parts[2] == "actions" and method == "POST":
        return {"result": emu.action(parts[3], parts[1], **data)}
    return None


def _clock_json(emu: EmulatorCore) -> dict:
    return {"now": emu.clock.now().isoformat(), "offset_seconds": emu.clock.offset_seconds}


def _add_fault_json(emu: EmulatorCore, data: dict) -> dict:
    rate = data.get("rate")
    rate = None if rate is None else float(rate)
    # With a rate and no count the rule lives until DELETE faults; without a rate one request fails by default.
    count = data.get("count", None if rate is not None else 1)
    return {
        "fault": emu.add_fault(
            str(data["kind"]),
            data.get("method", "*"),
            data.get("path", ".*"),
            None if count is None else int(count),
            float(data.get("delay", 0) or 0),
            rate,
            str(data.get("body", "") or ""),
        )
    }


def _requests_json(emu: EmulatorCore, params: dict[str, str]) -> list[dict]:
    status = int(params["status"]) if params.get("status") else None
    return emu.requests(
        params.get("method") or None,
        params.get("path") or None,
        params.get("realm") or None,
        status,
        params.get("subpath") or None,
    )
