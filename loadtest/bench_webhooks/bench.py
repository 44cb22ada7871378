"""Benchmark: QuickBooks webhooks into Kadouri over real HTTP. Prints figures; it is not a test.

    python -m loadtest.bench_webhooks [--deliveries 2000 --senders 10 --web-workers 4 --q-workers 2]
                                      [--database-url postgres://postgres@127.0.0.1:5432/kadouri_bench]

1. Acknowledgement: the app is served by gunicorn on a free 127.0.0.1 port with a throw-away database
   (SQLite in a temp dir, or a PostgreSQL database it creates and drops); `--senders` threads post
   `--deliveries` signed deliveries (legacy and CloudEvents alternately, one Invoice event each, every one
   new) → latency p50/p99 and deliveries per second. No worker runs yet, so this is the pure doorbell.
2. Processing: `manage.py qcluster` starts; every stored event is processed (each reads its invoice from the
   emulator over HTTP and applies it) → events per second (first to last processed).
3. End to end: the emulator (live, in this process) delivers its own webhooks to gunicorn; `--payments`
   times, a payment is recorded on an invoice and the order row is polled until it shows `paid`.
Only loopback addresses are used; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse

import psycopg
import requests
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import Account
from orders.services import LineInput, order_create
from products.models import Product
from qbo_integration.emulator import Emulator
from qbo_integration.inbound.intake import sign
from qbo_integration.models import QboConnection
from qbo_integration.outbound.requests import order_push_request

REALM = "9130350000000001"
TOKEN = "bench-verifier-token"
BASE_DIR = Path(settings.BASE_DIR)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class Database:
    """A throw-away database and a way to poll it without Django (the app runs in the children)."""

    def __init__(self, url: str | None, tmp: Path) -> None:
        self.admin_url = None
        if url and url.startswith("postgres"):
            parsed = urlparse(url)
            self.name = f"kadouri_bench_{os.getpid()}"
            self.admin_url = parsed._replace(path="/postgres").geturl()
            self.url = parsed._replace(path=f"/{self.name}").geturl()
            self._pg("CREATE DATABASE " + self.name)
        else:
            self.path = tmp / "bench.sqlite3"
            self.url = f"sqlite:///{self.path}"

    def _pg(self, sql: str) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql)

    def scalar(self, sql: str, *params):
        if self.admin_url:
            with psycopg.connect(self.url) as conn:
                return conn.execute(sql.replace("?", "%s"), params).fetchone()[0]
        with sqlite3.connect(self.path, timeout=10) as conn:
            return conn.execute(sql, params).fetchone()[0]

    def rows(self, sql: str, *params) -> list:
        if self.admin_url:
            with psycopg.connect(self.url) as conn:
                return conn.execute(sql.replace("?", "%s"), params).fetchall()
        with sqlite3.connect(self.path, timeout=10) as conn:
            return conn.execute(sql, params).fetchall()

    def drop(self) -> None:
        if self.admin_url:
            self._pg(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


class BenchError(Exception):
    """A step of the benchmark failed (a child did not start, a command exited non-zero)."""


def seed_phase() -> None:
    """In the bench database: the connected company, buyers and products, and `BENCH_ORDERS` invoiced orders."""
    tokens = json.loads(os.environ["BENCH_TOKENS"])
    now = timezone.now()
    QboConnection.objects.create(
        realm_id=os.environ["BENCH_REALM"],
        company_name="Bench",
        environment="emulator",
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        access_expires_at=now + timedelta(seconds=3000),
        refresh_expires_at=now + timedelta(days=90),
        connected_at=now,
    )
    seller = Account.objects.create(name="Bench Seller", code="BSELL")
    buyers = [Account.objects.create(name=f"Bench Buyer {i}", code=f"BB{i}") for i in range(5)]
    products = [Product.objects.create(name=f"Bench Product {i}", unit_price=Decimal("10.00") + i) for i in range(5)]
    out = []
    for i in range(int(os.environ["BENCH_ORDERS"])):
        order = order_create(
            fields={
                "seller": seller,
                "buyer": buyers[i % 5],
                "order_date": date(2026, 11, 2),
                "terms": "net_30",
                "commission_rate": Decimal("5"),
                "notes": "",
            },
            lines=[LineInput(product=products[i % 5], quantity=Decimal("3"))],
            by=None,
        )
        job = order_push_request(order=order, doc_type="invoice", by=None)
        assert job.state == "done", job.last_error
        order.refresh_from_db()
        out.append([order.pk, order.qbo_doc_id])
    print("BENCH-ORDERS " + json.dumps(out))


class Bench:
    def run(self, opts: dict) -> None:
        tmp = Path(tempfile.mkdtemp(prefix="kadouri-bench-"))
        os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the emulator speaks http on loopback
        emu = Emulator(
            "http://127.0.0.1",
            client_id="bench-client",
            client_secret="bench-secret",
            redirect_uris=["http://127.0.0.1/api/quickbooks/callback"],
            verifier_token=TOKEN,
        )
        emu.configure_limits(per_minute=None, concurrent=None, batch_per_minute=None, per_second=None)
        server = emu.serve("127.0.0.1", 0)
        db = Database(opts["database_url"], tmp)
        children: list[subprocess.Popen] = []
        try:
            env = self._env(emu, db, opts)
            self._run(env, "manage.py", "migrate", "--noinput")
            orders = self._seed(env, emu, opts)
            port = _free_port()
            children.append(
                self._spawn(
                    env,
                    tmp / "gunicorn.log",
                    [
                        str(BASE_DIR / ".venv/bin/gunicorn"),
                        "kadouri.wsgi",
                        "-b",
                        f"127.0.0.1:{port}",
                        "-w",
                        str(opts["web_workers"]),
                        "--log-level",
                        "warning",
                    ],
                )
            )
            url = f"http://127.0.0.1:{port}/api/quickbooks/webhook"
            self._wait_up(url)
            ack = self._acknowledge(url, orders, opts)
            children.append(self._spawn(env, tmp / "qcluster.log", [sys.executable, "manage.py", "qcluster"]))
            processing = self._processing(db, ack["stored"])
            e2e = self._end_to_end(emu, db, url, orders, opts)
            self._print(opts, db, ack, processing, e2e)
        finally:
            for child in reversed(children):  # each child leads its own process group (qcluster forks workers)
                _signal_group(child, signal.SIGTERM)
            for child in children:
                try:
                    child.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    _signal_group(child, signal.SIGKILL)
            time.sleep(0.5)
            for child in children:
                _signal_group(child, signal.SIGKILL)  # stragglers of the group, if any
            server.stop()
            db.drop()
            shutil.rmtree(tmp, ignore_errors=True)

    # --- set-up -------------------------------------------------------------------------------------

    def _env(self, emu, db, opts) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("QBO_", "DJANGO_", "DATABASE_"))}
        env |= {
            "DJANGO_SETTINGS_MODULE": "kadouri.test_settings",
            "DATABASE_URL": db.url,
            "Q_SYNC": "false",
            "Q_WORKERS": str(opts["q_workers"]),
            "LOG_LEVEL": "WARNING",
            "DB_CONN_MAX_AGE": "60",
            "OAUTHLIB_INSECURE_TRANSPORT": "1",
            "QBO_ENVIRONMENT": "emulator",
            "QBO_EMULATOR_URL": emu.base_url,
            "QBO_CLIENT_ID": "bench-client",
            "QBO_CLIENT_SECRET": "bench-secret",
            "QBO_WEBHOOK_VERIFIER_TOKEN": TOKEN,
            "QBO_TOKEN_KEYS": ",".join(settings.QBO_TOKEN_KEYS) or "wx_KI4qRjAJ5gXqhg7iNcqAwIjfkYvZbfR5wVQeoyyM=",
        }
        return env

    def _run(self, env, *args) -> str:
        result = subprocess.run(
            [sys.executable, *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=300
        )
        if result.returncode:
            shown = " ".join(["python", *args] if args[0] == "-m" else args)
            raise BenchError(f"{shown} failed:\n{result.stderr[-2000:]}")
        return result.stdout

    def _seed(self, env, emu, opts) -> list[list]:
        env = env | {
            "BENCH_TOKENS": json.dumps(emu.issue_tokens(REALM)),
            "BENCH_REALM": REALM,
            "BENCH_ORDERS": str(opts["orders"]),
        }
        out = self._run(env, "-m", "loadtest.bench_webhooks", "--phase", "seed")
        line = next(line for line in out.splitlines() if line.startswith("BENCH-ORDERS "))
        emu.webhooks.reset()  # the seed's own events are not part of the measurement
        return json.loads(line.split(" ", 1)[1])

    def _spawn(self, env, log: Path, argv: list[str]) -> subprocess.Popen:
        return subprocess.Popen(
            argv, cwd=BASE_DIR, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
        )

    def _wait_up(self, url: str) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.post(url, data=b"", timeout=1).status_code == 401:
                    return
            except requests.RequestException:
                time.sleep(0.2)
        raise BenchError("gunicorn did not come up within 30 s")

    # --- phase 1: acknowledgement ----------------------------------------------------------------------

    def _body(self, n: int, orders: list[list]) -> tuple[bytes, str]:
        invoice_id = orders[n % len(orders)][1]
        # Every delivery is a new change: a distinct timestamp (legacy dedupe) and a fresh CloudEvents id.
        stamp = (datetime(2026, 11, 2, tzinfo=UTC) + timedelta(seconds=n)).isoformat().replace("+00:00", ".000Z")
        if n % 2:
            return json.dumps(
                [
                    {
                        "specversion": "1.0",
                        "id": str(uuid.uuid4()),
                        "source": "intuit.bench",
                        "type": "qbo.invoice.updated.v1",
                        "datacontenttype": "application/json",
                        "time": stamp,
                        "intuitentityid": invoice_id,
                        "intuitaccountid": REALM,
                        "data": {},
                    }
                ]
            ).encode(), "application/cloudevents+json"
        entity = {"name": "Invoice", "id": invoice_id, "operation": "Update", "lastUpdated": stamp}
        return json.dumps(
            {"eventNotifications": [{"realmId": REALM, "dataChangeEvent": {"entities": [entity]}}]}
        ).encode(), "application/json"

    def _acknowledge(self, url: str, orders, opts) -> dict:
        total, senders = opts["deliveries"], opts["senders"]
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        lock = threading.Lock()

        def sender(index: int) -> None:
            session = requests.Session()
            for n in range(index, total, senders):
                body, content_type = self._body(n, orders)
                headers = {"Content-Type": content_type, "intuit-signature": sign(body, TOKEN)}
                started = time.perf_counter()
                try:
                    status = session.post(url, data=body, headers=headers, timeout=10).status_code
                except requests.RequestException:
                    status = 0
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    statuses[status] = statuses.get(status, 0) + 1

        started = time.perf_counter()
        with ThreadPoolExecutor(senders) as pool:
            list(pool.map(sender, range(senders)))
        wall = time.perf_counter() - started
        return {"latencies": latencies, "statuses": statuses, "wall": wall, "stored": statuses.get(200, 0)}

    # --- phase 2: processing ---------------------------------------------------------------------------

    def _processing(self, db: Database, expected: int) -> dict:
        deadline = time.monotonic() + 600
        started = time.monotonic()
        while time.monotonic() < deadline:
            left = db.scalar("SELECT COUNT(*) FROM quickbooks_webhook_events WHERE status IN ('pending', 'processing')")
            if left == 0:
                break
            time.sleep(0.25)
        wall = time.monotonic() - started
        done = db.scalar("SELECT COUNT(*) FROM quickbooks_webhook_events WHERE status = 'done'")
        covered = db.scalar("SELECT COUNT(*) FROM quickbooks_webhook_events WHERE result LIKE ?", "Covered by event%")
        failed = db.scalar("SELECT COUNT(*) FROM quickbooks_webhook_events WHERE status <> 'done'")
        print(
            "   (events by status: "
            f"{db.rows('SELECT status, COUNT(*) FROM quickbooks_webhook_events GROUP BY status')}; "
            "a non-done result: "
            f"{db.rows('SELECT result, last_error FROM quickbooks_webhook_events WHERE status <> ? LIMIT 1', 'done')})"
        )
        first = db.scalar("SELECT MIN(processed_at) FROM quickbooks_webhook_events")
        last = db.scalar("SELECT MAX(processed_at) FROM quickbooks_webhook_events")
        span = _seconds(last) - _seconds(first) if first and last else wall
        return {"done": done, "not_done": failed, "span": span, "wall": wall, "expected": expected, "covered": covered}

    # --- phase 3: end to end ---------------------------------------------------------------------------

    def _end_to_end(self, emu, db: Database, url: str, orders, opts) -> dict:
        emu.configure_webhooks(url=url, format="legacy", verifier_token=TOKEN, batch_window=opts["batch_window"])
        samples = []
        for order_id, invoice_id in orders[: opts["payments"]]:
            started = time.perf_counter()
            emu.record_payment(REALM, invoice_id)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if db.scalar("SELECT status FROM orders WHERE id = ?", order_id) == "paid":
                    samples.append(time.perf_counter() - started)
                    break
                time.sleep(0.01)
        return {"samples": samples, "asked": min(opts["payments"], len(orders))}

    def _print(self, opts, db, ack, processing, e2e) -> None:
        ms = [x * 1000 for x in ack["latencies"]]
        backend = "PostgreSQL" if db.admin_url else "SQLite"
        w = print
        w(
            f"Webhook benchmark — gunicorn {opts['web_workers']} workers, django-q2 {opts['q_workers']} workers, "
            f"{backend}, "
            f"emulator on loopback, {os.cpu_count()} CPUs"
        )
        w(
            f"1. Acknowledgement: {len(ms)} signed deliveries from {opts['senders']} concurrent senders in "
            f"{ack['wall']:.2f} s"
        )
        w(f"   statuses {dict(sorted(ack['statuses'].items()))}")
        w(
            f"   latency p50 {_pct(ms, 50):.1f} ms · p90 {_pct(ms, 90):.1f} ms · p99 {_pct(ms, 99):.1f} ms · "
            f"max {max(ms):.1f} ms · {len(ms) / ack['wall']:.0f} deliveries/s"
        )
        w(
            f"2. Processing: {processing['done']} events done ({processing['not_done']} not done) in "
            f"{processing['span']:.2f} s first→last ({processing['wall']:.2f} s including worker start) → "
            f"{processing['done'] / max(processing['span'], 1e-9):.0f} events/s "
            f"({processing['done'] - processing['covered']} QuickBooks reads: {processing['covered']} events were "
            "covered by "
            "a read for the same invoice; one company = one ordered queue)"
        )
        samples = [s * 1000 for s in e2e["samples"]]
        if samples:
            w(
                f"3. End to end (payment recorded in the emulator → order `paid`), {len(samples)}/{e2e['asked']} "
                "samples, "
                f"emulator batch window {opts['batch_window']} s: p50 {statistics.median(samples):.0f} ms · "
                f"max {max(samples):.0f} ms"
            )
        else:
            w(f"3. End to end: no order turned paid within 30 s ({e2e['asked']} tried)")


def _signal_group(child: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(child.pid, sig)
    except ProcessLookupError:
        pass


def _seconds(value) -> float:
    if hasattr(value, "timestamp"):
        return value.timestamp()
    return parse_datetime(str(value)).timestamp()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest.bench_webhooks",
        description="Prints webhook acknowledgement latency, processing throughput and end-to-end latency over "
        "real HTTP.",
    )
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--senders", type=int, default=10)
    parser.add_argument("--orders", type=int, default=200, help="invoiced orders the events refer to")
    parser.add_argument("--payments", type=int, default=10, help="end-to-end samples")
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--q-workers", type=int, default=2)
    parser.add_argument(
        "--batch-window",
        type=float,
        default=0.2,
        help="emulator webhook aggregation, seconds (Intuit: near real time in sandbox, 1-5 min in production)",
    )
    parser.add_argument(
        "--database-url", default="", help="postgres://… to bench on PostgreSQL (a temp database is created)"
    )
    # Internal: the seed runs inside the children's environment (the bench database).
    parser.add_argument("--phase", choices=["seed"], help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> None:
    opts = vars(build_parser().parse_args(argv))
    try:
        if opts["phase"] == "seed":
            seed_phase()
        else:
            Bench().run(opts)
    except BenchError as e:
        sys.stderr.write(f"{e.__class__.__name__}: {e}\n")
        sys.exit(1)
