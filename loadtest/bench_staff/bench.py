"""Benchmark: staff browsing orders on the production profile. Prints figures; it is not a test.

    python -m loadtest.bench_staff [--users 50 --orders 300 --duration 30 --think 0]
                                   [--database-url postgres://postgres@127.0.0.1:5432/postgres]

The app runs as `make serve` runs it (scripts/serve.py: gunicorn with deploy/gunicorn.conf.py, the worker, DEBUG off,
static files collected) on a free 127.0.0.1 port, against a PostgreSQL database this bench creates and drops on
`--database-url`'s server (DATABASE_URL's, else 127.0.0.1:5432). It seeds `--orders` orders in every status and one
logged-in session per user; then `--users` threads, each a `requests` session with its own log-in, browse for
`--duration` seconds: the order list (page 1, another page, a status filter) and order pages at random, each waiting
`--think` seconds between clicks (0: as fast as the server answers). Figures: p50/p95/p99 latency per page and in
all, requests per second, errors; and what a request costs in CPU (gunicorn's processes, the database's PostgreSQL
backends), read from /proc, which holds whatever else the machine runs: the load generator shares the cores.
Only loopback addresses are used; every loop is bounded in time.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import psycopg
import requests
from cryptography.fernet import Fernet

BASE_DIR = Path(__file__).resolve().parents[2]
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"
START_TIMEOUT = 120.0
PAGES = ("order list", "order list, page 2+", "order list, filtered", "order page")
WEIGHTS = (25, 10, 10, 55)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Staff browsing orders on the production profile.")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load (after a 3 s warm-up)")
    parser.add_argument("--think", type=float, default=0.0, help="seconds each user waits between clicks")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn processes (WEB_CONCURRENCY)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn process (GUNICORN_THREADS)")
    parser.add_argument("--conn-max-age", type=int, default=60, help="DB_CONN_MAX_AGE (docs/deploy.md)")
    parser.add_argument("--database-url", default="", help="a PostgreSQL server URL (its path is ignored)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", default="", help="also write the figures to this file")
    return parser.parse_args(argv)


class BenchDatabase:
    """A PostgreSQL database of the bench's own, dropped at the end."""

    def __init__(self, server_url: str) -> None:
        parsed = urlparse(server_url or os.environ.get("DATABASE_URL", "") or DEFAULT_SERVER)
        if not parsed.scheme.startswith("postgres"):
            parsed = urlparse(DEFAULT_SERVER)
        self.name = f"kadouri_bench_staff_{os.getpid()}"
        self.admin_url = parsed._replace(path="/postgres").geturl()
        self.url = parsed._replace(path=f"/{self.name}").geturl()
        self._admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        self._admin(f"CREATE DATABASE {self.name}")

    def _admin(self, statement: str) -> None:
        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(statement)

    def drop(self) -> None:
        self._admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare_environment(args: argparse.Namespace) -> BenchDatabase:
    """The database, and the settings the server and this process share (the sessions are signed with the key)."""
    database = BenchDatabase(args.database_url)
    port = _free_port()
    os.environ.update(
        DATABASE_URL=database.url,
        SECRET_KEY=secrets.token_urlsafe(50),
        QBO_TOKEN_KEYS=Fernet.generate_key().decode(),
        QBO_ENVIRONMENT="emulator",
        QBO_EMULATOR_URL=f"http://127.0.0.1:{_free_port()}",
        QBO_CLIENT_ID="bench-client",
        QBO_CLIENT_SECRET="bench-" + secrets.token_urlsafe(16),
        QBO_WEBHOOK_VERIFIER_TOKEN="bench-" + secrets.token_urlsafe(16),
        QBO_REDIRECT_URI=f"http://127.0.0.1:{port}/api/quickbooks/callback",
        BENCH_PORT=str(port),
    )
    return database


# --- the server --------------------------------------------------------------------------------------------------


