"""The order page, the buyer's page and the money JSON cost the same number of queries however many payments and
credits the order has: more money on an order must not make its pages slower per row."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from qbo_integration.models import QboMoney
from qbo_integration.testing import REALM_ID

from .test_credits_api import posted

pytestmark = pytest.mark.django_db
Money = QboMoney.Entity


def _add_money(order, start: int, count: int) -> None:
    for n in range(start, start + count):
        credit = QboMoney.objects.create(
            realm_id=REALM_ID,
            entity=Money.CREDIT_MEMO,
            qbo_id=f"c{n}",
            doc_number=f"CM{n}",
            order=order,
            account=order.buyer,
            total=Decimal("10.00"),
            amount=Decimal("10.00"),
            unapplied=Decimal("4.00"),
            reason="damaged",
            recorded_in_kadouri=True,
            recorded_by_name="Sam Staff",
        )
        QboMoney.objects.create(
            realm_id=REALM_ID,
            entity=Money.REFUND_RECEIPT,
            qbo_id=f"r{n}",
            account=order.buyer,
            credit=credit,
            total=Decimal("1.00"),
            amount=Decimal("1.00"),
        )
        QboMoney.objects.create(
            realm_id=REALM_ID,
            entity=Money.PAYMENT,
            qbo_id=f"p{n}",
            order=order,
            total=Decimal("2.00"),
            amount=Decimal("2.00"),
            method_name="Check",
        )


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_more_payments_and_credits_do_not_cost_more_queries(staff_client, qbo_connected, order_factory):
    order = posted(staff_client, order_factory())
    urls = [
        order.get_absolute_url(),
        order.buyer.get_absolute_url(),
        f"/api/quickbooks/sync/order/{order.pk}/credits",
        f"/api/quickbooks/sync/order/{order.pk}/payments",
    ]
    _add_money(order, 0, 1)
    one_each = {url: _queries(staff_client, url) for url in urls}
    _add_money(order, 1, 4)
    five_each = {url: _queries(staff_client, url) for url in urls}

    assert five_each == one_each
    page = staff_client.get(order.get_absolute_url()).content.decode()
    assert page.count('data-testid="credit-row"') == 5 and page.count('data-testid="payment-row"') == 5
    assert page.count('data-testid="credit-refunded">$1.00') == 5
