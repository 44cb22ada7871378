"""Orders ready to push, made in bulk for the benchmarks (rows only: no QuickBooks request)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import transaction

from accounts.models import Account
from orders.models import Order, OrderLine, to_cents
from products.models import Product


def bench_orders(count: int, *, buyers: int, products: int, lines: int) -> list[Order]:
    """`count` orders BENCH-00000… of a seller and `buyers` buyers, `lines` lines each over `products` products,
    marked ready to push (what "Push all pending" sends). One transaction: one commit, not one per order."""
    with transaction.atomic():
        return _bench_orders(count, buyers=buyers, products=products, lines=lines)


def _bench_orders(count: int, *, buyers: int, products: int, lines: int) -> list[Order]:
    seller = Account.objects.create(name="Bench Seller", code="BENCH-S")
    buyer_rows = Account.objects.bulk_create(
        [
            Account(name=f"Bench Buyer {n:03d}", code=f"BENCH-B{n:03d}", email=f"b{n}@bench.example")
            for n in range(buyers)
        ]
    )
    product_rows = Product.objects.bulk_create(
        [Product(name=f"Bench Product {n:03d}", unit_price=Decimal("10.00") + n) for n in range(products)]
    )
    orders = Order.objects.bulk_create(
        [
            Order(
                number=f"BENCH-{n:05d}",
                seller=seller,
                buyer=buyer_rows[n % len(buyer_rows)],
                order_date=date(2026, 11, 2),
                ready_to_push=True,
            )
            for n in range(count)
        ]
    )
    OrderLine.objects.bulk_create(
        [
            _line(order, product_rows[(n * 7 + k) % len(product_rows)], k)
            for n, order in enumerate(orders)
            for k in range(lines)
        ]
    )
    for order in Order.objects.filter(pk__in=[o.pk for o in orders]).prefetch_related("lines"):
        Order.objects.filter(pk=order.pk).update(content_fingerprint=order.compute_fingerprint())
    return orders


def _line(order: Order, product: Product, position: int) -> OrderLine:
    quantity = Decimal(position + 1)
    return OrderLine(
        order=order,
        product=product,
        quantity=quantity,
        unit_price=product.unit_price,
        position=position,
        amount=to_cents(product.unit_price * quantity),
    )
