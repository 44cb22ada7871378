"""The emulator facade: one engine answering OAuth, the Accounting API, the human UI and the
control API, usable in-process (``Emulator.handle``) or as a threaded HTTP server (``LiveServer``).
"""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import tempfile
import threading
import time
import traceback
from datetime import datetime, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import parse_qsl, quote, urlsplit

from .engine import AccountingApi, QboFault
from .clock import Clock
from .faults import (
    RESPONSE_KINDS,
    FaultInjector,
    Response,
    auth_fault,
    fault_response,
    forbidden_fault,
    json_response,
    not_found_fault,
    qbo_time,
    throttle_fault,
)
from .limits import RateLimiter, Slot
from .oauth import OAUTH_PATHS, OAuthConfig, OAuthServer
from .webhooks import Deliver, WebhookConfig, WebhookDispatcher

DEFAULT_COMPANIES: tuple[tuple[str, str], ...] = (
    ("9130350000000001", "Kadouri Demo Produce LLC"),
    ("9130350000000002", "Sandbox Company US 2"),
)
DEFAULT_BASE_URL = "http://qbo.emulator.test"
DEFAULT_CLIENT_ID = "emulator-client-id"
DEFAULT_CLIENT_SECRET = "emulator-client-secret"
DEFAULT_REDIRECT_URI = "http://127.0.0.1:8000/api/quickbooks/callback"
DEFAULT_VERIFIER_TOKEN = "emulator-verifier-token"
STATE_FORMAT = "qbo-emulator-state"
STATE_VERSION = 1
API_PATH = re.compile(r"^/v3/company/(?P<realm>[^/]+)/(?P<subpath>.*)$")
BOOKKEEPER_ACTIONS = (
    "record_payment",
    "void_invoice",
    "delete_invoice",
    "delete_payment",
    "void_payment",
    "rename_customer",
    "merge_customers",
    "set_item_active",
)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
AUTH_DETAILS = {
    "missing": "Authorization header missing or not a bearer token",
    "invalid": "Malformed bearer token",
    "expired": "Token expired",
    "revoked": "Token revoked",
}


class StateFileError(Exception):
    """The state file cannot be used; the emulator refuses to start rather than reset it."""


class ConnectionDropped(Exception):
    """The request ran server-side but the connection must close without an answer."""

    def __init__(self, response: Response) -> None:
        super().__init__("connection dropped by fault injection")
        self.response = response


