"""Soak with faults (issue 7): the whole system keeps its promises together, under load and faults.

    python manage.py soak [--orders 300 --buyers 40 --products 80] [--database-url postgres://…] [--json FILE]

Real processes, each a child with its own log: PostgreSQL (a database `kadouri_soak_<pid>` created on the
server of `--database-url`, dropped at the end), the app served by gunicorn, the django-q2 worker
(`manage.py qcluster`) and the QuickBooks emulator (`manage.py qbo_emulator`), all pointed at each other by
environment variables. The soak then:

1. seeds buyers, products and draft orders marked ready, and connects QuickBooks through the real OAuth flow
   (log in, /api/quickbooks/connect, the emulator's consent form, the callback);
2. turns on the emulator's faults — `--fault-rate` (20 %) of every Accounting API request answers 429, 500
   or 503, replies slowly (under and over the app's read timeout) or commits and then drops the connection —
   and webhook trouble: `--webhook-drop` (10 %) of deliveries lost, `--webhook-duplicate` sent twice, batches
   reordered;
3. pushes every order at once through the UI's "Push all pending" (a real form post, progress polled) and the
   JSON API (`--clients` threads, some double-submitting the same order); `--estimate-share` of the orders go as
   estimates instead and are converted to invoices moments later, into their own webhooks (the race that once
   linked an order to another order's invoice); meanwhile a bookkeeper records full and
   partial payments, voids invoices, deletes a few payments and renames customers in the emulator; the
   worker is killed with SIGKILL in the middle of the bulk push and restarted, then "Push all pending" is
   clicked again;
4. stops the faults and lets the system settle: due sync jobs and inbox retries run (the worker's schedules
   run the same functions; the soak triggers them so it need not wait for the minute tick), and
   `manage.py qbo_catchup` runs CDC, until nothing is pending;
5. checks and prints figures: one QuickBooks document per order (by DocNumber, in the emulator's dump), no
   duplicate customers or items, every order's status/balance/payment status equal to QuickBooks', every
   bookkeeper change reflected, no job or inbox event stuck or failed, each UI push Done with at least 90 % of
   its orders sent in batch requests (a hiccup is resent as the same batch, a killed push resumed), each order's
   story in its activity log, and no secret (tokens from the database, the authorization code, client secret,
   verifier token, SECRET_KEY) in any process log. Any violation → exit status 1.

Retry timing is compressed so the run fits in minutes (production keeps the defaults, see .env.example):
sync-job backoff base 2 s, a dead worker's job reclaimed after 20 s, a 429 pauses the company 2 s, inbox
backoff 2-32 s, inbox lease 20 s, QuickBooks read timeout 4 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

REALM = "9130350000000001"
BASE_DIR = Path(settings.BASE_DIR)
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"
HTTP_TIMEOUT = 4.0  # the app's QuickBooks read timeout in the soak (QBO_HTTP_TIMEOUT)
# How long the estimator waits for Kadouri to accept a step (its job busy with a retry) before it moves on to the
# next order; the rest are finished after settling, so the estimates never hold the run phase up.
ESTIMATE_PATIENCE = 10.0
COMPRESSED_TIMING = {
    "QBO_HTTP_TIMEOUT": str(HTTP_TIMEOUT),
    "QBO_RETRY_BASE_SECONDS": "2",
    "QBO_JOB_STUCK_AFTER_SECONDS": "20",
    "QBO_THROTTLE_PAUSE_SECONDS": "2",
    "QBO_INBOX_BACKOFF_SECONDS": "2,4,8,16,32",
    "QBO_INBOX_LEASE_SECONDS": "20",
}
# Shares of the transient faults (they add up to --fault-rate of all Accounting API requests).
FAULT_MIX = (
    ("429", {}, 0.1),  # each one pauses the whole company (client.py), so fewer of them
    ("500", {}, 0.25),
    ("503", {}, 0.25),
    ("slow", {"delay": 1.5}, 0.15),  # slow but answered in time
    ("slow", {"delay": HTTP_TIMEOUT + 1.5}, 0.1),  # slower than the read timeout: committed, answer lost
    ("drop", {}, 0.15),  # committed, then the connection is closed without an answer
)


# The progress fragment's figures, as the page polls them (templates/qbo_integration/_bulk_progress.html).
PROGRESS = re.compile(r'data-state="(?P<state>\w+)" data-total="(?P<total>\d+)" data-pushed="(?P<pushed>\d+)" '
                      r'data-failed="(?P<failed>\d+)" data-retrying="(?P<retrying>\d+)"')
# Each "Push all pending" clicked during the faults must end Done with at least this share of its orders sent in
# batch requests: a hiccup is resent as the same batch, not handed to one-by-one retries.
MIN_BATCHED_SHARE = 0.9


# ==== the orchestrator ==========================================================================

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _money(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class SoakDatabase:
    """The soak's own PostgreSQL database, polled with psycopg (the app runs in the children)."""

    def __init__(self, server_url: str) -> None:
        parsed = urlparse(server_url)
        if not parsed.scheme.startswith("postgres"):
            raise CommandError(f"--database-url must be a PostgreSQL URL, not {parsed.scheme or server_url!r}.")
        self.name = f"kadouri_soak_{os.getpid()}"
        self.admin_url = parsed._replace(path="/postgres").geturl()
        self.url = parsed._replace(path=f"/{self.name}").geturl()
        self._admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        self._admin(f"CREATE DATABASE {self.name}")

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql)

    def rows(self, sql: str, *params) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.url, connect_timeout=10) as conn:
            return conn.execute(sql, params).fetchall()

    def scalar(self, sql: str, *params):
        rows = self.rows(sql, *params)
        return rows[0][0] if rows else None

    def drop(self) -> None:
        self._admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


@dataclass
class Child:
    name: str
    argv: list[str]
    log: Path
    proc: subprocess.Popen | None = None
    stopped: bool = False  # never signal a group twice: its id could belong to someone else by then


