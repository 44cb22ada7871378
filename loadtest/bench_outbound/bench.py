"""Benchmark: Kadouri's bulk push vs. a naive python-quickbooks loop, against the QuickBooks emulator.

    python -m loadtest.bench_outbound [--orders 1000 --buyers 50 --products 200 --lines 5] [--keep]

Everything happens inside one database transaction that is rolled back (unless --keep), against an
in-process emulator (no sockets). It prints figures; it is not a test.

Kadouri's push runs with the emulator's rate limits on (loadtest/limits_floor.py), and its wall time is printed
beside the floor those limits impose. The naive loop stops at QuickBooks' first 429 (python-quickbooks neither
waits nor retries): it runs once with the limits on to show where, and once with them off to count what the whole
push would ask for, whose floor is then computed.

The naive loop is written the way python-quickbooks' README shows (find-or-create the customer,
find-or-create each item, create the invoice; one order at a time). Besides client/http.py, it is the one
module that imports python-quickbooks, on purpose: it is the baseline being measured, never app code.
"""

from __future__ import annotations

import argparse
import os
import time

import responses
from django.db import transaction
from django.test import override_settings
from quickbooks.exceptions import QuickbooksException
from quickbooks.objects.customer import Customer
from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.item import Item

from loadtest.bench_data import bench_orders
from loadtest.limits_floor import LIMITS_TEXT, floor_seconds, limits_on
from orders.models import Order
from qbo_integration.bulk.push import bulk_push_run
from qbo_integration.emulator import Emulator
from qbo_integration.emulator.testing import IN_PROCESS_BASE_URL, install_responses, make_quickbooks
from qbo_integration.models import BulkPush
from qbo_integration.testing import store_connection

OURS_REALM, NAIVE_REALM = "9130350000000001", "9130350000000002"
NAIVE_LIMITED_REALM = "9130350000000099"  # a fresh idealised company for the naive loop under the limits
NAIVE_INCOME = {"value": "1", "name": "Services"}