class Emulator:
    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        redirect_uris: Iterable[str] | None = None,
        webhook_url: str | None = None,
        verifier_token: str = DEFAULT_VERIFIER_TOKEN,
        webhook_format: str = "legacy",
        state_file: str | os.PathLike | None = None,
        companies: Iterable[tuple[str, str]] = DEFAULT_COMPANIES,
        deliver: Deliver | None = None,
        clock: Clock | None = None,
        seed: int | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.state_file = Path(state_file) if state_file else None
        self.seed_companies = tuple(companies)
        state = self._read_state_file()
        self.clock = clock or Clock(float(state["clock_offset"]) if state else 0.0)
        webhook_config = WebhookConfig(url=webhook_url, format=webhook_format, verifier_token=verifier_token, app_id=client_id)
        self.webhooks = WebhookDispatcher(self.clock, webhook_config, deliver, seed)
        self.oauth = OAuthServer(self.clock, OAuthConfig(client_id, client_secret, list(redirect_uris or [DEFAULT_REDIRECT_URI])), self._company_list)
        self.faults = FaultInjector(seed)
        self.limits = RateLimiter(self.clock)
        self.api = self._new_api()
        self._lock = threading.RLock()
        self._log: list[dict] = []
        self._seq = 0
        if state:
            self._apply_state(state)
        else:
            self._seed()
            self.save_state()

    # ---- construction and persistence ----------------------------------------------------

    def _new_api(self) -> AccountingApi:
        return AccountingApi(self.clock, on_change=self._on_change)

    def _on_change(self, realm_id: str, entity: str, entity_id: str, operation: str, last_updated: datetime, extra: dict | None = None) -> None:
        self.webhooks.on_change(realm_id, entity, entity_id, operation, last_updated, extra)

    def _seed(self) -> None:
        for realm_id, name in self.seed_companies:
            self.api.add_company(realm_id, name)
        self.webhooks.reset()

    def _company_list(self) -> list[tuple[str, str]]:
        return [(realm_id, company.name) for realm_id, company in self.api.companies.items()]

    def _read_state_file(self) -> dict | None:
        if self.state_file is None or not self.state_file.exists():
            return None
        path = self.state_file
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise StateFileError(f"QBO emulator state file {path} is unreadable or corrupt ({exc}); refusing to start. "
                                 "Fix it, or move it away to start from a fresh seed.") from exc
        if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
            raise StateFileError(f"QBO emulator state file {path} is not an emulator state file; refusing to start.")
        if data.get("version") != STATE_VERSION:
            raise StateFileError(f"QBO emulator state file {path} has version {data.get('version')!r}, expected {STATE_VERSION}; refusing to start.")
        missing = [key for key in ("clock_offset", "accounting", "oauth") if key not in data]
        if missing:
            raise StateFileError(f"QBO emulator state file {path} is corrupt (missing {', '.join(missing)}); refusing to start.")
        return data

    def _apply_state(self, state: dict) -> None:
        try:
            self.api.load_state(state["accounting"])
            self.oauth.load_state(state["oauth"])
        except Exception as exc:
            raise StateFileError(f"QBO emulator state file {self.state_file} is corrupt ({type(exc).__name__}: {exc}); "
                                 "refusing to start.") from exc

    def state(self) -> dict:
        return {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "saved_at": datetime.now(timezone.utc).isoformat(),
            "clock_offset": self.clock.offset_seconds,
            "accounting": self.api.to_state(),
            "oauth": self.oauth.to_state(),
        }

    def save_state(self) -> None:
        """Write the state file atomically (temp file + rename); a no-op without a state file."""
        if self.state_file is None:
            return
        with self._lock:
            payload = json.dumps(self.state(), indent=1, default=str)
            directory = self.state_file.parent
            directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{self.state_file.name}.", suffix=".tmp", dir=directory)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(payload)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, self.state_file)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise

    # ---- the HTTP entry point ------------------------------------------------------------

    def take_slot(self, method: str, path_with_query: str, headers: dict[str, str]) -> Slot | None:
        """For a server, as soon as a request's headers arrive: an authorized Accounting API call takes its
        company's concurrency slot (or is refused one) before its body is read. Pass the slot to ``handle`` and
        release it when the answer is ready to be written. None for anything the limits don't cover."""
        request = _Request.parse(method, path_with_query, headers, b"")
        match = API_PATH.match(request.path)
        if match is None or self.oauth.check_access_token(request.bearer, match["realm"]) != "ok":
            return None
        return self.limits.take_slot(match["realm"])

    def handle(self, method: str, path_with_query: str, headers: dict[str, str] | None = None, body: bytes | str | None = b"",
               slot: Slot | None = None) -> Response:
        """Answer one HTTP request: ``(status, headers, body)``. Raises ``ConnectionDropped`` for a drop fault.
        ``slot``: the request's concurrency slot from ``take_slot``; without one, the call itself is counted."""
        request = _Request.parse(method, path_with_query, headers or {}, body)
        request.slot = slot
        rule = None if request.is_emulator_path else self.faults.take(
            request.method, request.path, request.body.decode("utf-8", "replace") if isinstance(request.body, bytes) else str(request.body or ""))
        started = time.monotonic()
        if rule is not None and rule.kind == "slow":
            request.delay = rule.delay
        if rule is not None and rule.kind in RESPONSE_KINDS:
            response = fault_response(rule.kind, self.clock.now())
        else:
            response = self._safe_route(request)
        if request.delay:
            time.sleep(request.delay)
        if not request.is_emulator_path:
            self._log_request(request, response[0], rule.kind if rule else None, time.monotonic() - started)
        if rule is not None and rule.kind == "drop":
            raise ConnectionDropped(response)
        return response

    def _safe_route(self, request: "_Request") -> Response:
        try:
            return self._route(request)
        except StateFileError:
            raise
        except Exception:
            # Never an HTML error page on API paths (qbo-api.md §11.2): a SystemFault in JSON.
            traceback.print_exc(file=sys.stderr)
            message = "An application error has occurred while processing your request"
            body = {"Fault": {"Error": [{"Message": message, "Detail": "System Failure Error: emulator exception", "code": "10000"}],
                              "type": "SystemFault"}, "time": qbo_time(self.clock.now())}
            return json_response(500, body)

    def _route(self, request: "_Request") -> Response:
        path = request.path
        if request.is_emulator_path and request.method not in SAFE_METHODS and request.from_another_site:
            # A page on another site must not drive the emulator (a form or fetch() it sends carries its Origin).
            return json_response(403, {"error": "cross-site requests to the emulator's control API and UI are refused"})
        if path.startswith("/_emulator/api/") or path == "/_emulator/api":
            return self._control(request)
        if path == "/_emulator" or path.startswith("/_emulator/"):
            from .ui import render

            response = render(self, request.method, path, request.params, request.body)
            if request.method == "POST":
                self.save_state()
            return response
        if path in OAUTH_PATHS:
            response = self.oauth.handle(request.method, path, request.params, request.headers, request.body, self._base_for(request))
            if request.method == "POST":
                self.save_state()
            return response  # type: ignore[return-value]
        match = API_PATH.match(path)
        if match:
            return self._accounting(request, match["realm"], match["subpath"])
        if path == "/":
            return 302, {"Location": "/_emulator/", "Content-Type": "text/plain"}, b""
        return not_found_fault(self.clock.now(), path)

    def _base_for(self, request: "_Request") -> str:
        host = request.headers.get("host")
        if host and request.from_socket:
            return f"http://{host}"
        return self.base_url

    def _accounting(self, request: "_Request", realm: str, subpath: str) -> Response:
        now = self.clock.now()
        verdict = self.oauth.check_access_token(request.bearer, realm)
        if verdict == "wrong_realm":
            return forbidden_fault(now, f"The access token was not issued for company {realm}")
        if verdict != "ok":
            # Expired, revoked or unknown tokens: 401 AuthenticationFailed 3200 (qbo-api.md §4.2, §6.5).
            return auth_fault(now, AUTH_DETAILS[verdict])
        is_batch = subpath.strip("/") == "batch"
        slot = request.slot
        if slot is not None and slot.refused:
            return throttle_fault(now)  # more than the concurrent limit in flight when its headers arrived
        if self.limits.enter(realm, is_batch, holding_slot=slot is not None):
            # Per-company limits (qbo-api.md §5).
            return throttle_fault(now)
        try:
            content_type = request.headers.get("content-type", "application/json")
            with self._lock:
                status, payload = self.api.handle(realm, request.method, subpath, request.params, request.body, content_type)
                if request.method != "GET":
                    self.save_state()
            if request.delay:
                # A slow reply keeps its concurrency slot while it waits.
                time.sleep(request.delay)
                request.delay = 0.0
        finally:
            if slot is None:
                self.limits.leave(realm)
        return json_response(status, payload)

    def _log_request(self, request: "_Request", status: int, fault: str | None, elapsed: float) -> None:
        match = API_PATH.match(request.path)
        with self._lock:
            self._seq += 1
            self._log.append({
                "seq": self._seq,
                "time": self.clock.now().isoformat(),
                "method": request.method,
                "path": request.path,
                "subpath": match["subpath"] if match else None,
                "realm": match["realm"] if match else None,
                "params": request.params,
                "status": status,
                "fault": fault,
                "elapsed_ms": round(elapsed * 1000, 1),
            })

    # ---- Python control API (the JSON control API maps onto these) -----------------------

    def reset(self, keep_tokens: bool = False) -> None:
        """Back to the seed: companies, faults, request log, webhooks, limits (and tokens unless kept)."""
        with self._lock:
            self.api = self._new_api()
            self._seed()
            self.faults.clear()
            self.limits.reset()
            self._log.clear()
            if not keep_tokens:
                self.oauth.reset()
            self.save_state()

    def companies(self) -> list[dict]:
        return [{"realm_id": realm_id, "name": name} for realm_id, name in self._company_list()]

    def add_company(self, realm_id: str, name: str) -> dict:
        with self._lock:
            self.api.add_company(realm_id, name)
            self.save_state()
        return {"realm_id": realm_id, "name": name}

    def dump(self, realm_id: str) -> dict:
        with self._lock:
            return self.api.dump(realm_id)

    company = dump

    def now(self) -> datetime:
        return self.clock.now()

    def advance(self, seconds: float) -> datetime:
        """Move emulator time forward (token expiry, CDC windows and webhook retries follow it)."""
        moment = self.clock.advance(seconds)
        self.save_state()
        return moment

    def add_fault(self, kind: str, method: str = "*", path: str = ".*", count: int | None = 1, delay: float = 0.0,
                  rate: float | None = None, body: str = "") -> dict:
        """``count`` matching requests fail; with ``rate``, each matching request fails with that probability
        (``count`` then caps the failures, ``None`` = for as long as the rule lives)."""
        return self.faults.add(kind, method, path, count, delay, rate, body).to_dict()

    def clear_faults(self) -> None:
        self.faults.clear()

    def requests(self, method: str | None = None, path: str | None = None, realm: str | None = None,
                 status: int | None = None, subpath: str | None = None) -> list[dict]:
        """The request log (OAuth and API traffic, not /_emulator/), filtered.

        ``path`` is a regex searched in the path; ``subpath`` must equal the part after
        ``/v3/company/<realm>/`` (e.g. ``"invoice"``).
        """
        with self._lock:
            entries = list(self._log)
        return [entry for entry in entries if _log_matches(entry, method, path, realm, status, subpath)]

    def count_requests(self, **filters: Any) -> int:
        return len(self.requests(**filters))

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()

    @property
    def token_stats(self) -> dict[str, int]:
        """Token-endpoint calls by grant type (``authorization_code``, ``refresh_token``), revocations, failures."""
        return dict(self.oauth.stats)

    def grants(self, realm_id: str | None = None) -> list[dict]:
        return self.oauth.grants(realm_id)

    def stats(self) -> dict:
        grants = self.oauth.grants()
        return {
            "tokens": self.token_stats,
            "grants": {"issued": len(grants), "revoked": sum(1 for grant in grants if grant["revoked"])},
            "limits": self.limits.counters(),
            "limit_config": dict(self.limits.config.__dict__),
            "requests": len(self._log),
            "webhooks": {"pending": len(self.webhooks.pending_events()), "attempts": len(self.webhooks.history),
                         "events": len(self.webhooks.events)},
        }

    def rate_counters(self, realm_id: str) -> dict:
        return self.limits.counters(realm_id)

    def configure_limits(self, **values: int | None) -> dict:
        return dict(self.limits.configure(**values).__dict__)

    def configure_webhooks(self, **values: Any) -> dict:
        return self.webhooks.configure(**values).to_dict()

    def flush_webhooks(self, force: bool = False) -> list[dict]:
        return self.webhooks.flush(force=force)

    def issue_tokens(self, realm_id: str, include_hard: bool = True) -> dict:
        """Mint tokens for a company without the consent flow (not counted as token-endpoint calls)."""
        with self._lock:
            tokens = self.oauth.issue_tokens(realm_id, include_hard=include_hard)
            self.save_state()
        return tokens

    def disconnect(self, realm_id: str) -> int:
        """Revoke every grant for the company, as a user disconnecting the app does."""
        with self._lock:
            count = self.oauth.revoke_realm(realm_id)
            self.save_state()
        return count

    def action(self, name: str, realm_id: str, *args: Any, **kwargs: Any) -> Any:
        """Run a bookkeeper action (emits webhooks like the API) and persist."""
        if name not in BOOKKEEPER_ACTIONS:
            raise ValueError(f"unknown action {name!r}; expected one of {', '.join(BOOKKEEPER_ACTIONS)}")
        with self._lock:
            result = getattr(self.api, name)(realm_id, *args, **kwargs)
            self.save_state()
        return result

    def record_payment(self, realm_id: str, invoice_id: str, amount: float | None = None) -> dict:
        return self.action("record_payment", realm_id, invoice_id, amount)

    def void_invoice(self, realm_id: str, invoice_id: str) -> Any:
        return self.action("void_invoice", realm_id, invoice_id)

    def delete_invoice(self, realm_id: str, invoice_id: str) -> Any:
        return self.action("delete_invoice", realm_id, invoice_id)

    def delete_payment(self, realm_id: str, payment_id: str) -> Any:
        return self.action("delete_payment", realm_id, payment_id)

    def void_payment(self, realm_id: str, payment_id: str) -> Any:
        return self.action("void_payment", realm_id, payment_id)

    def rename_customer(self, realm_id: str, customer_id: str, display_name: str) -> Any:
        return self.action("rename_customer", realm_id, customer_id, display_name)

    def merge_customers(self, realm_id: str, from_id: str, into_id: str) -> Any:
        return self.action("merge_customers", realm_id, from_id, into_id)

    def set_item_active(self, realm_id: str, item_id: str, active: bool) -> Any:
        return self.action("set_item_active", realm_id, item_id, active)

    def discovery_url(self) -> str:
        return f"{self.base_url}/.well-known/openid_configuration"

    def api_url(self) -> str:
        """The value for python-quickbooks' ``api_url_v3`` / ``sandbox_api_url_v3``."""
        return f"{self.base_url}/v3"

    def serve(self, host: str = "127.0.0.1", port: int = 0, webhook_thread: bool = True) -> "LiveServer":
        return LiveServer(self, host, port, webhook_thread).start()

    # ---- JSON control API ----------------------------------------------------------------

    def _control(self, request: "_Request") -> Response:
        route = request.path[len("/_emulator/api"):].strip("/")
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
            result = self._control_dispatch(request.method, route, request.params, data)
        except QboFault as fault:
            return json_response(fault.status, fault.body(self.clock.now()))
        except (KeyError, ValueError, TypeError, re.error) as exc:
            return json_response(400, {"error": f"{type(exc).__name__}: {exc}"})
        if result is None:
            return json_response(404, {"error": f"no control route {request.method} /_emulator/api/{route}"})
        return json_response(200, result)

    def _control_dispatch(self, method: str, route: str, params: dict[str, str], data: dict) -> Any:
        parts = route.split("/") if route else []
        handlers: dict[tuple[str, str], Callable[[], Any]] = {
            ("POST", "reset"): lambda: self.reset(bool(data.get("keep_tokens", False))) or {"ok": True},
            ("GET", "companies"): lambda: {"companies": self.companies()},
            ("POST", "companies"): lambda: self.add_company(str(data["realm_id"]), str(data["name"])),
            ("GET", "clock"): self._clock_json,
            ("POST", "clock/advance"): lambda: self.advance(float(data["seconds"])) and self._clock_json(),
            ("GET", "faults"): lambda: {"faults": self.faults.list()},
            ("POST", "faults"): lambda: self._add_fault_json(data),
            ("DELETE", "faults"): lambda: self.clear_faults() or {"ok": True},
            ("GET", "webhooks"): self.webhooks.snapshot,
            ("POST", "webhooks/flush"): lambda: {"attempts": self.flush_webhooks(bool(data.get("force", False))),
                                                 "pending": self.webhooks.pending()},
            ("POST", "webhooks/config"): lambda: {"config": self.configure_webhooks(**data)},
            ("GET", "requests"): lambda: {"requests": self._requests_json(params)},
            ("DELETE", "requests"): lambda: self.clear_requests() or {"ok": True},
            ("GET", "stats"): self.stats,
            ("GET", "grants"): lambda: {"grants": self.grants(params.get("realm") or None)},
            ("POST", "limits"): lambda: {"config": self.configure_limits(**data)},
            ("POST", "tokens"): lambda: self.issue_tokens(str(data["realm_id"]), bool(data.get("include_hard", True))),
        }
        handler = handlers.get((method, route))
        if handler is not None:
            return handler()
        if len(parts) == 2 and parts[0] == "companies" and method == "GET":
            return self.dump(parts[1]) if parts[1] in self.api.companies else None
        if len(parts) == 3 and parts[0] == "companies" and parts[2] == "disconnect" and method == "POST":
            return {"revoked_grants": self.disconnect(parts[1])}
        if len(parts) == 4 and parts[0] == "companies" and parts[2] == "actions" and method == "POST":
            return {"result": self.action(parts[3], parts[1], **data)}
        return None

    def _clock_json(self) -> dict:
        return {"now": self.clock.now().isoformat(), "offset_seconds": self.clock.offset_seconds}

    def _add_fault_json(self, data: dict) -> dict:
        rate = data.get("rate")
        rate = None if rate is None else float(rate)
        # With a rate and no count the rule lives until DELETE faults; without a rate one request fails by default.
        count = data.get("count", None if rate is not None else 1)
        return {"fault": self.add_fault(str(data["kind"]), data.get("method", "*"), data.get("path", ".*"),
                                        None if count is None else int(count), float(data.get("delay", 0) or 0), rate,
                                        str(data.get("body", "") or ""))}

    def _requests_json(self, params: dict[str, str]) -> list[dict]:
        status = int(params["status"]) if params.get("status") else None
        return self.requests(params.get("method") or None, params.get("path") or None, params.get("realm") or None,
                             status, params.get("subpath") or None)


