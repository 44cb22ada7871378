"""Benchmark: QuickBooks webhooks into Kadouri over real HTTP, with QuickBooks' rate limits on. Prints figures; it
is not a test.

    python -m loadtest.bench_webhooks [--deliveries 2000 --senders 10 --web-workers 3 --q-workers 2]
                                      [--database-url postgres://postgres@127.0.0.1:5432/kadouri_bench]

Set-up: `--orders` invoiced orders, pushed in bulk with the emulator's limits off (the events name them in turn,
so a batch of 1,000 events names 1,000 invoices); then every limit goes on (loadtest/limits_floor.py) and stays on.
1. Acknowledgement: the app is served by gunicorn on a free 127.0.0.1 port with a throw-away database
   (SQLite in a temp dir, or a PostgreSQL database it creates and drops); `--senders` threads post
   `--deliveries` signed deliveries (legacy and CloudEvents alternately, one Invoice event each, every one
   new) → latency p50/p99 and deliveries per second. No worker runs yet, so this is the pure doorbell.
2. Processing the backlog: `manage.py qcluster` starts and works through the stored events → events per second,
   QuickBooks requests per event, and the floor the limits put under them.
3. A burst end to end: with the worker running, as many deliveries again (new changes to the same invoices) →
   events per second from the first delivery sent to the last event processed, requests per event, and the
   acknowledgement latency while the worker works.
4. A payment end to end: the emulator (live, in this process) delivers its own webhooks to gunicorn; `--payments`
   times, a payment is recorded on an invoice and the order row is polled until it shows `paid`.
Only loopback addresses are used; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule

from loadtest.bench_data import bench_orders
from loadtest.limits_floor import LIMITS_TEXT, floor_seconds, limits_on, sustained_events_per_second
from orders.models import Order
from qbo_integration.bulk.push import bulk_push_run
from qbo_integration.emulator import Emulator
from qbo_integration.inbound.intake import sign
from qbo_integration.models import BulkPush, QboConnection

from .infra import BenchError, Children, Database, free_port, pct, seconds, wait_up

REALM = "9130350000000001"
TOKEN = "bench-verifier-token"
ACTIVE = "status IN ('pending', 'processing')"


def seed_phase() -> None:
    """In the bench database: the connected company and `BENCH_ORDERS` orders invoiced by one bulk push."""
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
    # The scheduled catch-up would read back every invoice the seed pushes, in the middle of a measurement.
    Schedule.objects.filter(func="qbo_integration.tasks.qbo_catchup_all").update(next_run=now + timedelta(days=1))
    orders = bench_orders(int(os.environ["BENCH_ORDERS"]), buyers=5, products=5, lines=1)
    with transaction.atomic():  # one commit for the whole push, as in the outbound benchmark: set-up, not measured
        bulk = bulk_push_run(bulk_id=BulkPush.objects.create(total=len(orders)).pk)
    if bulk.failed:
        raise BenchError(f"the seed's push failed for {bulk.failed} orders")
    pairs = Order.objects.filter(pk__in=[o.pk for o in orders]).order_by("pk").values_list("pk", "qbo_doc_id")
    print("BENCH-ORDERS " + json.dumps([list(pair) for pair in pairs]))


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
        emu.configure_limits(per_minute=None, concurrent=None, batch_per_minute=None, per_second=None)  # set-up
        server = emu.serve("127.0.0.1", 0)
        db = Database(opts["database_url"], tmp)
        children = Children(self._env(emu, db, opts), tmp)
        try:
            set_up = time.perf_counter()
            children.run("manage.py", "migrate", "--noinput")
            orders = self._seed(children, emu, opts)
            opts["set_up_seconds"], opts["seeded"] = time.perf_counter() - set_up, orders
            limits_on(emu)
            port = free_port()
            children.gunicorn(port, opts["web_workers"])
            url = f"http://127.0.0.1:{port}/api/quickbooks/webhook"
            wait_up(url)
            ack = self._acknowledge(url, orders, opts, first=0)
            emu.clear_requests()
            children.worker()
            backlog = self._backlog(db, emu, ack["stored"])
            burst = self._burst(db, emu, url, orders, opts)
            e2e = self._end_to_end(emu, db, url, orders, opts)
            self._print(opts, db, emu, ack, backlog, burst, e2e)
        finally:
            children.stop()
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

    def _seed(self, children: Children, emu, opts) -> list[list]:
        extra = {
            "BENCH_TOKENS": json.dumps(emu.issue_tokens(REALM)),
            "BENCH_REALM": REALM,
            "BENCH_ORDERS": str(opts["orders"]),
        }
        out = Children(children.env | extra, children.tmp).run("-m", "loadtest.bench_webhooks", "--phase", "seed")
        line = next(line for line in out.splitlines() if line.startswith("BENCH-ORDERS "))
        emu.webhooks.reset()  # the seed's own events are not part of the measurement
        return json.loads(line.split(" ", 1)[1])

    # --- deliveries ----------------------------------------------------------------------------------

    def _body(self, n: int, orders: list[list]) -> tuple[bytes, str]:
        invoice_id = orders[n % len(orders)][1]
        # Every delivery is a new change: a distinct timestamp (legacy dedupe) and a fresh CloudEvents id.
        stamp = (datetime(2026, 11, 2, tzinfo=UTC) + timedelta(seconds=n)).isoformat().replace("+00:00", ".000Z")
        if n % 2:
            event = {
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
            return json.dumps([event]).encode(), "application/cloudevents+json"
        entity = {"name": "Invoice", "id": invoice_id, "operation": "Update", "lastUpdated": stamp}
        notifications = [{"realmId": REALM, "dataChangeEvent": {"entities": [entity]}}]
        return json.dumps({"eventNotifications": notifications}).encode(), "application/json"

    def _acknowledge(self, url: str, orders, opts, *, first: int) -> dict:
        total, senders = opts["deliveries"], opts["senders"]
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        lock = threading.Lock()

        def sender(index: int) -> None:
            session = requests.Session()
            for n in range(first + index, first + total, senders):
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

    # --- processing -----------------------------------------------------------------------------------

    def _settle(self, db: Database, after_id: int, deadline_s: float) -> float:
        started = time.monotonic()
        while time.monotonic() - started < deadline_s:
            if db.scalar(f"SELECT COUNT(*) FROM quickbooks_webhook_events WHERE id > ? AND {ACTIVE}", after_id) == 0:
                break
            time.sleep(0.25)
        return time.monotonic() - started

    def _outcome(self, db: Database, emu, after_id: int) -> dict:
        where = "FROM quickbooks_webhook_events WHERE id > ?"
        api = emu.requests(path=f"/v3/company/{REALM}/")
        return {
            "done": db.scalar(f"SELECT COUNT(*) {where} AND status = 'done'", after_id),
            "not_done": db.scalar(f"SELECT COUNT(*) {where} AND status <> 'done'", after_id),
            "covered": db.scalar(f"SELECT COUNT(*) {where} AND result LIKE ?", after_id, "Covered by event%"),
            "statuses": db.rows(f"SELECT status, COUNT(*) {where} GROUP BY status", after_id),
            "first": db.scalar(f"SELECT MIN(processed_at) {where}", after_id),
            "last": db.scalar(f"SELECT MAX(processed_at) {where}", after_id),
            "requests": len(api),
            "queries": sum(1 for r in api if r["subpath"] == "query"),
            "reads": sum(1 for r in api if r["method"] == "GET" and r["subpath"].startswith("invoice/")),
            "throttled": sum(1 for r in api if r["status"] == 429),
        }

    def _backlog(self, db: Database, emu, expected: int) -> dict:
        wall = self._settle(db, 0, 600)
        outcome = self._outcome(db, emu, 0)
        first, last = outcome["first"], outcome["last"]
        span = seconds(last) - seconds(first) if first and last else wall
        return outcome | {"span": span, "wall": wall, "expected": expected}

    def _burst(self, db: Database, emu, url: str, orders, opts) -> dict:
        emu.clear_requests()
        after_id = db.scalar("SELECT COALESCE(MAX(id), 0) FROM quickbooks_webhook_events")
        started = time.time()
        ack = self._acknowledge(url, orders, opts, first=opts["deliveries"])
        self._settle(db, after_id, 600)
        outcome = self._outcome(db, emu, after_id)
        span = seconds(outcome["last"]) - started if outcome["last"] else time.time() - started
        return outcome | {"span": span, "ack": ack}

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

    # --- report ----------------------------------------------------------------------------------------

    def _print(self, opts, db: Database, emu, ack, backlog, burst, e2e) -> None:
        w = print
        w(
            f"Webhook benchmark — gunicorn {opts['web_workers']} workers, django-q2 {opts['q_workers']} workers, "
            f"{db.backend}, emulator on loopback, {os.cpu_count()} CPUs"
        )
        w(
            f"set-up (limits off): {len(opts['seeded'])} invoiced orders pushed in bulk, "
            f"{opts['set_up_seconds']:.0f} s with the migrations"
        )
        w(f"limits on: {LIMITS_TEXT} ({emu.rate_counters(REALM)['throttled']} requests throttled in all)")
        w(
            f"1. Acknowledgement: {len(ack['latencies'])} signed deliveries from {opts['senders']} concurrent senders "
            f"in {ack['wall']:.2f} s, no worker running"
        )
        w(f"   statuses {dict(sorted(ack['statuses'].items()))}")
        w(f"   {_latency(ack)}")
        w(
            f"2. Processing the backlog: {backlog['done']} events done ({backlog['not_done']} not done) in "
            f"{backlog['span']:.2f} s first→last ({backlog['wall']:.2f} s including worker start) → "
            f"{backlog['done'] / max(backlog['span'], 1e-9):.0f} events/s"
        )
        _print_requests(w, backlog)
        if backlog["not_done"]:
            w(f"   (events by status: {backlog['statuses']})")
        burst_events = burst["done"] + burst["not_done"]
        settled = "all settled" if not burst["not_done"] else f"{burst['done']} of {burst_events} done"
        w(
            f"3. Burst end to end, worker running: {burst_events} events from {len(burst['ack']['latencies'])} "
            f"deliveries, {settled} {burst['span']:.2f} s after the first was sent → "
            f"{burst['done'] / max(burst['span'], 1e-9):.0f} events/s end to end"
        )
        _print_requests(w, burst)
        w(f"   acknowledgement while the worker runs: {_latency(burst['ack'])}")
        samples = [s * 1000 for s in e2e["samples"]]
        if samples:
            w(
                f"4. Payment end to end (recorded in the emulator → order `paid`), {len(samples)}/{e2e['asked']} "
                f"samples, emulator batch window {opts['batch_window']} s: p50 {statistics.median(samples):.0f} ms · "
                f"max {max(samples):.0f} ms"
            )
        else:
            w(f"4. Payment end to end: no order turned paid within 30 s ({e2e['asked']} tried)")


def _latency(ack: dict) -> str:
    ms = [x * 1000 for x in ack["latencies"]]
    return (
        f"latency p50 {pct(ms, 50):.1f} ms · p90 {pct(ms, 90):.1f} ms · p99 {pct(ms, 99):.1f} ms · "
        f"max {max(ms):.1f} ms · {len(ms) / ack['wall']:.0f} deliveries/s"
    )


def _print_requests(w, phase: dict) -> None:
    events = phase["done"] + phase["not_done"]
    per_event = phase["requests"] / max(phase["done"], 1)
    w(
        f"   QuickBooks requests: {phase['requests']} ({phase['queries']} queries, {phase['reads']} invoice reads "
        f"by id, {phase['throttled']} answered 429) = {per_event:.4f} per event done (goal ≤ 0.05); "
        f"{phase['covered']} events covered by a read for the same invoice"
    )
    w(
        f"   floor from limits: {floor_seconds(phase['requests']):.1f} s for these requests, at most "
        f"{sustained_events_per_second(per_event):,.0f} events/s sustained; one read per event would be "
        f"{events} requests, floor {floor_seconds(events):.1f} s, at most {sustained_events_per_second(1):.1f} "
        "events/s (500 reads/min)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest.bench_webhooks",
        description="Prints webhook acknowledgement latency, processing throughput, QuickBooks requests per event "
        "and end-to-end figures over real HTTP, with QuickBooks' rate limits on.",
    )
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--senders", type=int, default=10)
    parser.add_argument(
        "--orders",
        type=int,
        default=1000,
        help="invoiced orders the events name in turn (1,000: a batch of 1,000 events names each invoice once)",
    )
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
