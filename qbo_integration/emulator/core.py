"""``EmulatorCore``: every part of the emulator wired together, and the Python control API — no HTTP.

The parts: the accounting engine, OAuth, webhooks, fault injection, rate limits, the request log and the state
file, all on one ``Clock``. ``facade.Emulator`` adds the HTTP entry points; the JSON control API and the human UI
(``web/control``, ``ui/``) call the methods here.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from .clock import Clock
from .engine import SEEDED, AccountingApi, CompanyProfile, parse_profile
from .faults import FaultInjector
from .limits import RateLimiter
from .oauth import OAuthConfig, OAuthServer
from .persistence import read_state_file, restore, snapshot, write_state_file
from .requestlog import RequestLog
from .webhooks import Deliver, WebhookConfig, WebhookDispatcher

DEFAULT_COMPANIES: tuple[tuple[str, str], ...] = tuple((realm, name) for realm, name, _ in SEEDED)
DEFAULT_BASE_URL = "http://qbo.emulator.test"
DEFAULT_CLIENT_ID = "emulator-client-id"
DEFAULT_CLIENT_SECRET = "emulator-client-secret"
DEFAULT_REDIRECT_URI = "http://127.0.0.1:8000/api/quickbooks/callback"
DEFAULT_VERIFIER_TOKEN = "emulator-verifier-token"
BOOKKEEPER_ACTIONS = (
    "record_payment",
    "void_invoice",
    "delete_invoice",
    "delete_payment",
    "void_payment",
    "rename_customer",
    "merge_customers",
    "set_item_active",
    "update_preferences",
    "adjust_quantity",
    "issue_credit_memo",
    "apply_credit_memo",
    "refund_credit_memo",
    "create_sales_receipt",
    "void_sales_receipt",
    "delete_credit_memo",
    "delete_refund_receipt",
    "pay_bill",
    "delete_bill",
    "void_bill_payment",
    "delete_bill_payment",
)


class EmulatorCore:
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
        state = read_state_file(self.state_file)
        self.clock = clock or Clock(float(state["clock_offset"]) if state else 0.0)
        webhook_config = WebhookConfig(
            url=webhook_url, format=webhook_format, verifier_token=verifier_token, app_id=client_id
        )
        self.webhooks = WebhookDispatcher(self.clock, webhook_config, deliver, seed)
        oauth_config = OAuthConfig(client_id, client_secret, list(redirect_uris or [DEFAULT_REDIRECT_URI]))
        self.oauth = OAuthServer(self.clock, oauth_config, self._company_list)
        self.faults = FaultInjector(seed)
        self.limits = RateLimiter(self.clock)
        self.api = self._new_api()
        self.lock = threading.RLock()
        self.request_log = RequestLog(self.lock)
        if state:
            restore(self.state_file, state, self.api, self.oauth)
        else:
            self._seed()
            self.save_state()

    # ---- construction and persistence ----------------------------------------------------

    def _new_api(self) -> AccountingApi:
        return AccountingApi(self.clock, on_change=self._on_change, base_url=lambda: self.base_url)

    def _on_change(
        self,
        realm_id: str,
        entity: str,
        entity_id: str,
        operation: str,
        last_updated: datetime,
        extra: dict | None = None,
    ) -> None:
        self.webhooks.on_change(realm_id, entity, entity_id, operation, last_updated, extra)

    def _seed(self) -> None:
        for realm_id, name in self.seed_companies:
            self.api.add_company(realm_id, name)
        self.webhooks.reset()

    def _company_list(self) -> list[tuple[str, str, str]]:
        """(realm, name, what kind of company) for each company."""
        return [(realm, company.name, self.api.summary(realm)) for realm, company in self.api.companies.items()]

    def state(self) -> dict:
        return snapshot(self.clock, self.api, self.oauth)

    def save_state(self) -> None:
        """Write the state file atomically (temp file + rename); a no-op without a state file."""
        if self.state_file is None:
            return
        with self.lock:
            write_state_file(self.state_file, self.state())

    # ---- companies, clock, faults, requests ----------------------------------------------

    def reset(self, keep_tokens: bool = False) -> None:
        """Back to the seed: companies, faults, request log, webhooks, limits (and tokens unless kept)."""
        with self.lock:
            self.api = self._new_api()
            self._seed()
            self.faults.clear()
            self.limits.reset()
            self.request_log.clear()
            if not keep_tokens:
                self.oauth.reset()
            self.save_state()

    def companies(self) -> list[dict]:
        return [{"realm_id": realm, "name": name, "summary": summary} for realm, name, summary in self._company_list()]

    def add_company(self, realm_id: str, name: str, preferences: dict | None = None) -> dict:
        """A new company; ``preferences`` describes what kind (engine/profiles.py; ValueError if bad)."""
        profile = parse_profile(preferences) if preferences is not None else None
        with self.lock:
            company = self.api.add_company(realm_id, name, profile)
            self.save_state()
        return {"realm_id": realm_id, "name": company.name, "preferences": (profile or CompanyProfile()).describe()}

    def dump(self, realm_id: str) -> dict:
        with self.lock:
            return self.api.dump(realm_id)

    company = dump

    def sent_mail(self, realm_id: str) -> list[dict]:
        """The mail a company sent through ``/send`` (engine/delivery.py), oldest first: time, entity, Id,
        DocNumber, customer and the address it went to."""
        with self.lock:
            company = self.api.companies[realm_id]
            with company.lock:
                return [dict(mail) for mail in company.sent_mail]

    def now(self) -> datetime:
        return self.clock.now()

    def advance(self, seconds: float) -> datetime:
        """Move emulator time forward (token expiry, CDC windows and webhook retries follow it)."""
        moment = self.clock.advance(seconds)
        self.save_state()
        return moment

    def add_fault(
        self,
        kind: str,
        method: str = "*",
        path: str = ".*",
        count: int | None = 1,
        delay: float = 0.0,
        rate: float | None = None,
        body: str = "",
    ) -> dict:
        """``count`` matching requests fail; with ``rate``, each matching request fails with that probability
        (``count`` then caps the failures, ``None`` = for as long as the rule lives)."""
        return self.faults.add(kind, method, path, count, delay, rate, body).to_dict()

    def clear_faults(self) -> None:
        self.faults.clear()

    def requests(
        self,
        method: str | None = None,
        path: str | None = None,
        realm: str | None = None,
        status: int | None = None,
        subpath: str | None = None,
    ) -> list[dict]:
        """The request log (OAuth and API traffic, not /_emulator/), filtered.

        ``path`` is a regex searched in the path; ``subpath`` must equal the part after
        ``/v3/company/<realm>/`` (e.g. ``"invoice"``).
        """
        return self.request_log.entries(method, path, realm, status, subpath)

    def count_requests(self, **filters: Any) -> int:
        return len(self.requests(**filters))

    def clear_requests(self) -> None:
        self.request_log.clear()

    # ---- tokens, limits, webhooks, stats --------------------------------------------------

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
            "requests": len(self.request_log),
            "webhooks": {
                "pending": len(self.webhooks.pending_events()),
                "attempts": len(self.webhooks.history),
                "events": len(self.webhooks.events),
            },
        }

    def rate_counters(self, realm_id: str) -> dict:
        return self.limits.counters(realm_id)

    def configure_limits(self, **values: float | None) -> dict:
        return dict(self.limits.configure(**values).__dict__)

    def configure_webhooks(self, **values: Any) -> dict:
        return self.webhooks.configure(**values).to_dict()

    def flush_webhooks(self, force: bool = False) -> list[dict]:
        return self.webhooks.flush(force=force)

    def issue_tokens(self, realm_id: str, include_hard: bool = True) -> dict:
        """Mint tokens for a company without the consent flow (not counted as token-endpoint calls)."""
        with self.lock:
            tokens = self.oauth.issue_tokens(realm_id, include_hard=include_hard)
            self.save_state()
        return tokens

    def disconnect(self, realm_id: str) -> int:
        """Revoke every grant for the company, as a user disconnecting the app does."""
        with self.lock:
            count = self.oauth.revoke_realm(realm_id)
            self.save_state()
        return count

    def discovery_url(self) -> str:
        return f"{self.base_url}/.well-known/openid_configuration"

    def api_url(self) -> str:
        """The value for python-quickbooks' ``api_url_v3`` / ``sandbox_api_url_v3``."""
        return f"{self.base_url}/v3"

    # ---- bookkeeper actions (what a person does in QuickBooks) ------------------------------

    def action(self, name: str, realm_id: str, *args: Any, **kwargs: Any) -> Any:
        """Run a bookkeeper action (emits webhooks like the API) and persist."""
        if name not in BOOKKEEPER_ACTIONS:
            raise ValueError(f"unknown action {name!r}; expected one of {', '.join(BOOKKEEPER_ACTIONS)}")
        with self.lock:
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

    def update_preferences(self, realm_id: str, changes: dict) -> Any:
        return self.action("update_preferences", realm_id, changes)

    def adjust_quantity(self, realm_id: str, item_id: str, quantity: Any, as_of: str = "") -> dict:
        return self.action("adjust_quantity", realm_id, item_id, quantity, as_of)

    # money moving (engine/money_actions.py)

    def issue_credit_memo(self, realm_id: str, customer_id: str, amount: Any, item_id: str | None = None) -> dict:
        return self.action("issue_credit_memo", realm_id, customer_id, amount, item_id)

    def apply_credit_memo(self, realm_id: str, credit_memo_id: str, invoice_id: str, amount: Any = None) -> dict:
        return self.action("apply_credit_memo", realm_id, credit_memo_id, invoice_id, amount)

    def refund_credit_memo(
        self, realm_id: str, credit_memo_id: str, amount: Any = None, account_id: str | None = None
    ) -> dict:
        return self.action("refund_credit_memo", realm_id, credit_memo_id, amount, account_id)

    def create_sales_receipt(self, realm_id: str, customer_id: str, amount: Any, item_id: str | None = None) -> dict:
        return self.action("create_sales_receipt", realm_id, customer_id, amount, item_id)

    def void_sales_receipt(self, realm_id: str, sales_receipt_id: str) -> dict:
        return self.action("void_sales_receipt", realm_id, sales_receipt_id)

    def delete_credit_memo(self, realm_id: str, credit_memo_id: str) -> dict:
        return self.action("delete_credit_memo", realm_id, credit_memo_id)

    def delete_refund_receipt(self, realm_id: str, refund_receipt_id: str) -> dict:
        return self.action("delete_refund_receipt", realm_id, refund_receipt_id)

    # what the company owes (engine/bill_actions.py)

    def pay_bill(self, realm_id: str, bill_id: str, amount: Any = None, account_id: str | None = None) -> dict:
        return self.action("pay_bill", realm_id, bill_id, amount, account_id)

    def delete_bill(self, realm_id: str, bill_id: str) -> dict:
        return self.action("delete_bill", realm_id, bill_id)

    def void_bill_payment(self, realm_id: str, bill_payment_id: str) -> dict:
        return self.action("void_bill_payment", realm_id, bill_payment_id)

    def delete_bill_payment(self, realm_id: str, bill_payment_id: str) -> dict:
        return self.action("delete_bill_payment", realm_id, bill_payment_id)