def _log_matches(entry: dict, method: str | None, path: str | None, realm: str | None, status: int | None, subpath: str | None) -> bool:
    if method and entry["method"] != method.upper():
        return False
    if path and not re.search(path, entry["path"]):
        return False
    if realm and entry["realm"] != realm:
        return False
    if status is not None and entry["status"] != status:
        return False
    return not (subpath is not None and entry["subpath"] != subpath.strip("/"))


class _Request:
    def __init__(self, method: str, path: str, params: dict[str, str], headers: dict[str, str], body: bytes, from_socket: bool) -> None:
        self.method = method
        self.path = path
        self.params = params
        self.headers = headers
        self.body = body
        self.from_socket = from_socket
        self.delay = 0.0
        self.slot: Slot | None = None

    @classmethod
    def parse(cls, method: str, path_with_query: str, headers: dict[str, str], body: bytes | str | None) -> "_Request":
        parts = urlsplit(path_with_query)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        lowered = {str(key).lower(): str(value) for key, value in headers.items()}
        from_socket = lowered.pop("x-qbo-emulator-live", "") == "1"
        raw = body.encode("utf-8") if isinstance(body, str) else (body or b"")
        return cls(method.upper(), parts.path or "/", params, lowered, raw, from_socket)

    @property
    def is_emulator_path(self) -> bool:
        return self.path == "/_emulator" or self.path.startswith("/_emulator/")

    @property
    def media_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def from_another_site(self) -> bool:
        """Browsers say where a request comes from; scripts and test clients send neither header."""
        fetch_site = self.headers.get("sec-fetch-site", "")
        if fetch_site and fetch_site not in ("same-origin", "none"):
            return True
        origin = self.headers.get("origin")
        return origin is not None and urlsplit(origin).netloc != self.headers.get("host", "")

    @property
    def bearer(self) -> str | None:
        value = self.headers.get("authorization", "")
        return value[7:].strip() or None if value[:7].lower() == "bearer " else None