@dataclass
class Run:
    """What the threads of the run phase record (all under `lock`)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    api_statuses: Counter = field(default_factory=Counter)
    api_errors: list[str] = field(default_factory=list)
    double_submits: int = 0
    api_requests: int = 0
    ui_pushes: list[dict] = field(default_factory=list)
    ui_errors: list[str] = field(default_factory=list)
    estimate_statuses: Counter = field(default_factory=Counter)
    estimate_errors: list[str] = field(default_factory=list)
    # Orders whose estimate job was still being retried after ESTIMATE_PATIENCE: finished after settling
    # (order id, whether its estimate was accepted).
    unconverted: list[tuple[int, bool]] = field(default_factory=list)
    actions: list[dict] = field(default_factory=list)
    action_errors: list[str] = field(default_factory=list)
    kill: dict = field(default_factory=dict)
    restarted: threading.Event = field(default_factory=threading.Event)
    stop_bookkeeper: threading.Event = field(default_factory=threading.Event)
    auth_code: str = ""


class Command(BaseCommand):
    help = "Soak with faults: app, worker, emulator and PostgreSQL as real processes; prints figures, exits 1 on a violation."

    def add_arguments(self, parser):
        parser.add_argument("--orders", type=int, default=300)
        parser.add_argument("--buyers", type=int, default=40)
        parser.add_argument("--products", type=int, default=80)
        parser.add_argument("--sellers", type=int, default=6)
        parser.add_argument("--clients", type=int, default=6, help="concurrent API client threads")
        parser.add_argument("--double-submit", type=float, default=0.15, help="share of API orders sent twice at once")
        parser.add_argument("--api-share", type=float, default=0.6, help="share of orders also pushed through the API")
        parser.add_argument("--estimate-share", type=float, default=0.15,
                            help="share of orders pushed as estimates (not marked ready) and converted to invoices")
        parser.add_argument("--fault-rate", type=float, default=0.2)
        parser.add_argument("--webhook-drop", type=float, default=0.1)
        parser.add_argument("--webhook-duplicate", type=float, default=0.15)
        parser.add_argument("--no-reorder", action="store_true")
        parser.add_argument("--web-workers", type=int, default=3)
        parser.add_argument("--q-workers", type=int, default=3)
        parser.add_argument("--seed", type=int, default=None, help="random seed (default: random, printed)")
        parser.add_argument("--database-url", default="",
                            help=f"a PostgreSQL URL; its server hosts the soak database (default: DATABASE_URL if PostgreSQL, else {DEFAULT_SERVER})")
        parser.add_argument("--run-timeout", type=float, default=600.0, help="seconds for the faulty run phase")
        parser.add_argument("--settle-timeout", type=float, default=300.0, help="seconds to settle after the faults stop")
        parser.add_argument("--json", default="", help="also write the figures and violations to this file")
        parser.add_argument("--keep", action="store_true", help="keep the database and the logs (paths are printed)")
        # Internal: phases run inside the children's environment (the soak database).
        parser.add_argument("--phase", choices=["seed", "tick", "check"], help=argparse.SUPPRESS)
        parser.add_argument("--work-dir", default="", help=argparse.SUPPRESS)

    # ---- entry ----------------------------------------------------------------------------------

    def handle(self, *args, **opts):
        if opts["phase"]:
            return Phases(self, opts).run()
        return Soak(self, opts).run()


class Soak:
    def __init__(self, command: Command, opts: dict) -> None:
        self.cmd, self.opts = command, opts
        self.seed = opts["seed"] if opts["seed"] is not None else random.SystemRandom().randrange(1, 10**6)
        self.rng = random.Random(self.seed)
        self.work = Path(tempfile.mkdtemp(prefix="kadouri-soak-"))
        self.logs = self.work / "logs"
        self.logs.mkdir()
        self.children: dict[str, Child] = {}
        self.run_state = Run()
        self.timings: dict[str, float] = {}
        self.db: SoakDatabase | None = None

    def say(self, text: str) -> None:
        self.cmd.stdout.write(text)
        self.cmd.stdout.flush()

    # ---- the whole run ---------------------------------------------------------------------------

    def run(self) -> None:
        started = time.monotonic()
        result: dict = {}
        try:
            server = self.opts["database_url"] or os.environ.get("DATABASE_URL", "")
            if not server.startswith("postgres"):
                server = DEFAULT_SERVER
            self.db = SoakDatabase(server)
            self.say(f"soak: seed {self.seed}, database {self.db.name}, logs {self.logs}")
            self._set_up()
            self.timings["setup"] = time.monotonic() - started
            mark = time.monotonic()
            self._connect()
            self._faults_on()
            self._run_phase()
            self.timings["run"] = time.monotonic() - mark
            mark = time.monotonic()
            before_settle = self._emulator_figures()
            self._faults_off()
            self._settle()
            self._convert_the_rest()
            self.timings["settle"] = time.monotonic() - mark
            mark = time.monotonic()
            result = self._check(before_settle)
            self.timings["check"] = time.monotonic() - mark
        finally:
            self._stop_all()
            if self.db is not None and not self.opts["keep"]:
                self.db.drop()
            if not self.opts["keep"]:
                shutil.rmtree(self.work, ignore_errors=True)
            else:
                self.say(f"soak: kept database {self.db.name if self.db else '-'} and {self.work}")
        self.timings["total"] = time.monotonic() - started
        result["timings"] = {k: round(v, 1) for k, v in self.timings.items()}
        result["seed"] = self.seed
        self._print(result)
        if self.opts["json"]:
            Path(self.opts["json"]).write_text(json.dumps(result, indent=1, default=str))
        if result.get("violations"):
            raise CommandError(f"soak: {len(result['violations'])} violation(s); see above.")

    # ---- processes --------------------------------------------------------------------------------

    def _set_up(self) -> None:
        self.app_port, self.emu_port = _free_port(), _free_port()
        self.app_url, self.emu_url = f"http://127.0.0.1:{self.app_port}", f"http://127.0.0.1:{self.emu_port}"
        from cryptography.fernet import Fernet

        self.secrets = {
            "SECRET_KEY": secrets.token_urlsafe(50),
            "QBO_CLIENT_SECRET": "soak-secret-" + secrets.token_urlsafe(24),
            "QBO_WEBHOOK_VERIFIER_TOKEN": "soak-verifier-" + secrets.token_urlsafe(24),
        }
        self.password = secrets.token_urlsafe(16)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("QBO_", "DJANGO_", "DATABASE_", "Q_", "SECURE_", "SESSION_", "CSRF_"))}
        env |= {
            "DJANGO_SETTINGS_MODULE": "kadouri.test_settings", "DATABASE_URL": self.db.url, "DEBUG": "false",
            "SECURE_SSL_REDIRECT": "false", "SESSION_COOKIE_SECURE": "false", "CSRF_COOKIE_SECURE": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost", "Q_SYNC": "false", "Q_WORKERS": str(self.opts["q_workers"]),
            "LOG_LEVEL": "INFO", "OAUTHLIB_INSECURE_TRANSPORT": "1", "PYTHONUNBUFFERED": "1",
            "QBO_ENVIRONMENT": "emulator", "QBO_EMULATOR_URL": self.emu_url, "QBO_CLIENT_ID": "soak-client",
            "QBO_REDIRECT_URI": f"{self.app_url}/api/quickbooks/callback",
            "QBO_TOKEN_KEYS": Fernet.generate_key().decode(), "SOAK_PASSWORD": self.password,
            **self.secrets, **COMPRESSED_TIMING,
        }
        self.env = env
        self._manage("migrate", "--noinput", log="migrate")
        seeded = self._phase("seed")
        self.order_ids: list[int] = seeded["orders"]
        self.estimate_ids: list[int] = seeded["estimates"]
        self.numbers: dict[str, int] = seeded["numbers"]
        self.buyer_names: list[str] = seeded["buyers"]
        self.say(f"soak: seeded {len(self.order_ids)} orders, {len(self.buyer_names)} buyers, "
                 f"{seeded['products']} products ({seeded['lines']} lines)")
        # The client secret and verifier token reach the emulator by environment, never on a command line.
        self._spawn("emulator", [sys.executable, "manage.py", "qbo_emulator", "--port", str(self.emu_port),
                                 "--client-id", "soak-client", "--redirect-uri", f"{self.app_url}/api/quickbooks/callback",
                                 "--webhook-url", f"{self.app_url}/api/quickbooks/webhook", "--seed", str(self.seed)])
        self._spawn("gunicorn", [sys.executable, "-m", "gunicorn", "kadouri.wsgi", "-b", f"127.0.0.1:{self.app_port}",
                                 "-w", str(self.opts["web_workers"]), "-k", "gthread", "--threads", "8",
                                 "--timeout", "120", "--graceful-timeout", "5", "--log-level", "info"])
        self._spawn("worker", [sys.executable, "manage.py", "qcluster"])
        self._wait_up(f"{self.emu_url}/_emulator/api/clock", "emulator")
        self._wait_up(f"{self.app_url}/login/", "app")

    def _manage(self, *args: str, log: str, timeout: float = 600) -> str:
        path = self.logs / f"{log}.log"
        with path.open("a") as out:
            result = subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=self.env, stdout=subprocess.PIPE,
                                    stderr=out, text=True, timeout=timeout)
            out.write(result.stdout)
        if result.returncode:
            raise CommandError(f"manage.py {' '.join(args)} failed (exit {result.returncode}); see {path}:\n"
                               + path.read_text()[-3000:])
        return result.stdout

    def _phase(self, phase: str, **extra) -> dict:
        args = ["soak", "--phase", phase, "--work-dir", str(self.work), "--seed", str(self.seed),
                "--orders", str(self.opts["orders"]), "--buyers", str(self.opts["buyers"]),
                "--products", str(self.opts["products"]), "--sellers", str(self.opts["sellers"])]
        out = self._manage(*args, log=f"phase-{phase}")
        line = next((line for line in out.splitlines() if line.startswith("SOAK-JSON ")), None)
        if line is None:
            raise CommandError(f"soak phase {phase} printed no result")
        return json.loads(line.split(" ", 1)[1])

    def _spawn(self, name: str, argv: list[str]) -> Child:
        count = sum(1 for key in self.children if key.startswith(name))
        log = self.logs / (f"{name}.log" if not count else f"{name}-{count + 1}.log")
        child = Child(name, argv, log)
        child.proc = subprocess.Popen(argv, cwd=BASE_DIR, env=self.env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                                      start_new_session=True)  # its own process group: qcluster forks workers
        self.children[name if not count else f"{name}-{count + 1}"] = child
        self.children[name] = child
        return child

    def _wait_up(self, url: str, what: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(url, timeout=2).status_code < 500:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise CommandError(f"the {what} did not come up within 60 s")

    def _signal(self, child: Child, sig: int) -> None:
        if child.proc is None:
            return
        try:
            os.killpg(child.proc.pid, sig)
        except ProcessLookupError:
            pass

    def _stop(self, child: Child) -> None:
        if child.proc is None or child.stopped:
            return
        child.stopped = True
        if child.proc.poll() is None:
            self._signal(child, signal.SIGTERM)
            try:
                child.proc.wait(timeout=8)
            except subprocess.TimeoutExpired:
                pass
        self._signal(child, signal.SIGKILL)  # stragglers of its group (qcluster's workers), if any
        if child.proc.poll() is None:
            child.proc.wait(timeout=10)

    def _stop_all(self) -> None:
        live = [self.children[name] for name in ("worker", "gunicorn", "emulator") if name in self.children]
        with ThreadPoolExecutor(len(live) or 1) as pool:  # in parallel: qcluster takes a few seconds to stop
            list(pool.map(self._stop, live))

    # ---- HTTP helpers -------------------------------------------------------------------------------

    def _session(self, username: str) -> requests.Session:
        session = requests.Session()
        session.get(f"{self.app_url}/login/", timeout=10)
        answer = session.post(f"{self.app_url}/login/", data={
            "username": username, "password": self.password, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
            timeout=10, allow_redirects=False)
        if answer.status_code != 302:
            raise CommandError(f"log-in as {username} failed: HTTP {answer.status_code}")
        return session

    def _emu(self, method: str, path: str, **kwargs):
        answer = requests.request(method, f"{self.emu_url}/_emulator/api/{path}", timeout=30, **kwargs)
        if answer.status_code != 200:
            raise RuntimeError(f"emulator {method} {path}: HTTP {answer.status_code} {answer.text[:300]}")
        return answer.json()

    # ---- 1. connect through the real OAuth flow --------------------------------------------------------

    def _connect(self) -> None:
        admin = self._session("soak-admin")
        start = admin.get(f"{self.app_url}/api/quickbooks/connect", timeout=10, allow_redirects=False)
        if start.status_code != 302:
            raise CommandError(f"/api/quickbooks/connect answered {start.status_code}")
        authorize = start.headers["Location"]
        page = requests.get(authorize, timeout=10)
        if page.status_code != 200:
            raise CommandError(f"the consent page answered {page.status_code}")
        fields = {k: v[0] for k, v in parse_qs(urlparse(authorize).query).items()}
        consent = requests.post(authorize.split("?")[0], data=fields | {"realm_id": REALM, "action": "connect"},
                                timeout=10, allow_redirects=False)
        back = consent.headers.get("Location", "")
        query = parse_qs(urlparse(back).query)
        self.run_state.auth_code = (query.get("code") or [""])[0]  # searched for in the logs at the end
        done = admin.get(back, timeout=30, allow_redirects=True)
        status = admin.get(f"{self.app_url}/api/quickbooks/status", timeout=10).json()
        if done.status_code != 200 or not self.db.scalar("SELECT COUNT(*) FROM quickbooks_tokens WHERE state = 'connected'"):
            raise CommandError(f"connecting QuickBooks failed (callback HTTP {done.status_code}; status {status})")
        self.say(f"soak: connected to QuickBooks company {REALM} through the consent page")

    # ---- 2. faults -------------------------------------------------------------------------------------

    def _fault_rates(self) -> list[tuple[str, dict, float]]:
        """Per-rule probabilities whose union is --fault-rate (the rules roll one after another)."""
        total = self.opts["fault_rate"]
        if total <= 0:
            return []
        weight = sum(w for _, _, w in FAULT_MIX)
        return [(kind, extra, 1 - (1 - total) ** (w / weight)) for kind, extra, w in FAULT_MIX]

    def _faults_on(self) -> None:
        self._emu("POST", "clock/advance", json={"seconds": 0})
        for kind, extra, rate in self._fault_rates():
            self._emu("POST", "faults", json={"kind": kind, "path": r"^/v3/company/", "rate": round(rate, 6), **extra})
        self._emu("POST", "webhooks/config", json={
            "drop_rate": self.opts["webhook_drop"], "duplicate_rate": self.opts["webhook_duplicate"],
            "reorder": not self.opts["no_reorder"], "batch_window": 0.5})
        kinds = ", ".join(kind + (f" {extra['delay']:g}s" if "delay" in extra else "") for kind, extra, _ in FAULT_MIX)
        self.say(f"soak: faults on — {self.opts['fault_rate']:.0%} of API requests ({kinds}), "
                 f"webhooks dropped {self.opts['webhook_drop']:.0%}, duplicated {self.opts['webhook_duplicate']:.0%}, "
                 f"reordered {'yes' if not self.opts['no_reorder'] else 'no'}")

    def _faults_off(self) -> None:
        self._emu("DELETE", "faults")
        self._emu("POST", "webhooks/config", json={"drop_rate": 0, "duplicate_rate": 0, "reorder": False})
        self.say("soak: faults off; settling")

    # ---- 3. the run phase ---------------------------------------------------------------------------------

    def _run_phase(self) -> None:
        deadline = time.monotonic() + self.opts["run_timeout"]
        invoice_orders = [o for o in self.order_ids if o not in set(self.estimate_ids)]
        api_orders = self.rng.sample(invoice_orders, round(len(invoice_orders) * self.opts["api_share"]))
        doubles = set(self.rng.sample(api_orders, round(len(api_orders) * self.opts["double_submit"])))
        self.plan = self._bookkeeper_plan()
        threads = [threading.Thread(target=self._ui_pusher, args=(deadline,), name="ui", daemon=True),
                   threading.Thread(target=self._chaos, args=(deadline,), name="chaos", daemon=True),
                   threading.Thread(target=self._bookkeeper, args=(deadline,), name="bookkeeper", daemon=True),
                   threading.Thread(target=self._estimator, args=(deadline,), name="estimator", daemon=True)]
        shares = [api_orders[i::self.opts["clients"]] for i in range(self.opts["clients"])]
        threads += [threading.Thread(target=self._api_client, args=(n, share, doubles, deadline), name=f"api-{n}", daemon=True)
                    for n, share in enumerate(shares)]
        for thread in threads:
            thread.start()
        for thread in threads:
            if thread.name != "bookkeeper":
                thread.join(max(deadline - time.monotonic(), 1))
        # The bookkeeper keeps acting while faults are on until its plan is done (invoices appear as they are pushed).
        while time.monotonic() < deadline and not self._plan_done():
            time.sleep(0.5)
        self.run_state.stop_bookkeeper.set()
        threads[2].join(30)
        st = self.run_state
        self.say(f"soak: run phase over — API {dict(st.api_statuses)}, UI pushes {len(st.ui_pushes)}, "
                 f"estimates {dict(st.estimate_statuses)}, bookkeeper actions {len(st.actions)}")

    def _api_client(self, n: int, orders: list[int], doubles: set[int], deadline: float) -> None:
        rng = random.Random(self.seed * 1000 + n)
        try:
            session, twin = self._session(f"soak-staff-{n % 3}"), self._session(f"soak-staff-{n % 3}")
        except Exception as e:  # noqa: BLE001  (recorded, and a violation)
            with self.run_state.lock:
                self.run_state.api_errors.append(f"client {n}: log-in failed: {e}")
            return

        def post(s: requests.Session, order_id: int) -> None:
            try:
                answer = s.post(f"{self.app_url}/api/quickbooks/sync/order/{order_id}", json={"docType": "invoice"},
                                headers={"X-CSRFToken": s.cookies["csrftoken"]}, timeout=90)
                status = answer.status_code
                if status >= 500 and status not in (502, 503):
                    detail = f"order {order_id}: HTTP {status} {answer.text[:200]}"
                elif status in (502,):
                    detail = f"order {order_id}: HTTP 502 {answer.json().get('error', '')[:200]}"
                else:
                    detail = ""
            except requests.RequestException as e:
                status, detail = 0, f"order {order_id}: {e.__class__.__name__}"
            with self.run_state.lock:
                self.run_state.api_statuses[status] += 1
                self.run_state.api_requests += 1
                if detail:
                    self.run_state.api_errors.append(detail)

        with ThreadPoolExecutor(2) as pool:
            for order_id in orders:
                if time.monotonic() > deadline:
                    return
                if order_id in doubles:  # a double click: the same order twice at the same moment
                    list(pool.map(lambda s: post(s, order_id), (session, twin)))
                    with self.run_state.lock:
                        self.run_state.double_submits += 1
                else:
                    post(session, order_id)
                time.sleep(rng.uniform(0, 0.05))

    def _estimator(self, deadline: float) -> None:
        """Create Estimate, then Convert to Invoice a moment later: the conversion runs while the estimate's own
        webhooks (delayed, duplicated, reordered) are processed — the race that once moved an order onto the
        estimate's id taken as an invoice id, another order's invoice."""
        rng = random.Random(self.seed + 11)
        try:
            session = self._session("soak-staff-1")
        except Exception as e:  # noqa: BLE001  (recorded, and a violation)
            with self.run_state.lock:
                self.run_state.estimate_errors.append(f"log-in failed: {e}")
            return
        delays = {order_id: rng.uniform(0.0, 1.5) for order_id in self.estimate_ids}

        def estimate_then_convert(order_id: int) -> None:
            url = f"{self.app_url}/api/quickbooks/sync/order/{order_id}"
            created = self._until_accepted(session, url, {"docType": "estimate"},
                                           min(deadline, time.monotonic() + ESTIMATE_PATIENCE))
            converted = (0, "not tried")
            if not self._busy(*created):
                time.sleep(delays[order_id])
                converted = self._until_accepted(session, f"{url}/convert", {},
                                                 min(deadline, time.monotonic() + ESTIMATE_PATIENCE))
            with self.run_state.lock:
                self.run_state.estimate_statuses[f"estimate {created[0]}, convert {converted[0]}"] += 1
                if self._busy(*created) or self._busy(*converted):  # a job still waits for its retry: later
                    self.run_state.unconverted.append((order_id, not self._busy(*created)))
                elif converted[0] not in (200, 202) and not self._converted_meanwhile(*converted):
                    self.run_state.estimate_errors.append(f"order {order_id}: estimate {created}, convert {converted}")

        with ThreadPoolExecutor(6) as pool:
            list(pool.map(estimate_then_convert, self.estimate_ids))

    def _until_accepted(self, session: requests.Session, url: str, body: dict, deadline: float) -> tuple[int, str]:
        """POSTs until Kadouri accepts (200 done, 202 queued) or refuses for good; waits while QuickBooks is
        busy (502/503, a dropped connection) or the order's previous job still runs (409 "already working")."""
        while True:
            try:
                answer = session.post(url, json=body, headers={"X-CSRFToken": session.cookies["csrftoken"]}, timeout=90)
                status, error = answer.status_code, str(answer.json().get("error", ""))[:200]
            except (requests.RequestException, ValueError) as e:
                status, error = 0, e.__class__.__name__
            if not self._busy(status, error) or time.monotonic() > deadline:
                return status, error
            time.sleep(0.5)

    @staticmethod
    def _converted_meanwhile(status: int, error: str) -> bool:
        """A retried Convert whose first try converted the estimate (answer lost): the check phase verifies it."""
        return status == 409 and "posted as an invoice" in error

    @staticmethod
    def _busy(status: int, error: str) -> bool:
        return status in (0, 502, 503) or (status == 409 and "already working" in error)

    def _convert_the_rest(self) -> None:
        """Estimates whose jobs were still being retried after ESTIMATE_PATIENCE are finished now, settled."""
        st = self.run_state
        if not st.unconverted:
            return
        session, deadline = self._session("soak-staff-1"), time.monotonic() + 60
        for order_id, created in st.unconverted:
            url = f"{self.app_url}/api/quickbooks/sync/order/{order_id}"
            if not created:
                self._until_accepted(session, url, {"docType": "estimate"}, deadline)
                self._settle()
            status, error = self._until_accepted(session, f"{url}/convert", {}, deadline)
            with st.lock:
                st.estimate_statuses[f"convert after settling {status}"] += 1
                if status not in (200, 202) and not self._converted_meanwhile(status, error):
                    st.estimate_errors.append(f"order {order_id}: convert after settling {status} {error}")
        self._settle()

    def _ui_pusher(self, deadline: float) -> None:
        """"Push all pending" on the page, as a person does: at the start, and again after the worker restarts."""
        try:
            session = self._session("soak-staff-0")
            self._ui_push(session, deadline, "at start")
            self.run_state.restarted.wait(max(deadline - time.monotonic(), 1))
            self._ui_push(session, deadline, "after the worker restart")
        except Exception as e:  # noqa: BLE001
            with self.run_state.lock:
                self.run_state.ui_errors.append(f"{e.__class__.__name__}: {e}")

    def _ui_push(self, session: requests.Session, deadline: float, when: str) -> None:
        page = session.get(f"{self.app_url}/settings/quickbooks/push/", timeout=30)
        pending = re.search(r'data-testid="pending-count"><strong>(\d+)</strong>', page.text)
        answer = session.post(f"{self.app_url}/settings/quickbooks/push/", timeout=30,
                              data={"csrfmiddlewaretoken": session.cookies["csrftoken"]},
                              headers={"Referer": f"{self.app_url}/settings/quickbooks/push/"})
        found = re.search(r"/settings/quickbooks/push/(\d+)/progress/", answer.text)
        record = {"when": when, "pending_on_page": int(pending.group(1)) if pending else None,
                  "http": answer.status_code, "bulk_id": None, "state": None}
        if found is None:  # already finished before the page was drawn: the latest run is on the page
            bulk = self.db.rows("SELECT id, state, total, succeeded, failed FROM quickbooks_bulk_pushes ORDER BY id DESC LIMIT 1")
            record |= {"bulk_id": bulk[0][0] if bulk else None}
        else:
            record["bulk_id"] = int(found.group(1))
        with self.run_state.lock:
            self.run_state.ui_pushes.append(record)
        if record["bulk_id"] is None:
            return
        # Poll the progress fragment the page polls (htmx, every second) until the run ends (or 2 minutes).
        polls, until = 0, min(deadline, time.monotonic() + 120)
        while time.monotonic() < until:
            fragment = session.get(f"{self.app_url}/settings/quickbooks/push/{record['bulk_id']}/progress/", timeout=30)
            polls += 1
            state = PROGRESS.search(fragment.text)
            if state:
                record |= {"state": state["state"], "pushed": int(state["pushed"]), "attention": int(state["failed"]),
                           "of": int(state["total"]), "polls": polls}
                if state["state"] not in ("queued", "running"):
                    return
            if self.run_state.restarted.is_set() and when == "at start":
                return  # the worker died under this run; the second click tells what happens next
            time.sleep(1)

    def _chaos(self, deadline: float) -> None:
        """SIGKILL the worker's process group in the middle of the bulk push, then start it again."""
        started = time.monotonic()
        worker = self.children["worker"]
        while time.monotonic() < deadline:
            # Mid-bulk push when it can be caught there (it claims its jobs first); else mid-run all the same.
            states = [row[0] for row in self.db.rows("SELECT state FROM quickbooks_bulk_pushes")]
            jobs = self.db.scalar("SELECT COUNT(*) FROM quickbooks_sync_jobs WHERE state = 'running' AND bulk_push_id IS NOT NULL")
            if ("running" in states and jobs) or any(s in ("done", "failed") for s in states) or time.monotonic() - started > 30:
                break
            time.sleep(0.05)
        time.sleep(self.rng.uniform(0.05, 0.4))  # somewhere inside the run, not at its first instant
        snapshot = {
            "at_s": round(time.monotonic() - started, 1),
            "bulk": self.db.rows("SELECT id, state, total, succeeded, failed FROM quickbooks_bulk_pushes ORDER BY id"),
            "jobs_running": self.db.scalar("SELECT COUNT(*) FROM quickbooks_sync_jobs WHERE state = 'running'"),
            "inbox_lease_held": bool(self.db.scalar("SELECT COUNT(*) FROM quickbooks_inbox_leases WHERE holder <> ''")),
        }
        self._signal(worker, signal.SIGKILL)
        worker.stopped = True
        worker.proc.wait(timeout=10)
        time.sleep(2)
        self._spawn("worker", [sys.executable, "manage.py", "qcluster"])
        snapshot["restarted_after_s"] = 2
        with self.run_state.lock:
            self.run_state.kill = snapshot
        self.run_state.restarted.set()
        self.say(f"soak: worker SIGKILLed at {snapshot['at_s']} s (bulk {snapshot['bulk']}, {snapshot['jobs_running']} "
                 f"jobs running, inbox lease held: {snapshot['inbox_lease_held']}) and restarted")

    # ---- the bookkeeper -------------------------------------------------------------------------------------

    def _bookkeeper_plan(self) -> dict[str, int]:
        n = len(self.order_ids)
        return {"pay_full": round(n * 0.22), "pay_partial": round(n * 0.10), "pay_partial_then_full": round(n * 0.05),
                "void": max(1, round(n * 0.06)), "pay_then_delete": max(1, round(n * 0.03)),
                "rename": max(1, round(len(self.buyer_names) * 0.25))}

    def _plan_done(self) -> bool:
        with self.run_state.lock:
            done = Counter(a["plan"] for a in self.run_state.actions if a.get("final"))
        return all(done[k] >= v for k, v in self.plan.items())

    def _bookkeeper(self, deadline: float) -> None:
        rng = random.Random(self.seed + 7)
        touched: set[str] = set()
        renamed: set[str] = set()
        follow_ups: list[tuple[float, str, dict]] = []  # (due, plan, args): second steps come a little later
        done: Counter = Counter()
        while not self.run_state.stop_bookkeeper.is_set() and time.monotonic() < deadline:
            try:
                books = self._emu("GET", f"companies/{REALM}")["entities"]
            except Exception:  # noqa: BLE001  (the emulator is busy; look again)
                time.sleep(0.5)
                continue
            now = time.monotonic()
            for due, plan, args in [f for f in follow_ups if f[0] <= now]:
                follow_ups.remove((due, plan, args))
                self._act(plan, args, final=True)
                done[plan] += 1
            invoices = [i for i in books["Invoice"] if i.get("DocNumber") in self.numbers and i["Id"] not in touched
                        and Decimal(str(i.get("Balance", 0))) > 0]
            rng.shuffle(invoices)
            wanted = [p for p in ("pay_full", "pay_partial", "pay_partial_then_full", "void", "pay_then_delete")
                      for _ in range(self.plan[p] - done[p] - sum(1 for f in follow_ups if f[1] == p))]
            rng.shuffle(wanted)
            for invoice, plan in zip(invoices[:3], wanted):  # a few per look: bookkeepers work at human speed
                touched.add(invoice["Id"])
                balance = _money(invoice["Balance"])
                if plan == "pay_full":
                    self._act(plan, {"action": "record_payment", "invoice_id": invoice["Id"]}, final=True)
                    done[plan] += 1
                elif plan == "pay_partial":
                    amount = max(_money(balance * Decimal(str(rng.uniform(0.2, 0.8)))), Decimal("0.01"))
                    self._act(plan, {"action": "record_payment", "invoice_id": invoice["Id"], "amount": str(amount)}, final=True)
                    done[plan] += 1
                elif plan == "pay_partial_then_full":
                    amount = max(_money(balance * Decimal("0.4")), Decimal("0.01"))
                    self._act(plan, {"action": "record_payment", "invoice_id": invoice["Id"], "amount": str(amount)}, final=False)
                    follow_ups.append((now + rng.uniform(1, 4), plan, {"action": "record_payment", "invoice_id": invoice["Id"]}))
                elif plan == "void":
                    self._act(plan, {"action": "void_invoice", "invoice_id": invoice["Id"]}, final=True)
                    done[plan] += 1
                elif plan == "pay_then_delete":
                    payment = self._act(plan, {"action": "record_payment", "invoice_id": invoice["Id"]}, final=False)
                    if payment:
                        follow_ups.append((now + rng.uniform(1, 4), plan, {"action": "delete_payment", "payment_id": payment["Id"],
                                                                             "invoice_id": invoice["Id"]}))
            if done["rename"] < self.plan["rename"]:
                ours = [c for c in books["Customer"] if c.get("DisplayName") in self.buyer_names and c["Id"] not in renamed]
                if ours:
                    customer = rng.choice(ours)
                    renamed.add(customer["Id"])
                    self._act("rename", {"action": "rename_customer", "customer_id": customer["Id"],
                                         "display_name": f"{customer['DisplayName']} (renamed {len(renamed)})"}, final=True)
                    done["rename"] += 1
            if all(done[k] >= v for k, v in self.plan.items()):
                return
            time.sleep(rng.uniform(0.3, 0.8))

    def _act(self, plan: str, args: dict, *, final: bool) -> dict | None:
        action = args["action"]
        body = {k: v for k, v in args.items() if k not in ("action",) and not (action == "delete_payment" and k == "invoice_id")}
        try:
            result = self._emu("POST", f"companies/{REALM}/actions/{action}", json=body)["result"]
        except Exception as e:  # noqa: BLE001  (e.g. a refused void; recorded, not a violation by itself)
            with self.run_state.lock:
                self.run_state.action_errors.append(f"{plan} {args}: {e}")
            return None
        with self.run_state.lock:
            self.run_state.actions.append({"plan": plan, "final": final, "at": time.time(), **args})
        return result

    # ---- 4. settle -----------------------------------------------------------------------------------------

    def _emulator_figures(self) -> dict:
        return {"faults": self._emu("GET", "faults")["faults"], "stats": self._emu("GET", "stats")}

    def _settle(self) -> None:
        deadline = time.monotonic() + self.opts["settle_timeout"]
        catchups, quiet_checks, ticks = 0, 0, 0
        while time.monotonic() < deadline:
            self._emu("POST", "webhooks/flush", json={"force": True})
            tick = self._phase("tick")
            ticks += 1
            webhooks_pending = len(self._emu("GET", "webhooks")["pending"])
            busy = tick["jobs_active"] + tick["inbox_pending"] + tick["bulk_active"] + webhooks_pending
            if busy:
                quiet_checks = 0
                time.sleep(min(max(tick.get("next_due_in", 1.0), 0.5), 5))
                continue
            # Nothing pending: catch up with QuickBooks (what webhooks lost), then look again.
            self._manage("qbo_catchup", log="catchup")
            catchups += 1
            quiet_checks += 1
            if quiet_checks >= 2:
                break
        self.settle_figures = {"ticks": ticks, "catchups": catchups, "quiet": quiet_checks >= 2}
        self.say(f"soak: settled={'yes' if quiet_checks >= 2 else 'NO (timeout)'} after {ticks} drain ticks and "
                 f"{catchups} catch-up runs")

    # ---- 5. check ----------------------------------------------------------------------------------------------

    def _check(self, before_settle: dict) -> dict:
        dump = self._emu("GET", f"companies/{REALM}")
        hooks = self._emu("GET", "webhooks")
        requests_total = self._emu("GET", "stats")["requests"]
        (self.work / "dump.json").write_text(json.dumps(dump))
        with self.run_state.lock:
            (self.work / "actions.json").write_text(json.dumps(self.run_state.actions))
        secret_file = self.work / "secrets.json"
        secret_file.write_text(json.dumps({"authorization code": self.run_state.auth_code}))
        secret_file.chmod(0o600)
        self._stop_all()  # logs complete before they are searched
        result = self._phase("check")
        st = self.run_state
        outcomes = Counter(h["outcome"] for h in hooks["history"])
        fired = Counter()
        seen = 0
        for rule in before_settle["faults"]:
            fired[rule["kind"] + (f" {rule['delay']:g}s" if rule["kind"] == "slow" else "")] += rule["fired"]
            seen = max(seen, rule["seen"])
        limits = before_settle["stats"]["limits"].get(REALM, {})
        result["run"] = {
            "api_requests": st.api_requests, "api_statuses": dict(sorted(st.api_statuses.items())),
            "double_submits": st.double_submits, "api_errors": st.api_errors[:20], "ui_pushes": st.ui_pushes,
            "ui_errors": st.ui_errors, "worker_kill": st.kill, "bookkeeper_plan": self.plan,
            "estimates": dict(st.estimate_statuses), "estimate_errors": st.estimate_errors[:10],
            "bookkeeper_actions": dict(Counter(a["action"] for a in st.actions)),
            "bookkeeper_refused": st.action_errors[:10], "settle": getattr(self, "settle_figures", {}),
        }
        result["emulator"] = {
            "api_requests_during_faults": before_settle["stats"]["requests"], "fault_rules_saw": seen,
            "faults_fired": dict(fired), "faults_total": sum(fired.values()),
            "fault_share": round(sum(fired.values()) / seen, 3) if seen else 0,
            "limiter_throttled": limits.get("throttled", 0), "max_concurrent": limits.get("max_concurrent", 0),
            "webhook_events": len({e for h in hooks["history"] for e in h["event_ids"]}),
            "webhook_attempts": dict(outcomes), "requests_total": requests_total,
        }
        violations = result.setdefault("violations", [])
        if st.api_errors:
            violations.append(f"{len(st.api_errors)} API answers were errors other than 409/422/503/202 (first: {st.api_errors[0]})")
        if st.ui_errors:
            violations.append(f"the UI push failed: {st.ui_errors[0]}")
        violations += self._ui_push_verdicts(st.ui_pushes)
        if st.estimate_errors:
            violations.append(f"{len(st.estimate_errors)} estimates were not converted (first: {st.estimate_errors[0]})")
        if self.estimate_ids and not st.estimate_statuses:
            violations.append("no estimate was created and converted")
        if not st.kill:
            violations.append("the worker was never killed")
        if not getattr(self, "settle_figures", {}).get("quiet"):
            violations.append("the system did not settle before --settle-timeout")
        if self.opts["fault_rate"] and not fired:
            violations.append("no fault fired")
        return result

    def _ui_push_verdicts(self, pushes: list[dict]) -> list[str]:
        """Each UI push as it ended (read after settling): Done, with its orders sent in batch requests."""
        verdicts = []
        for push in pushes:
            row = self.db.rows("SELECT state, total, succeeded, failed, retrying, resumes FROM quickbooks_bulk_pushes "
                               "WHERE id = %s", push.get("bulk_id") or 0)
            if not row:
                verdicts.append(f"UI push {push['when']}: no push was started")
                continue
            state, total, succeeded, failed, retrying, resumes = row[0]
            share = succeeded / total if total else 1.0
            push |= {"final": state, "of": total, "pushed": succeeded, "failed": failed, "retrying": retrying,
                     "resumes": resumes, "batched_share": round(share, 3)}
            if state != "done" or share < MIN_BATCHED_SHARE:
                verdicts.append(f"UI push {push['when']} (#{push['bulk_id']}) ended {state} with {succeeded} of {total} "
                                f"orders pushed in batch requests ({failed} failed, {retrying} handed to their own "
                                f"retry); expected done and at least {MIN_BATCHED_SHARE:.0%}")
        return verdicts

    # ---- printing -------------------------------------------------------------------------------------------

    def _print(self, result: dict) -> None:
        w = self.say
        f = result.get("figures", {})
        run, emu = result.get("run", {}), result.get("emulator", {})
        t = result.get("timings", {})
        w("")
        w(f"Soak with faults — {self.opts['orders']} orders, {self.opts['buyers']} buyers, {self.opts['products']} products; "
          f"seed {result.get('seed')}; PostgreSQL, gunicorn {self.opts['web_workers']}×8 threads, "
          f"django-q2 {self.opts['q_workers']} workers, emulator, {os.cpu_count()} CPUs")
        rows = [
            ("Timings (s)", f"setup {t.get('setup')} · run {t.get('run')} · settle {t.get('settle')} · check {t.get('check')} · total {t.get('total')}"),
            ("API pushes", f"{run.get('api_requests')} requests ({run.get('double_submits')} double submits) → {run.get('api_statuses')}"),
            ("UI bulk pushes", "; ".join(f"{p['when']}: #{p.get('bulk_id')} {p.get('final', p.get('state'))} "
                                         f"{p.get('pushed', '?')}/{p.get('of', '?')} in batches "
                                         f"({p.get('batched_share', 0):.0%}; resumed {p.get('resumes', 0)}×)"
                                         for p in run.get("ui_pushes", [])) or "-"),
            ("Estimates converted", json.dumps(run.get("estimates"))),
            ("Worker kill", json.dumps(run.get("worker_kill"), default=str)),
            ("Faults injected", f"{emu.get('faults_total')} of {emu.get('fault_rules_saw')} API requests "
                                f"({emu.get('fault_share', 0):.1%}): {emu.get('faults_fired')}; limiter 429s {emu.get('limiter_throttled')}"),
            ("Webhooks", f"{emu.get('webhook_events')} events; attempts {emu.get('webhook_attempts')}"),
            ("Bookkeeper", f"{run.get('bookkeeper_actions')} (plan {run.get('bookkeeper_plan')}; refused {len(run.get('bookkeeper_refused', []))})"),
            ("Settle", json.dumps(run.get("settle"))),
        ]
        rows += [(name, value) for name, value in f.items()]
        width = max(len(name) for name, _ in rows)
        for name, value in rows:
            w(f"  {name.ljust(width)}  {value}")
        violations = result.get("violations", [])
        w(f"Violations: {len(violations)}")
        for v in violations:
            w(f"  ✗ {v}")


