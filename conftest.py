"""Fixtures shared by every app's tests: people and the few rows most tests need."""

from datetime import date
from decimal import Decimal

import pytest
from django.test import Client

from accounts.models import Account
from orders.models import Order
from orders.services import LineInput, order_create, order_set_status
from products.models import Product

pytest_plugins = ["qbo_integration.emulator.testing", "qbo_integration.testing"]


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user("sam", password="pw-sam-123", first_name="Sam", last_name="Staff")


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser("ada", password="pw-ada-123", first_name="Ada", last_name="Admin")


@pytest.fixture
def staff_client(staff_user):
    staff = Client()
    staff.force_login(staff_user)
    return staff


@pytest.fixture
def admin_client(admin_user):
    admin = Client()
    admin.force_login(admin_user)
    return admin


def make_account(name: str, code: str, **extra) -> Account:
    return Account.objects.create(name=name, code=code, email=f"{code.lower()}@example.com", city="Fresno", **extra)


def make_product(name: str, price: str, **extra) -> Product:
    return Product.objects.create(name=name, unit_price=Decimal(price), **extra)


@pytest.fixture
def seller(db):
    return make_account("Green Valley Farms", "GVF")


@pytest.fixture
def buyer(db):
    return make_account("Harbor Fresh Market", "HFM")


@pytest.fixture
def apples(db):
    return make_product("Gala Apples", "32.50")


@pytest.fixture
def pears(db):
    return make_product("Bartlett Pears", "36.75")


def make_order(*, seller, buyer, lines, by=None, status=Order.Status.DRAFT, **fields) -> Order:
    header = {
        "seller": seller,
        "buyer": buyer,
        "order_date": date(2026, 11, 2),
        "terms": Order.Terms.NET_30,
        "commission_rate": Decimal("5.00"),
        "notes": "",
    } | fields
    # Each line at its product's price, typed in (a buyer paying in another currency has no list price to fall on)
    priced = [LineInput(product=p, quantity=Decimal(q), unit_price=p.unit_price) for p, q in lines]
    order = order_create(fields=header, lines=priced, by=by)
    if status != Order.Status.DRAFT:
        order_set_status(order=order, status=status, user_name="Test")
        order.refresh_from_db()
    return order


@pytest.fixture
def order_factory(seller, buyer, apples, pears, staff_user):
    def factory(status=Order.Status.DRAFT, **fields):
        return make_order(
            seller=seller, buyer=buyer, lines=[(apples, "10"), (pears, "4")], by=staff_user, status=status, **fields
        )

    return factory