class Rollback(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest.bench_outbound",
        description="Prints QuickBooks requests and wall time for pushing N orders: bulk push vs. a naive loop.",
    )
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--buyers", type=int, default=50)
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument("--lines", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the generated rows (default: roll back)")
    return parser


class Bench:
    def run(self, opts: dict) -> None:
        # the in-process emulator is http:// (docs/quickbooks/libraries.md#pointing-at-the-emulator)
        os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
        emu = Emulator(IN_PROCESS_BASE_URL)
        settings = {
            "QBO_ENVIRONMENT": "emulator",
            "QBO_EMULATOR_URL": emu.base_url,
            "QBO_CLIENT_ID": emu.oauth.config.client_id,
            "QBO_CLIENT_SECRET": emu.oauth.config.client_secret,
        }
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock, override_settings(**settings):
            install_responses(emu, mock)
            try:
                with transaction.atomic():
                    orders = bench_orders(
                        opts["orders"], buyers=opts["buyers"], products=opts["products"], lines=opts["lines"]
                    )
                    limits_on(emu)
                    ours = self._ours(emu, orders)
                    emu.add_company(NAIVE_LIMITED_REALM, "Naive under the limits", {})
                    naive_limited = self._naive(emu, NAIVE_LIMITED_REALM)
                    emu.configure_limits(per_minute=None, concurrent=None, batch_per_minute=None, per_second=None)
                    naive = self._naive(emu, NAIVE_REALM)
                    if not opts["keep"]:
                        raise Rollback
            except Rollback:
                pass
        self._print(opts, ours, naive_limited, naive)

    # --- Kadouri ---------------------------------------------------------------------------------

    def _ours(self, emu: Emulator, orders: list[Order]) -> dict:
        store_connection(emu, OURS_REALM)
        emu.clear_requests()
        bulk = BulkPush.objects.create(total=len(orders))
        started = time.perf_counter()
        bulk = bulk_push_run(bulk_id=bulk.pk)
        wall = time.perf_counter() - started
        api = emu.requests(path=f"/v3/company/{OURS_REALM}/")
        invoices = len(emu.dump(OURS_REALM)["entities"]["Invoice"])
        return {
            "requests": len(api),
            "batches": sum(1 for r in api if r["subpath"] == "batch"),
            "wall": wall,
            "invoices": invoices,
            "pushed": bulk.succeeded,
            "failed": bulk.failed,
            "throttled": emu.rate_counters(OURS_REALM)["throttled"],
        }

    # --- the naive loop (python-quickbooks README style) ----------------------------------------------

    def _naive(self, emu: Emulator, realm: str) -> dict:
        qb = make_quickbooks(emu, realm)
        orders = list(
            Order.objects.filter(number__startswith="BENCH-")
            .select_related("buyer")
            .prefetch_related("lines__product")
            .order_by("number")
        )
        emu.clear_requests()
        started, pushed, refused = time.perf_counter(), 0, ""
        try:
            for order in orders:
                self._naive_push(qb, order)
                pushed += 1
        except QuickbooksException as e:  # python-quickbooks raises at the first 429 and goes no further
            refused = f"{e.error_code} {e.message}"
        wall = time.perf_counter() - started
        return {
            "requests": len(emu.requests(path=f"/v3/company/{realm}/")),
            "batches": 0,
            "wall": wall,
            "invoices": len(emu.dump(realm)["entities"]["Invoice"]),
            "pushed": pushed,
            "refused": refused,
        }

    def _naive_push(self, qb, order: Order) -> None:
        found = Customer.filter(DisplayName=order.buyer.name, qb=qb)
        if found:
            customer = found[0]
        else:
            customer = Customer()
            customer.DisplayName = order.buyer.name
            customer = customer.save(qb=qb)
        invoice = Invoice()
        invoice.CustomerRef = customer.to_ref()
        invoice.DocNumber = order.number
        for line in order.lines.all():
            items = Item.filter(Name=line.product.name, qb=qb)
            if items:
                item = items[0]
            else:
                item = Item()
                item.Name, item.Type, item.IncomeAccountRef = line.product.name, "Service", NAIVE_INCOME
                item.UnitPrice = float(line.product.unit_price)
                item = item.save(qb=qb)
            detail = SalesItemLineDetail()
            detail.ItemRef = item.to_ref()
            detail.Qty, detail.UnitPrice = float(line.quantity), float(line.unit_price)
            sales_line = SalesItemLine()
            sales_line.Amount, sales_line.Description, sales_line.SalesItemLineDetail = (
                float(line.amount),
                line.description,
                detail,
            )
            invoice.Line.append(sales_line)
        invoice.save(qb=qb)

    # --- report ------------------------------------------------------------------------------------

    def _print(self, opts, ours: dict, naive_limited: dict, naive: dict) -> None:
        n = opts["orders"]
        ours_floor = floor_seconds(ours["requests"], ours["batches"])
        naive_floor = floor_seconds(naive["requests"])
        print(f"Pushing {n} orders ({opts['buyers']} buyers, {opts['products']} products, {opts['lines']} lines each)")
        print(f"limits on: {LIMITS_TEXT}")
        print(
            f"Kadouri bulk push, limits on: {n:,} orders: {ours['requests']} requests ({ours['batches']} batch), "
            f"{ours['wall']:.1f} s; floor from limits {ours_floor:.1f} s "
            f"({ours['pushed']} pushed, {ours['failed']} failed, {ours['invoices']} invoices in QuickBooks, "
            f"{ours['throttled']} requests throttled)"
        )
        print(
            f"naive python-quickbooks loop, limits on: refused after {naive_limited['requests']} requests, "
            f"{naive_limited['pushed']} of {n:,} orders pushed in {naive_limited['wall']:.1f} s "
            f"({naive_limited['refused'] or 'not refused'}; python-quickbooks does not wait after a 429)"
        )
        print(
            f"naive python-quickbooks loop, limits off: {n:,} orders: {naive['requests']} requests, "
            f"{naive['wall']:.1f} s here; floor from limits {naive_floor:.1f} s"
        )
        print(
            f"requests per order: Kadouri {ours['requests'] / n:.3f}, naive {naive['requests'] / n:.2f}; "
            f"ratio (naive / Kadouri): {naive['requests'] / max(ours['requests'], 1):.0f}× the requests, "
            f"{naive_floor / max(ours_floor, 0.001):.0f}× the floor"
        )


def main(argv: list[str] | None = None) -> None:
    Bench().run(vars(build_parser().parse_args(argv)))
