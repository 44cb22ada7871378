"""Benchmark: requests a second through Kadouri's QuickBooks client (`connection.calls.api_call`: the stored
connection, the company's pause, the request budget, python-quickbooks, the answer's clean-up) against the
in-process emulator, whose own limits are off. Prints figures; it is not a test.

    python -m loadtest.bench_client [--requests 2000]

Runs in a transaction that is rolled back. The emulator answers in-process (no sockets), so the figure is the
client's own cost per request: what the request budget adds shows against it.
"""

from __future__ import annotations

import argparse
import os
import time

import responses
from django.db import transaction
from django.test import override_settings

from qbo_integration.connection import calls
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
    parser.add_argument("--requests", type=int, default=2000)
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
                figures["requests/s"] = measure(emu, opts["requests"])
                raise Rollback
        except Rollback:
            pass
    return figures


def main(argv: list[str] | None = None) -> None:
    opts = vars(build_parser().parse_args(argv))
    figures = run(opts)
    print(f"{opts['requests']} QuickBooks reads through connection.calls against the in-process emulator")
    for name, value in figures.items():
        print(f"  {name:30} {value:8.0f}")
