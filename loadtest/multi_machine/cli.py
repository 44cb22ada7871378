"""`python -m loadtest.multi_machine …`: options and entry (see the package's docstring)."""

from __future__ import annotations

import argparse
import sys

from loadtest.multi_machine.machines import default_redis_url
from loadtest.multi_machine.run import MultiMachine
from loadtest.soak.common import DEFAULT_SERVER, HarnessError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest.multi_machine",
        description="Two app servers and two worker clusters on one PostgreSQL and Redis, one killed mid-run; "
        "prints figures, exits 1 on a violation.",
    )
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--buyers", type=int, default=40)
    parser.add_argument("--products", type=int, default=80)
    parser.add_argument("--sellers", type=int, default=6)
    parser.add_argument("--api-share", type=float, default=0.35, help="share of orders also pushed one by one")
    parser.add_argument("--clients", type=int, default=4, help="API client threads, spread over both app servers")
    parser.add_argument("--pay-share", type=float, default=0.1, help="share of invoices the bookkeeper pays")
    parser.add_argument("--broker", choices=["orm", "redis"], default="redis", help="Q_BROKER of every process")
    parser.add_argument(
        "--budget",
        choices=["database", "redis", "process"],
        default="database",
        help="QBO_REQUEST_BUDGET of every process (process: each counts alone — what a shared budget prevents)",
    )
    parser.add_argument("--read-latency", type=float, default=0.03, help="seconds QuickBooks takes to answer a GET")
    parser.add_argument(
        "--write-latency", type=float, default=0.3, help="seconds QuickBooks takes to answer a POST (writes, batches)"
    )
    parser.add_argument(
        "--per-minute",
        type=int,
        default=500,
        help="the emulator's requests-a-minute limit (QuickBooks': 500); below 500 the app's budget follows at 96 %%",
    )
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers per app server")
    parser.add_argument("--q-workers", type=int, default=2, help="django-q2 workers per cluster")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--database-url", default="", help=f"its server hosts the run's database ({DEFAULT_SERVER})")
    parser.add_argument("--redis-url", default=default_redis_url())
    parser.add_argument("--run-timeout", type=float, default=300.0, help="seconds for the run and the finish")
    parser.add_argument("--json", default="", help="also write the figures and violations to this file")
    parser.add_argument("--keep", action="store_true", help="keep the database and the logs")
    return parser


def main(argv: list[str] | None = None) -> None:
    # What the soak's set-up and checks read, fixed here: every order is an invoice pushed while the company is
    # the idealised one.
    opts = vars(build_parser().parse_args(argv)) | {"company": "idealised", "estimate_share": 0.0, "cash_share": 0.0}
    try:
        MultiMachine(opts).run()
    except HarnessError as e:
        sys.stderr.write(f"{e.__class__.__name__}: {e}\n")
        sys.exit(1)
