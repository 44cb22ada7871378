"""``AccountingApi``: every company of the emulator and the ``/v3/company/<realm>/...`` surface.

``handle`` answers one request the way QuickBooks Online does — ``(http_status, json_dict)``, faults returned
and never raised — with ``requestid`` replay (docs/quickbooks/api.md#idempotent-writes-requestid). Changes are reported
to ``on_change`` once the company lock is released, in the order they happened.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar
from urllib.parse import parse_qsl

from ..clock import Clock
from .actions import BookkeeperActions
from .books import Books
from .catalogue import MODELLED
from .company import Company, Event
from .entities.preferences import summary as company_summary
from .errors import QboFault, system_failure, too_long, unknown_company
from .profiles import SEEDED_PROFILES, CompanyProfile
from .routes import route
from .seed import seed_company
from .times import envelope_time, public_time
from .values import Obj

logger = logging.getLogger(__name__)

ChangeListener = Callable[[str, str, str, str, datetime, dict], None]
T = TypeVar("T")

REQUEST_ID_MAX = 50  # docs/quickbooks/api.md#idempotent-writes-requestid


class AccountingApi(BookkeeperActions):
    def __init__(
        self, clock: Clock, on_change: ChangeListener | None = None, base_url: Callable[[], str] | None = None
    ) -> None:
        self.clock = clock
        self.on_change = on_change
        self.base_url = base_url or (lambda: "")  # the emulator's own address, for links it hands out
        self.companies: dict[str, Company] = {}
        self._lock = threading.RLock()

    # --- companies and state --------------------------------------------------------------------

    def add_company(self, realm_id: str, name: str, profile: CompanyProfile | None = None) -> Company:
        """A new, seeded company: CompanyInfo and Preferences from its profile (a seeded realm's own when none is
        given), a small chart of accounts, Terms, and what the profile adds."""
        with self._lock:
            if realm_id in self.companies:
                raise ValueError(f"company {realm_id} already exists")
            company = Company(realm_id, name, self.clock)
            profile = profile or SEEDED_PROFILES.get(realm_id) or CompanyProfile()
            seed_company(Books(company, self.clock.now(), []), name, profile)
            self.companies[realm_id] = company
        return company

    def summary(self, realm_id: str) -> str:
        company = self._company(realm_id)
        with company.lock:
            return company_summary(Books(company, self.clock.now(), []))

    def to_state(self) -> Obj:
        with self._lock:
            companies = dict(self.companies)
        states = {}
        for realm_id, company in companies.items():
            with company.lock:
                states[realm_id] = company.to_state()
        return {"version": 1, "companies": states}

    def load_state(self, data: Obj) -> None:
        """Replace every company with ``data`` (from ``to_state``); ValueError if bad."""
        if not isinstance(data, dict) or not isinstance(data.get("companies"), dict):
            raise ValueError("invalid accounting state: no 'companies' mapping")  # noqa: TRY004
        loaded = {str(realm): Company.from_state(state, self.clock) for realm, state in data["companies"].items()}
        with self._lock:
            self.companies = loaded

    def dump(self, realm_id: str) -> Obj:
        """Every entity of a company (inactive and voided included) and deletions."""
        company = self._company(realm_id)
        with company.lock:
            books = Books(company, self.clock.now(), [])
            balances = books.customer_balances()
            return {
                "realmId": company.realm_id,
                "name": company.name,
                "entities": {
                    entity: [books.render(entity, o, balances=balances) for o in books.rows(entity)]
                    for entity in MODELLED
                },
                "deleted": [
                    {"entity": d["entity"], "Id": d["Id"], "time": public_time(d["time"])} for d in company.deleted
                ],
            }

    # --- HTTP surface -----------------------------------------------------------------------------

    def handle(
        self,
        realm_id: str,
        method: str,
        subpath: str,
        params: dict[str, str],
        body: bytes,
        content_type: str = "application/json",
    ) -> tuple[int, Obj]:
        """Answer one Accounting API request; faults are returned, never raised."""
        now = self.clock.now()
        path, _, query_string = subpath.partition("?")
        params = {**dict(parse_qsl(query_string)), **(params or {})}
        company = self.companies.get(realm_id)
        if company is None:  # docs/quickbooks/errors.md#http-statuses: wrong realm for the token
            fault = unknown_company(realm_id)
            return fault.status, fault.body(now)
        request_id = params.get("requestid") or None
        # docs/quickbooks/api.md#idempotent-writes-requestid
        if request_id is not None and len(request_id) > REQUEST_ID_MAX:
            fault = too_long("requestid", REQUEST_ID_MAX, len(request_id))
            return fault.status, fault.body(now)
        events: list[Event] = []
        with company.lock:
            if request_id is not None and request_id in company.responses:
                # docs/quickbooks/api.md#idempotent-writes-requestid: replay
                status, payload = company.responses[request_id]
                return status, copy.deepcopy(payload)
            status, payload = self._answer(company, method, path, params, body, now, events)
            if request_id is not None and status < 500:
                company.remember(request_id, status, payload)
        self._notify(realm_id, events)
        return status, copy.deepcopy(payload)

    def _answer(
        self,
        company: Company,
        method: str,
        path: str,
        params: dict[str, str],
        body: bytes,
        now: datetime,
        events: list[Event],
    ) -> tuple[int, Obj]:
        pending: list[Event] = []
        try:
            payload = route(company, method.upper(), path, params, body, now, pending, self.base_url())
        except QboFault as fault:
            return fault.status, fault.body(now)
        except Exception:  # never a traceback or HTML to the client (docs/quickbooks/errors.md#answers-are-json)
            logger.exception("QBO emulator failed on %s %s", method, path)
            fault = system_failure()
            return fault.status, fault.body(now)
        events.extend(pending)
        return 200, {**payload, "time": envelope_time(now)}

    # --- plumbing -----------------------------------------------------------------------------------

    def _company(self, realm_id: str) -> Company:
        company = self.companies.get(realm_id)
        if company is None:
            raise unknown_company(realm_id)
        return company

    def _act(self, realm_id: str, action: Callable[[Books], T]) -> T:
        company = self._company(realm_id)
        events: list[Event] = []
        with company.lock:
            result = action(Books(company, self.clock.now(), events))
        self._notify(realm_id, events)
        return result

    def _notify(self, realm_id: str, events: list[Event]) -> None:
        if self.on_change is None:
            return
        for event in events:
            try:
                self.on_change(realm_id, *event)
            except Exception:  # a listener must not break the API answer
                logger.exception("QBO emulator change listener failed for %s", event)
