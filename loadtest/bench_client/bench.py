"""Benchmark: requests a second through Kadouri's QuickBooks client (`connection.calls.api_call`: the stored
connection, the company's pause, the request budget, python-quickbooks, the answer's clean-up) against the
in-process emulator, whose own limits are off. Prints figures; it is not a test.

    python -m loadtest.bench_client [--requests 400] [--stores process,database,redis]

Once per request-budget store (QBO_REQUEST_BUDGET; `database` is PostgreSQL when DATABASE_URL is, else it counts
per process; `redis` uses REDIS_URL or 127.0.0.1:6379), in a transaction that is rolled back. The emulator answers
in-process (no sockets), so the figure is the client's own cost per request: what the budget adds shows against it.
"""

from __future__ import annotations

import argparse
import os
import time

import responses
from django.conf import settings as django_settings
from django.db import transaction
from django.test import override_settings

from qbo_integration.connection import budget, calls
from qbo_integration.emulator import Emulator
from qbo_integration.emulator.testing import IN_PROCESS_BASE_URL, install_responses
from qbo_integration.testing import store_connection

REALM = "9130350000000001"


class Rollback(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest.bench_client", description="Requests a second through Kadouri's QuickBooks client."
    )
    # Under the budget's 480 a minute, so no request waits: the figure is the cost of counting, with a store as
    # full as a busy company's.
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--stores", default="process,database,redis", help="request-budget stores, comma-separated")
    return parser


def measure(emu: Emulator, count: int) -> float:
    """Requests a second: `count` reads of the company's CompanyInfo, one after another."""
    calls.company_info(REALM)  # warm-up: the first call pays for imports and the connection
    started = time.perf_counter()
    for _ in range(count):
        calls.company_info(REALM)
    return count / (time.perf_counter() - started)


def run(opts: dict) -> dict:
    os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the in-process emulator is http://
    emu = Emulator(IN_PROCESS_BASE_URL)
    emu.configure_limits(per_minute=None, concurrent=None, batch_per_minute=None)
    settings = {
        "QBO_ENVIRONMENT": "emulator",
        "QBO_EMULATOR_URL": emu.base_url,
        "QBO_CLIENT_ID": emu.oauth.config.client_id,
        "QBO_CLIENT_SECRET": emu.oauth.config.client_secret,
    }
    figures = {}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock, override_settings(**settings):
        install_responses(emu, mock)
        try:
            with transaction.atomic():
                store_connection(emu, REALM)
                for store in opts["stores"].split(","):
                    with override_settings(QBO_REQUEST_BUDGET=store, REDIS_URL=_redis_url()):
                        name = f"{store} ({type(budget.current_store()).__name__})"
                        figures[name] = measure(emu, opts["requests"])
                        budget.current_store().clear()
                raise Rollback
        except Rollback:
            pass
    return figures


def _redis_url() -> str:
    return django_settings.REDIS_URL or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


def main(argv: list[str] | None = None) -> None:
    opts = vars(build_parser().parse_args(argv))
    figures = run(opts)
    print(f"{opts['requests']} QuickBooks reads through connection.calls against the in-process emulator")
    for name, value in figures.items():
        print(f"  {name:34} {value:6.0f} requests/s  ({1000 / value:.2f} ms a request)")
