"""The bench's data: buyers, sellers, products, a few hundred orders of 1-6 lines in every status, and one logged-in
session per user (made as a log-in leaves it: the form's password hashing is not what the bench measures)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.db import connections

from accounts.models import Account
from orders.models import Order
from orders.services import LineInput, order_create, order_set_status
from products.models import Product

STATUSES = (
    [Order.Status.DRAFT] * 4 + [Order.Status.POSTED_TO_QB] * 3 + [Order.Status.PAID] * 2 + [Order.Status.CANCELLED]
)
AUTH_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _accounts(prefix: str, count: int) -> list[Account]:
    return [
        Account.objects.create(
            name=f"{prefix} {n:02d}", code=f"{prefix[:2].upper()}{n:02d}", email=f"{prefix.lower()}{n}@example.com",
            city="Fresno",
        )
        for n in range(1, count + 1)
    ]  # fmt: skip


def _orders(count: int, rng: random.Random, by) -> list[int]:
    sellers, buyers = _accounts("Seller", 12), _accounts("Buyer", 40)
    products = [Product.objects.create(name=f"Product {n:02d}", unit_price=Decimal(rng.randint(500, 9000)) / 100)
                for n in range(1, 41)]  # fmt: skip
    ids = []
    for n in range(count):
        header = {
            "seller": rng.choice(sellers),
            "buyer": rng.choice(buyers),
            "order_date": date(2026, 1, 1) + timedelta(days=n % 330),
            "terms": Order.Terms.NET_30,
            "commission_rate": Decimal("5.00"),
            "notes": "",
        }
        lines = [
            LineInput(product=p, quantity=Decimal(rng.randint(1, 60)), unit_price=p.unit_price)
            for p in rng.sample(products, rng.randint(1, 6))
        ]
        order = order_create(fields=header, lines=lines, by=by)
        if (status := rng.choice(STATUSES)) != Order.Status.DRAFT:
            order_set_status(order=order, status=status, user_name="Bench")
        ids.append(order.pk)
    return ids


def _sessions(users: int) -> list[str]:
    user_model, keys = get_user_model(), []
    for n in range(1, users + 1):
        user = user_model.objects.create_user(f"staff{n:02d}", first_name="Staff", last_name=f"{n:02d}")
        user.set_unusable_password()
        user.save()
        session = SessionStore()
        session.update(
            {
                SESSION_KEY: str(user.pk),
                BACKEND_SESSION_KEY: AUTH_BACKEND,
                HASH_SESSION_KEY: user.get_session_auth_hash(),
            }
        )
        session.create()
        keys.append(session.session_key)
    return keys


def seed(*, orders: int, users: int, seed_value: int) -> tuple[list[int], list[str]]:
    """The orders' ids and one session key per user."""
    rng = random.Random(seed_value)
    sessions = _sessions(users)
    ids = _orders(orders, rng, by=get_user_model().objects.get(username="staff01"))
    connections.close_all()
    return ids, sessions
