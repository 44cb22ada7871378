"""The soak in order: set up, connect QuickBooks, faults on, the run phase, faults off, settle, check, print."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import requests

from loadtest.soak.checks import Checker
from loadtest.soak.common import DEFAULT_SERVER, HarnessError, Run, Seeded, realm_of, say
from loadtest.soak.faults import emulator_figures, faults_off, faults_on
from loadtest.soak.figures import print_figures
from loadtest.soak.processes import Cluster, SoakDatabase
from loadtest.soak.workload import Workload


class Soak:
    def __init__(self, opts: dict) -> None:
        self.opts = opts
        self.seed = opts["seed"] if opts["seed"] is not None else random.SystemRandom().randrange(1, 10**6)
        self.rng = random.Random(self.seed)
        self.cluster = Cluster(opts, self.seed)
        self.run_state = Run()
        self.timings: dict[str, float] = {}

    # ---- the whole run ---------------------------------------------------------------------------

    def run(self) -> None:
        started = time.monotonic()
        result: dict = {}
        db: SoakDatabase | None = None
        cluster = self.cluster
        try:
            server = self.opts["database_url"] or os.environ.get("DATABASE_URL", "")
            if not server.startswith("postgres"):
                server = DEFAULT_SERVER
            db = SoakDatabase(server)
            say(f"soak: seed {self.seed}, company {self.opts['company']}, database {db.name}, logs {cluster.logs}")
            workload = self._set_up(db)
            self.timings["setup"] = time.monotonic() - started
            mark = time.monotonic()
            self._connect()
            self._keep_broker_books()
            faults_on(cluster, self.opts)
            workload.run()
            self.timings["run"] = time.monotonic() - mark
            mark = time.monotonic()
            before_settle = emulator_figures(cluster)
            faults_off(cluster)
            cluster.settle()
            workload.estimator.convert_the_rest()
            self.timings["settle"] = time.monotonic() - mark
            mark = time.monotonic()
            checker = Checker(
                cluster,
                self.opts,
                self.run_state,
                workload.bookkeeper.plan,
                workload.estimate_ids,
                workload.cashier.plan,
                workload.cash_ids,
            )
            result = checker.check(before_settle)
            self.timings["check"] = time.monotonic() - mark
        finally:
            cluster.stop_all()
            if db is not None and not self.opts["keep"]:
                db.drop()
            if not self.opts["keep"]:
                shutil.rmtree(cluster.work, ignore_errors=True)
            else:
                say(f"soak: kept database {db.name if db else '-'} and {cluster.work}")
        self.timings["total"] = time.monotonic() - started
        result["timings"] = {k: round(v, 1) for k, v in self.timings.items()}
        result["seed"] = self.seed
        result["company"] = self.opts["company"]
        print_figures(self.opts, result)
        if self.opts["json"]:
            Path(self.opts["json"]).write_text(json.dumps(result, indent=1, default=str))
        if result.get("violations"):
            raise HarnessError(f"soak: {len(result['violations'])} violation(s); see above.")

    def _set_up(self, db: SoakDatabase) -> Workload:
        self.cluster.prepare(db)
        self.cluster.manage("migrate", "--noinput", log="migrate")
        seeded = self.cluster.phase("seed")
        data = Seeded(
            order_ids=seeded["orders"],
            estimate_ids=seeded["estimates"],
            cash_ids=seeded["cash"],
            numbers=seeded["numbers"],
            buyer_names=seeded["buyers"],
        )
        say(
            f"soak: seeded {len(data.order_ids)} orders, {len(data.buyer_names)} buyers, "
            f"{seeded['products']} products ({seeded['lines']} lines)"
        )
        self.cluster.start()
        return Workload(self.cluster, self.opts, self.seed, self.rng, self.run_state, data)

    # ---- 1. connect through the real OAuth flow --------------------------------------------------------

    def _connect(self) -> None:
        app_url = self.cluster.app_url
        admin = self.cluster.session("soak-admin")
        start = admin.get(f"{app_url}/api/quickbooks/connect", timeout=10, allow_redirects=False)
        if start.status_code != 302:
            raise HarnessError(f"/api/quickbooks/connect answered {start.status_code}")
        authorize = start.headers["Location"]
        page = requests.get(authorize, timeout=10)
        if page.status_code != 200:
            raise HarnessError(f"the consent page answered {page.status_code}")
        fields = {k: v[0] for k, v in parse_qs(urlparse(authorize).query).items()}
        consent = requests.post(
            authorize.split("?")[0],
            data=fields | {"realm_id": realm_of(self.opts), "action": "connect"},
            timeout=10,
            allow_redirects=False,
        )
        back = consent.headers.get("Location", "")
        query = parse_qs(urlparse(back).query)
        self.run_state.auth_code = (query.get("code") or [""])[0]  # searched for in the logs at the end
        done = admin.get(back, timeout=30, allow_redirects=True)
        status = admin.get(f"{app_url}/api/quickbooks/status", timeout=10).json()
        connected = "SELECT COUNT(*) FROM quickbooks_tokens WHERE state = 'connected'"
        if done.status_code != 200 or not self.cluster.db.scalar(connected):
            raise HarnessError(f"connecting QuickBooks failed (callback HTTP {done.status_code}; status {status})")
        say(f"soak: connected to QuickBooks company {realm_of(self.opts)} through the consent page")

    # ---- 2. the admin keeps the broker's books: a bill to the seller for each invoiced order --------------------

    def _keep_broker_books(self) -> None:
        """The Settings card, as an admin uses it: "A bill to the seller", booked to QuickBooks' Purchases account
        (docs/quickbooks/beyond.md#the-brokers-own-books; checked by broker_checks)."""
        app_url = self.cluster.app_url
        admin = self.cluster.session("soak-admin")
        page = admin.get(f"{app_url}/settings/quickbooks/", timeout=30).text
        found = re.search(r'<option value="(\d+)">Purchases \(Cost of Goods Sold\)</option>', page)
        if found is None:
            raise HarnessError("the Settings page offers no Purchases account for the sellers' bills")
        answer = admin.post(
            f"{app_url}/settings/quickbooks/broker-books/",
            data={
                "csrfmiddlewaretoken": admin.cookies["csrftoken"],
                "broker_books": "seller_bill",
                "seller_bill_account_id": found.group(1),
                "commission_item_id": "",
            },
            headers={"Referer": f"{app_url}/settings/quickbooks/"},
            timeout=30,
            allow_redirects=False,
        )
        if answer.status_code != 302:
            raise HarnessError(f"choosing the broker's books failed: HTTP {answer.status_code}")
        say("soak: the admin chose a bill to the seller for each invoiced order (Settings → the broker's own books)")