# ---- live HTTP server ------------------------------------------------------------------------

class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "QBOEmulator/1.0"
    server: "_HTTPServer"

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def _serve(self) -> None:
        headers = dict(self.headers.items())
        headers["X-Qbo-Emulator-Live"] = "1"
        slot = self.server.emulator.take_slot(self.command, self.path, headers)
        try:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, response_headers, payload = self.server.emulator.handle(self.command, self.path, headers, body, slot)
        except ConnectionDropped:
            self._drop()
            return
        finally:
            if slot is not None:
                slot.release()
        self._write(status, response_headers, payload)

    def _write(self, status: int, response_headers: dict[str, str], payload: bytes) -> None:
        self.send_response(status)
        for key, value in response_headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            try:
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

    def _drop(self) -> None:
        # The operation committed; close the socket without an HTTP answer.
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            sys.stderr.write("qbo-emulator %s - %s\n" % (self.address_string(), format % args))


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    emulator: Emulator
    verbose: bool = False


class LiveServer:
    """The emulator on a real socket, in a background thread."""

    def __init__(self, emulator: Emulator, host: str = "127.0.0.1", port: int = 0, webhook_thread: bool = True, verbose: bool = False) -> None:
        self.emulator = emulator
        self.host = host
        self.requested_port = port
        self.webhook_thread = webhook_thread
        self.verbose = verbose
        self.httpd: _HTTPServer | None = None
        self.thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self.httpd is not None, "server not started"
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> "LiveServer":
        self.httpd = _HTTPServer((self.host, self.requested_port), _Handler)
        self.httpd.emulator = self.emulator
        self.httpd.verbose = self.verbose
        self.emulator.base_url = self.url
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="qbo-emulator-http", daemon=True)
        self.thread.start()
        if self.webhook_thread:
            self.emulator.webhooks.start()
        return self

    def stop(self) -> None:
        self.emulator.webhooks.stop()
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
        if self.thread is not None:
            self.thread.join(timeout=5)
        self.httpd = None
        self.thread = None

    def __enter__(self) -> "LiveServer":
        return self if self.httpd else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---- WSGI ------------------------------------------------------------------------------------

def make_wsgi_app(emulator: Emulator) -> Callable:
    """A WSGI callable for any WSGI server. A ``drop`` fault closes the socket only where the
    server exposes it (``gunicorn.socket``); elsewhere the exception is left to the server."""

    def app(environ: dict, start_response: Callable) -> list[bytes]:
        path = quote(environ.get("PATH_INFO", "/"), safe="/:@!$&'()*+,;=-._~")
        query = environ.get("QUERY_STRING", "")
        method, target = environ["REQUEST_METHOD"], f"{path}?{query}" if query else path
        headers = {key[5:].replace("_", "-"): value for key, value in environ.items() if key.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["CONTENT-TYPE"] = environ["CONTENT_TYPE"]
        headers["X-Qbo-Emulator-Live"] = "1"
        slot = emulator.take_slot(method, target, headers)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            status, response_headers, payload = emulator.handle(method, target, headers, body, slot)
        except ConnectionDropped:
            sock = environ.get("gunicorn.socket")
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
            raise
        finally:
            if slot is not None:
                slot.release()
        start_response(f"{status} {HTTPStatus(status).phrase}", list(response_headers.items()) + [("Content-Length", str(len(payload)))])
        return [payload]

    return app
