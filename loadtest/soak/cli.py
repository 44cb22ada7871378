"""The soak's options and entry: `python -m loadtest.soak …` (see the package's docstring)."""

from __future__ import annotations

import argparse
import sys

from loadtest.soak.common import COMPANIES, DEFAULT_SERVER, HarnessError
from loadtest.soak.orchestrator import Soak
from loadtest.soak.phases import run_phase


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest.soak",
        description="Soak with faults: app, worker, emulator and PostgreSQL as real processes; prints figures, "
        "exits 1 on a violation.",
    )
    parser.add_argument(
        "--company",
        choices=sorted(COMPANIES),
        default="idealised",
        help="the emulator's company to run against: idealised, automated_tax (US sales tax), multi_currency "
        "(buyers paying CAD, MXN or EUR), auto_numbers (QuickBooks numbers the documents)",
    )
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--buyers", type=int, default=40)
    parser.add_argument("--products", type=int, default=80)
    parser.add_argument("--sellers", type=int, default=6)
    parser.add_argument("--clients", type=int, default=6, help="concurrent API client threads")
    parser.add_argument("--double-submit", type=float, default=0.15, help="share of API orders sent twice at once")
    parser.add_argument("--api-share", type=float, default=0.6, help="share of orders also pushed through the API")
    parser.add_argument(
        "--estimate-share",
        type=float,
        default=0.15,
        help="share of orders pushed as estimates (not marked ready) and converted to invoices",
    )
    parser.add_argument(
        "--cash-share", type=float, default=0.05, help="share of orders kept as drafts and settled as cash sales"
    )
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--webhook-drop", type=float, default=0.1)
    parser.add_argument("--webhook-duplicate", type=float, default=0.15)
    parser.add_argument("--no-reorder", action="store_true")
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--q-workers", type=int, default=3)
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random, printed)")
    parser.add_argument(
        "--database-url",
        default="",
        help="a PostgreSQL URL; its server hosts the soak database "
        f"(default: DATABASE_URL if PostgreSQL, else {DEFAULT_SERVER})",
    )
    parser.add_argument("--run-timeout", type=float, default=600.0, help="seconds for the faulty run phase")
    parser.add_argument("--settle-timeout", type=float, default=300.0, help="seconds to settle after the faults stop")
    parser.add_argument("--json", default="", help="also write the figures and violations to this file")
    parser.add_argument("--keep", action="store_true", help="keep the database and the logs (paths are printed)")
    # Internal: phases run inside the children's environment (the soak database).
    parser.add_argument("--phase", choices=["seed", "tick", "check"], help=argparse.SUPPRESS)
    parser.add_argument("--work-dir", default="", help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> None:
    opts = vars(build_parser().parse_args(argv))
    try:
        if opts["phase"]:
            run_phase(opts)
        else:
            Soak(opts).run()
    except HarnessError as e:
        sys.stderr.write(f"{e.__class__.__name__}: {e}\n")
        sys.exit(1)