# ==== phases that run inside the soak's environment (its database) ===============================

class Phases:
    def __init__(self, command: Command, opts: dict) -> None:
        self.cmd, self.opts = command, opts

    def run(self) -> None:
        data = getattr(self, self.opts["phase"])()
        self.cmd.stdout.write("SOAK-JSON " + json.dumps(data, default=str))

    # ---- seed --------------------------------------------------------------------------------------

    def seed(self) -> dict:
        from datetime import timedelta

        from django.contrib.auth import get_user_model
        from django.db import transaction
        from django.utils import timezone

        from accounts.models import Account
        from orders.models import Order
        from orders.services import LineInput, order_create
        from products.models import Product

        rng = random.Random(self.opts["seed"])
        password = os.environ["SOAK_PASSWORD"]
        User = get_user_model()
        with transaction.atomic():
            User.objects.create_superuser("soak-admin", password=password, first_name="Soak", last_name="Admin")
            staff = [User.objects.create_user(f"soak-staff-{n}", password=password, first_name="Staff", last_name=str(n),
                                              is_staff=True) for n in range(3)]
            sellers = [Account.objects.create(name=f"Soak Seller {n:02d} Growers", code=f"SS{n:02d}") for n in range(self.opts["sellers"])]
            fruit = ["Avocado", "Mango", "Lime", "Tomato", "Pepper", "Onion", "Grape", "Melon", "Kale", "Berry"]
            buyers = [Account.objects.create(
                name=f"Soak Buyer {n:03d} {rng.choice(['Market', 'Foods', 'Grocers', 'Café', 'Produce'])}", code=f"SB{n:03d}",
                email=f"buyer{n}@example.com", phone="555-0100", address_line1=f"{n} Market Street", city="Los Angeles",
                region="CA", postal_code="90021") for n in range(self.opts["buyers"])]
            products = [Product.objects.create(name=f"Soak {fruit[n % len(fruit)]} {n:03d}", sku=f"SK{n:03d}",
                                               unit_price=Decimal(rng.randrange(150, 9000)) / 100)
                        for n in range(self.opts["products"])]
            orders, lines, estimates = [], 0, []
            for n in range(self.opts["orders"]):
                chosen = rng.sample(products, rng.randint(1, 4))
                as_estimate = rng.random() < self.opts["estimate_share"]
                order = order_create(fields={
                    "seller": rng.choice(sellers), "buyer": buyers[n % len(buyers)] if n < len(buyers) else rng.choice(buyers),
                    "order_date": timezone.localdate() - timedelta(days=rng.randrange(0, 20)),
                    "terms": rng.choice(Order.Terms.values), "notes": f"Soak order {n}",
                    "commission_rate": Decimal(rng.randrange(0, 1000)) / 100, "ready_to_push": not as_estimate},
                    lines=[LineInput(product=p, quantity=Decimal(rng.randrange(1, 400)), size=rng.choice(["", "48ct", "10 lb"]),
                                     grade=rng.choice(["", "No. 1", "Fancy"])) for p in chosen],
                    by=rng.choice(staff))
                orders.append(order)
                estimates += [order.pk] if as_estimate else []
                lines += len(chosen)
        return {"orders": [o.pk for o in orders], "estimates": estimates, "numbers": {o.number: o.pk for o in orders},
                "buyers": [b.name for b in buyers], "products": len(products), "lines": lines}

    # ---- tick: what the worker's schedules run, triggered now -------------------------------------------

    def tick(self) -> dict:
        from django.utils import timezone

        from qbo_integration import handlers, sync
        from qbo_integration.models import BulkPush, QboSyncJob, QboWebhookEvent

        ran = sync.qbo_jobs_process_due(limit=500)
        processed = handlers.inbox_process_due()
        active = QboSyncJob.objects.filter(state__in=["pending", "running"])
        next_due = active.filter(state="pending").order_by("not_before").values_list("not_before", flat=True).first()
        pending_events = QboWebhookEvent.objects.filter(status__in=["pending", "processing"])
        next_event = pending_events.order_by("not_before").values_list("not_before", flat=True).first()
        dues = [d for d in (next_due, next_event) if d is not None]
        return {"ran": ran, "processed": processed, "jobs_active": active.count(), "inbox_pending": pending_events.count(),
                "bulk_active": BulkPush.objects.filter(state__in=["queued", "running"]).count(),
                "next_due_in": min(((d - timezone.now()).total_seconds() for d in dues), default=1.0)}

    # ---- check ------------------------------------------------------------------------------------------

    def check(self) -> dict:  # noqa: C901  (one list of checks, read top to bottom)
        from django.conf import settings as dj

        from accounts.models import Account
        from orders.models import Order, OrderActivity
        from products.models import Product
        from qbo_integration.documents.reading import is_voided as invoice_is_voided
        from qbo_integration.invariants import order_invariant_violations
        from qbo_integration.models import BulkPush, QboConnection, QboSyncJob, QboWebhookEvent

        work = Path(self.opts["work_dir"])
        dump = json.loads((work / "dump.json").read_text())["entities"]
        actions = json.loads((work / "actions.json").read_text())
        extra_secrets = json.loads((work / "secrets.json").read_text())
        violations: list[str] = []
        figures: dict[str, str] = {}

        orders = {o.pk: o for o in Order.objects.all()}
        by_number = {o.number: o for o in orders.values()}
        invoices = dump["Invoice"]
        docs: dict[str, list[dict]] = defaultdict(list)
        for invoice in invoices:
            docs[str(invoice.get("DocNumber"))].append(invoice)

        # 1. exactly one QuickBooks document per order
        per_order = Counter(min(len(docs.get(o.number, [])), 2) for o in orders.values())
        orphans = [n for n in docs if n not in by_number]
        unlinked = [o.number for o in orders.values() if len(docs.get(o.number, [])) == 1
                    and (o.qbo_doc_type, o.qbo_doc_id) != ("invoice", docs[o.number][0]["Id"])]
        wrong_links = [o.number for o in orders.values() if o.qbo_link_problem]
        estimated = set(OrderActivity.objects.filter(activity_type="estimate_created").values_list("order_id", flat=True))
        converted = {e.get("DocNumber") for e in dump["Estimate"] if e.get("TxnStatus") == "Closed"
                     and e.get("DocNumber") in by_number
                     and any(link.get("TxnType") == "Invoice" and link.get("TxnId") == by_number[e["DocNumber"]].qbo_doc_id
                             for link in e.get("LinkedTxn") or [])}
        estimates = [e for e in dump["Estimate"] if e.get("DocNumber") in by_number
                     and (by_number[e["DocNumber"]].pk not in estimated or e["DocNumber"] not in converted)]
        figures["One document per order"] = (f"{per_order[1]}/{len(orders)} orders have exactly one invoice "
                                             f"(none: {per_order[0]}, two or more: {per_order[2]}); "
                                             f"{len(invoices)} invoices in QuickBooks, {len(orphans)} not an order's, "
                                             f"{len(unlinked)} not linked to their order; {len(estimated)} orders went "
                                             f"as estimates, {len(converted)} converted into their own invoice, "
                                             f"{len(estimates)} estimates not accounted for; wrong links {len(wrong_links)}")
        if per_order[1] != len(orders):
            missing = [o.number for o in orders.values() if len(docs.get(o.number, [])) != 1][:10]
            violations.append(f"{len(orders) - per_order[1]} orders do not have exactly one QuickBooks invoice: {missing}")
        inconsistent = [v for o in orders.values() for v in order_invariant_violations(o)]
        figures["Order invariants"] = f"{len(orders) - len({v.split(':')[0] for v in inconsistent})}/{len(orders)} consistent"
        if inconsistent:
            violations.append(f"{len(inconsistent)} order invariant(s) broken: {inconsistent[:5]}")
        if orphans or unlinked or estimates or wrong_links:
            violations.append(f"documents not matching an order: orphans {orphans[:5]}, unlinked {unlinked[:5]}, "
                              f"estimates not converted into their order's invoice {[e.get('DocNumber') for e in estimates][:5]}, "
                              f"wrong links {wrong_links[:5]}")

        # 2. no duplicate customers or items
        customers = Counter(c["DisplayName"].casefold() for c in dump["Customer"])
        items = Counter(i["Name"].casefold() for i in dump["Item"])
        dup_customers = [name for name, n in customers.items() if n > 1]
        dup_items = [name for name, n in items.items() if n > 1]
        buyers = Account.objects.filter(orders_as_buyer__isnull=False).distinct()
        products_used = Product.objects.filter(order_lines__isnull=False).distinct()
        customer_ids = Counter(a.qbo_customer_id for a in Account.objects.exclude(qbo_customer_id__isnull=True))
        item_ids = Counter(p.qbo_item_id for p in Product.objects.exclude(qbo_item_id__isnull=True))
        shared = [i for i, n in list(customer_ids.items()) + list(item_ids.items()) if n > 1]
        soak_customers = [c for c in dump["Customer"] if c["Id"] in customer_ids]
        figures["Customers and items"] = (f"{len(dump['Customer'])} customers for {buyers.count()} buyers "
                                          f"({len(soak_customers)} linked), {len(dump['Item'])} items for "
                                          f"{products_used.count()} products used; duplicates: "
                                          f"{len(dup_customers)} customer names, {len(dup_items)} item names, {len(shared)} shared ids")
        if dup_customers or dup_items or shared:
            violations.append(f"duplicates: customers {dup_customers[:5]}, items {dup_items[:5]}, shared ids {shared[:5]}")
        if len(dump["Customer"]) != buyers.count() or len(soak_customers) != buyers.count():
            violations.append(f"{len(dump['Customer'])} QuickBooks customers ({len(soak_customers)} linked) for {buyers.count()} buyers")
        if len([i for i in dump["Item"] if i["Id"] in item_ids]) != products_used.count():
            violations.append(f"{len(dump['Item'])} QuickBooks items for {products_used.count()} products used")

        # 3. every order equals QuickBooks: status, balance, payment status
        mismatches = []
        state_counts = Counter()
        for number, order in by_number.items():
            found = docs.get(number, [])
            if len(found) != 1:
                continue
            invoice = found[0]
            total, balance = _money(invoice.get("TotalAmt", 0)), _money(invoice.get("Balance", 0))
            if invoice_is_voided(invoice):
                expect = ("cancelled", None, Decimal("0.00"))
            elif balance == 0 and total > 0:
                expect = ("paid", "paid", balance)
            elif balance < total:
                expect = ("posted_to_qb", "partial", balance)
            else:
                expect = ("posted_to_qb", "unpaid", balance)
            state_counts[expect[0] + ("" if expect[1] in (None, "paid") else f"/{expect[1]}")] += 1
            got = (order.status, order.payment_status if expect[1] else None, order.qbo_balance)
            if got != expect:
                mismatches.append(f"{number}: Kadouri {got[0]}/{order.payment_status}/{order.qbo_balance} vs QuickBooks "
                                  f"{expect[0]}/{expect[1]}/{expect[2]} (total {total})")
        figures["Orders equal QuickBooks"] = (f"{sum(state_counts.values()) - len(mismatches)}/{sum(state_counts.values())} "
                                              f"match (status, balance, payment status); QuickBooks states {dict(state_counts)}")
        if mismatches:
            violations.append(f"{len(mismatches)} orders differ from QuickBooks: {mismatches[:8]}")

        # 4. every bookkeeper change reflected
        invoice_by_id = {i["Id"]: i for i in invoices}
        expected_by_plan = {"pay_full": "paid", "pay_partial_then_full": "paid", "pay_partial": "partial",
                            "void": "cancelled", "pay_then_delete": "unpaid"}
        reflected, missed = Counter(), []
        for plan, expected in expected_by_plan.items():
            ids = {a["invoice_id"] for a in actions if a["plan"] == plan and a.get("final")}
            for invoice_id in ids:
                order = by_number.get(str(invoice_by_id.get(invoice_id, {}).get("DocNumber")))
                state = None if order is None else ("cancelled" if order.status == "cancelled" else order.payment_status)
                if state == expected:
                    reflected[plan] += 1
                else:
                    missed.append(f"{plan} on invoice {invoice_id}: order {order.number if order else '?'} is {state}")
        renames = [a for a in actions if a["plan"] == "rename"]
        accounts = {a.qbo_customer_id: a for a in Account.objects.exclude(qbo_customer_id__isnull=True)}
        names = {c["Id"]: c["DisplayName"] for c in dump["Customer"]}
        for action in renames:
            account = accounts.get(action["customer_id"])
            if account is not None and account.name == action["display_name"]:
                reflected["rename"] += 1
            else:
                missed.append(f"rename of customer {action['customer_id']} to {action['display_name']!r}: account shows "
                              f"{account.name if account else None!r}")
        name_drift = [f"{a.code}: {a.name!r} vs {names.get(cid)!r}" for cid, a in accounts.items() if names.get(cid) != a.name]
        total_changes = sum(1 for a in actions if a.get("final"))
        figures["QuickBooks changes reflected"] = (f"{sum(reflected.values())}/{total_changes} "
                                                   f"({', '.join(f'{k} {v}' for k, v in sorted(reflected.items()))}); "
                                                   f"account names differing from QuickBooks: {len(name_drift)}")
        if missed:
            violations.append(f"{len(missed)} QuickBooks changes not reflected: {missed[:8]}")
        if name_drift:
            violations.append(f"account names differ from QuickBooks DisplayNames: {name_drift[:5]}")

        # 5. nothing stuck
        jobs = Counter(QboSyncJob.objects.values_list("state", flat=True))
        events = Counter(QboWebhookEvent.objects.values_list("status", flat=True))
        sources = Counter(QboWebhookEvent.objects.values_list("source", flat=True))
        bulks = list(BulkPush.objects.order_by("id").values_list("id", "state", "total", "succeeded", "failed"))
        attempts = Counter(QboSyncJob.objects.values_list("attempts", flat=True))
        figures["Sync jobs"] = (f"{dict(jobs)}; attempts per job {dict(sorted(attempts.items()))}; "
                                f"in doubt {QboSyncJob.objects.filter(in_doubt=True).count()}")
        figures["Inbox events"] = f"{dict(events)} by source {dict(sources)}"
        figures["Bulk pushes"] = "; ".join(f"#{b[0]} {b[1]} {b[3]} ok {b[4]} failed of {b[2]}" for b in bulks)
        if jobs["pending"] or jobs["running"]:
            violations.append(f"jobs stuck: {jobs['pending']} pending, {jobs['running']} running")
        if jobs["failed"]:
            reasons = Counter(QboSyncJob.objects.filter(state="failed").values_list("last_error", flat=True))
            violations.append(f"{jobs['failed']} sync jobs failed: {reasons.most_common(3)}")
        if events["pending"] or events["processing"] or events["failed"]:
            failed = list(QboWebhookEvent.objects.filter(status="failed").values_list("entity", "entity_id", "last_error")[:3])
            violations.append(f"inbox not clean: {events['pending']} pending, {events['processing']} processing, "
                              f"{events['failed']} failed {failed}")
        if any(b[1] in ("queued", "running") for b in bulks):
            violations.append(f"bulk push stuck: {[b for b in bulks if b[1] in ('queued', 'running')]}")

        # 6. the activity log tells each order's story
        activity = defaultdict(list)
        for order_id, kind, at, text in OrderActivity.objects.order_by("created_at", "id").values_list(
                "order_id", "activity_type", "created_at", "description"):
            activity[order_id].append((kind, at, text))
        story = Counter()
        gaps = []
        for order in orders.values():
            # An invoice is created once: directly, or by converting the order's estimate.
            kinds = ["invoice_created" if k == "estimate_converted" else k for k, _, _ in activity[order.pk]]
            created = kinds.count("invoice_created")
            if order.qbo_doc_id:
                story["pushed"] += 1
                if created == 1:
                    story["one creation entry"] += 1
                else:
                    gaps.append(f"{order.number}: {created} invoice_created entries")
            if order.status == "paid" or order.payment_status == "partial":
                story["paid or partial"] += 1
                if "payment_received" in kinds and (created == 0 or kinds.index("invoice_created") < kinds.index("payment_received")):
                    story["payment entry after creation"] += 1
                else:
                    gaps.append(f"{order.number}: {order.status}/{order.payment_status} without a payment entry after its creation "
                                f"({kinds})")
            if order.status == "cancelled":
                story["voided"] += 1
                if "invoice_voided" in kinds:
                    story["void entry"] += 1
                else:
                    gaps.append(f"{order.number}: cancelled without a void entry ({kinds})")
        figures["Activity log"] = ", ".join(f"{k} {v}" for k, v in story.items())
        if gaps:
            violations.append(f"{len(gaps)} orders whose activity log misses part of the story: {gaps[:6]}")

        # 7. secrets in the logs
        conn = QboConnection.objects.first()
        wanted = {"access token": conn.access_token if conn else "", "refresh token": conn.refresh_token if conn else "",
                  "client secret": dj.QBO_CLIENT_SECRET, "verifier token": dj.QBO_WEBHOOK_VERIFIER_TOKEN,
                  "SECRET_KEY": dj.SECRET_KEY, **extra_secrets}
        wanted = {k: v for k, v in wanted.items() if v and len(v) >= 8}
        hits = Counter()
        logs = sorted((work / "logs").glob("*.log"))
        size = 0
        for path in logs:
            text = path.read_text(errors="replace")
            size += len(text)
            for name, value in wanted.items():
                if value in text:
                    hits[f"{name} in {path.name}"] += text.count(value)
        figures["Secrets in logs"] = (f"{sum(hits.values())} occurrences of {len(wanted)} secrets "
                                      f"({', '.join(sorted(wanted))}) in {len(logs)} logs, {size / 1e6:.1f} MB")
        if hits:
            violations.append(f"secrets found in logs: {dict(hits)}")
        tracebacks = {p.name: p.read_text(errors="replace").count("Traceback (most recent call last)") for p in logs}
        figures["Tracebacks in logs"] = ", ".join(f"{k} {v}" for k, v in tracebacks.items() if v) or "none"
        return {"figures": figures, "violations": violations}