def start_server(args: argparse.Namespace, log: Path) -> tuple[subprocess.Popen, str]:
    port = os.environ["BENCH_PORT"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST", "SENTRY_"))}
    env |= {
        "PORT": port,
        "WEB_CONCURRENCY": str(args.web_workers),
        "GUNICORN_THREADS": str(args.threads),
        "DB_CONN_MAX_AGE": str(args.conn_max_age),
        "Q_WORKERS": "1",
        "GUNICORN_ACCESS_LOG": os.devnull,  # thousands of lines a second are not the figures
        "SERVE_EMULATOR_STATE": str(log.with_name("bench-staff-emulator.json")),  # not `make serve`'s own
    }
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "scripts/serve.py", "--no-demo"],
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped (exit {server.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                return server, base
        except requests.RequestException:
            pass
        time.sleep(0.5)
    stop_server(server)
    raise SystemExit(f"the server was not healthy within {START_TIMEOUT:.0f} s:\n{log.read_text()[-3000:]}")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


# --- CPU time: what a request costs, whatever else the machine runs ---------------------------------------------


def _cpu_seconds(match) -> float:
    """User + system CPU seconds of the live processes whose command line `match` accepts (Linux /proc)."""
    total, ticks = 0.0, os.sysconf("SC_CLK_TCK")
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if match(command):
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / ticks
        except (OSError, IndexError, ValueError):
            continue
    return total


def cpu_snapshot(database: str) -> dict[str, float]:
    """The app's (gunicorn's processes) and the database's (its PostgreSQL backends) CPU seconds so far."""
    return {
        "app": _cpu_seconds(lambda command: "deploy/gunicorn.conf.py" in command),
        "database": _cpu_seconds(lambda command: command.startswith("postgres:") and f" {database} " in command),
    }


# --- the users ---------------------------------------------------------------------------------------------------


@dataclass
class Record:
    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds spent while recording, by part
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, page: str, seconds: float, ok: bool) -> None:
        with self.lock:
            self.latencies[page].append(seconds)
            if not ok:
                self.errors[page] += 1


def _path(page: str, order_ids: list[int], rng: random.Random, pages: int) -> str:
    if page == "order list":
        return "/"
    if page == "order list, page 2+":
        return f"/?page={rng.randint(2, max(pages, 2))}"
    if page == "order list, filtered":
        return f"/?status={rng.choice(['draft', 'posted_to_qb', 'paid', 'cancelled'])}"
    return f"/orders/{rng.choice(order_ids)}/"


def browse(base: str, session_key: str, order_ids: list[int], until: float, record: Record | None, args, n: int):
    """One user: clicks until `until`; a click that is not a 200 page of Kadouri counts as an error."""
    rng, pages = random.Random(args.seed * 1000 + n), (len(order_ids) + 49) // 50
    with requests.Session() as session:
        session.cookies.set("sessionid", session_key, domain="127.0.0.1")
        while time.monotonic() < until:
            page = rng.choices(PAGES, WEIGHTS)[0]
            started = time.perf_counter()
            try:
                answer = session.get(base + _path(page, order_ids, rng, pages), timeout=60, allow_redirects=False)
                ok = answer.status_code == 200 and b"Kadouri CRM" in answer.content
            except requests.RequestException:
                ok = False
            if record is not None:
                record.add(page, time.perf_counter() - started, ok)
            if args.think:
                time.sleep(args.think)


def load(base: str, sessions: list[str], order_ids: list[int], args) -> tuple[Record, float]:
    """A 3 s warm-up (unrecorded: connections opened, templates compiled), then `--duration` seconds recorded."""
    warm_until = time.monotonic() + 3
    threads = [
        threading.Thread(target=browse, args=(base, key, order_ids, warm_until, None, args, n))
        for n, key in enumerate(sessions)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    record = Record()
    cpu_before = cpu_snapshot(args.database_name)
    started = time.monotonic()
    until = started + args.duration
    threads = [
        threading.Thread(target=browse, args=(base, key, order_ids, until, record, args, n))
        for n, key in enumerate(sessions)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    cpu_after = cpu_snapshot(args.database_name)
    record.cpu = {part: cpu_after[part] - cpu_before[part] for part in cpu_before}
    return record, elapsed


# --- figures -------------------------------------------------------------------------------------------------------


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(share * len(ordered)), len(ordered) - 1)] * 1000


def figures(record: Record, elapsed: float) -> dict:
    rows = {}
    for page in (*PAGES, "all"):
        values = (
            [v for lat in record.latencies.values() for v in lat] if page == "all" else record.latencies.get(page, [])
        )
        if not values:
            continue
        errors = sum(record.errors.values()) if page == "all" else record.errors.get(page, 0)
        rows[page] = {
            "requests": len(values),
            "errors": errors,
            "rps": round(len(values) / elapsed, 1),
            "p50_ms": round(_percentile(values, 0.50)),
            "p95_ms": round(_percentile(values, 0.95)),
            "p99_ms": round(_percentile(values, 0.99)),
        }
    return rows


def cpu_figures(record: Record) -> dict:
    """CPU milliseconds per request, and the requests per second that 2 cores given to nothing else would serve."""
    requests_done = sum(len(values) for values in record.latencies.values())
    per_request = {part: round(seconds * 1000 / max(requests_done, 1), 1) for part, seconds in record.cpu.items()}
    both = sum(per_request.values())
    return {"ms_per_request": per_request, "rps_on_2_free_cores": round(2000 / both) if both else None}


def show(rows: dict, args, elapsed: float) -> None:
    print(
        f"\nStaff browsing: {args.users} users, {args.orders} orders, {elapsed:.0f} s, think {args.think:g} s; "
        f"gunicorn {args.web_workers}×{args.threads} threads, DB_CONN_MAX_AGE={args.conn_max_age}, PostgreSQL, "
        f"DEBUG off, {os.cpu_count()} cores shared with the load generator (load average before: {args.load_before})"
    )
    print(f"{'page':<24}{'requests':>9}{'errors':>8}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}")
    for page, row in rows.items():
        print(
            f"{page:<24}{row['requests']:>9}{row['errors']:>8}{row['rps']:>8}"
            f"{row['p50_ms']:>8}{row['p95_ms']:>8}{row['p99_ms']:>8}"
        )


def run(args: argparse.Namespace, database: BenchDatabase, seed) -> None:
    args.database_name = database.name
    log = BASE_DIR / "var" / "bench-staff-server.log"
    log.parent.mkdir(exist_ok=True)
    server = None
    try:
        print(f"bench-staff: starting the production profile (log: {log.relative_to(BASE_DIR)})", flush=True)
        server, base = start_server(args, log)
        began = time.monotonic()
        args.load_before = " ".join(f"{v:.1f}" for v in os.getloadavg())
        order_ids, sessions = seed(orders=args.orders, users=args.users, seed_value=args.seed)
        print(f"bench-staff: seeded {len(order_ids)} orders and {len(sessions)} sessions in "
              f"{time.monotonic() - began:.0f} s; browsing", flush=True)  # fmt: skip
        record, elapsed = load(base, sessions, order_ids, args)
        rows = figures(record, elapsed)
        show(rows, args, elapsed)
        cpu = cpu_figures(record)
        if args.conn_max_age:
            print(
                f"CPU per request: app {cpu['ms_per_request']['app']} ms, PostgreSQL "
                f"{cpu['ms_per_request']['database']} ms → about {cpu['rps_on_2_free_cores']} requests/s on 2 cores "
                "given to nothing else"
            )
        else:  # each request's backend has exited before it could be read
            print(f"CPU per request: app {cpu['ms_per_request']['app']} ms (PostgreSQL's: not measurable here)")
        if args.json:
            summary = {"figures": rows, "cpu": cpu, "seconds": elapsed, "args": vars(args)}
            Path(args.json).write_text(json.dumps(summary, indent=2))
        if rows.get("all", {}).get("errors"):
            raise SystemExit("bench-staff: some clicks did not get their page (see the errors column)")
    finally:
        if server is not None:
            stop_server(server)
        database.drop()
