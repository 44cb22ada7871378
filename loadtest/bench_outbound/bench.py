"""Benchmark: Kadouri's bulk push vs. a naive python-quickbooks loop, against the QuickBooks emulator.

    python -m loadtest.bench_outbound [--orders 1000 --buyers 50 --products 200 --lines 5] [--keep]

Everything happens inside one database transaction that is rolled back (unless --keep), against an
in-process emulator (no sockets). It prints figures; it is not a test.

The naive loop is written the way python-quickbooks' README shows (find-or-create the customer,
find-or-create each item, create the invoice; one order at a time). Besides client/http.py, it is the one
module that imports python-quickbooks, on purpose: it is the baseline being measured, never app code.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from datetime import date
from decimal import Decimal

import responses
from django.db import transaction
from django.test import override_settings
from quickbooks.objects.customer import Customer
from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.item import Item

from accounts.models import Account
from orders.models import Order, OrderLine, to_cents
from products.models import Product
from qbo_integration.bulk.push import bulk_push_run
from qbo_integration.emulator import Emulator
from qbo_integration.emulator.testing import IN_PROCESS_BASE_URL, install_responses, make_quickbooks
from qbo_integration.models import BulkPush
from qbo_integration.testing import store_connection

OURS_REALM, NAIVE_REALM = "9130350000000001", "9130350000000002"
PER_MINUTE, BATCH_PER_MINUTE, PER_SECOND = 500, 120, 10  # docs/quickbooks/limits.md#request-limits


class Rollback(Exception):
    pass


def lower_bound_seconds(requests: int, batch_requests: int) -> float:
    """The least wall time the company's limits allow: 500 requests and 120 batch requests in any
    60 s window (a new block can start only 60 s after the previous one), and 10 requests a second."""
    windows = max(math.ceil(requests / PER_MINUTE) - 1, math.ceil(batch_requests / BATCH_PER_MINUTE) - 1, 0) * 60
    return max(float(windows), requests / PER_SECOND)


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
        emu.configure_limits(per_minute=None, concurrent=None, batch_per_minute=None)  # bounds are computed instead
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
                    ours = self._ours(emu, opts)
                    naive = self._naive(emu, opts)
                    if not opts["keep"]:
                        raise Rollback
            except Rollback:
                pass
        self._print(opts, ours, naive)

    # --- Kadouri ---------------------------------------------------------------------------------

    def _data(self, opts) -> list[Order]:
        seller = Account.objects.create(name="Bench Seller", code="BENCH-S")
        buyers = Account.objects.bulk_create(
            [
                Account(name=f"Bench Buyer {n:03d}", code=f"BENCH-B{n:03d}", email=f"b{n}@bench.example")
                for n in range(opts["buyers"])
            ]
        )
        products = Product.objects.bulk_create(
            [Product(name=f"Bench Product {n:03d}", unit_price=Decimal("10.00") + n) for n in range(opts["products"])]
        )
        orders = Order.objects.bulk_create(
            [
                Order(
                    number=f"BENCH-{n:05d}",
                    seller=seller,
                    buyer=buyers[n % len(buyers)],
                    order_date=date(2026, 11, 2),
                    ready_to_push=True,
                )
                for n in range(opts["orders"])
            ]
        )
        lines = []
        for n, order in enumerate(orders):
            for k in range(opts["lines"]):
                product = products[(n * 7 + k) % len(products)]
                lines.append(
                    OrderLine(
                        order=order,
                        product=product,
                        quantity=Decimal(k + 1),
                        unit_price=product.unit_price,
                        position=k,
                        amount=to_cents(product.unit_price * (k + 1)),
                    )
                )
        OrderLine.objects.bulk_create(lines)
        for order in Order.objects.filter(pk__in=[o.pk for o in orders]).prefetch_related("lines"):
            Order.objects.filter(pk=order.pk).update(content_fingerprint=order.compute_fingerprint())
        return orders

    def _ours(self, emu: Emulator, opts) -> dict:
        orders = self._data(opts)
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
        }

    # --- the naive loop (python-quickbooks README style) ----------------------------------------------

    def _naive(self, emu: Emulator, opts) -> dict:
        qb = make_quickbooks(emu, NAIVE_REALM)
        income = {"value": "1", "name": "Services"}
        orders = list(
            Order.objects.filter(number__startswith="BENCH-")
            .select_related("buyer")
            .prefetch_related("lines__product")
            .order_by("number")
        )
        emu.clear_requests()
        started = time.perf_counter()
        for order in orders:
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
                    item.Name, item.Type, item.IncomeAccountRef = line.product.name, "Service", income
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
        wall = time.perf_counter() - started
        api = emu.requests(path=f"/v3/company/{NAIVE_REALM}/")
        return {
            "requests": len(api),
            "batches": 0,
            "wall": wall,
            "invoices": len(emu.dump(NAIVE_REALM)["entities"]["Invoice"]),
            "pushed": len(orders),
            "failed": 0,
        }

    # --- report ------------------------------------------------------------------------------------

    def _print(self, opts, ours: dict, naive: dict) -> None:
        n = opts["orders"]
        rows = [
            ("QuickBooks requests", f"{ours['requests']}", f"{naive['requests']}"),
            ("  of which batch requests", f"{ours['batches']}", f"{naive['batches']}"),
            ("requests per order", f"{ours['requests'] / n:.3f}", f"{naive['requests'] / n:.2f}"),
            ("invoices in QuickBooks", f"{ours['invoices']}", f"{naive['invoices']}"),
            ("wall time here (emulator, no limits)", f"{ours['wall']:.1f} s", f"{naive['wall']:.1f} s"),
            (
                "lower bound from the limits",
                f"{lower_bound_seconds(ours['requests'], ours['batches']):.1f} s",
                f"{lower_bound_seconds(naive['requests'], naive['batches']):.1f} s",
            ),
        ]
        print(f"Pushing {n} orders ({opts['buyers']} buyers, {opts['products']} products, {opts['lines']} lines each)")
        print("limits: 500 requests/min, 120 batch requests/min, 10 requests/s, 10 concurrent per company")
        print(f"{'':40} {'Kadouri bulk push':>20} {'naive python-quickbooks':>26}")
        for label, a, b in rows:
            print(f"{label:40} {a:>20} {b:>26}")
        ratio = naive["requests"] / max(ours["requests"], 1)
        bound_ratio = lower_bound_seconds(naive["requests"], 0) / max(
            lower_bound_seconds(ours["requests"], ours["batches"]), 0.001
        )
        print(f"\nratio (naive / bulk): {ratio:.0f}× the requests, {bound_ratio:.0f}× the minimum wall time")


def main(argv: list[str] | None = None) -> None:
    Bench().run(vars(build_parser().parse_args(argv)))
