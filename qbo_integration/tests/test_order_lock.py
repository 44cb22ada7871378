"""A click's checks that may ask QuickBooks — the class list and an inactive class (strict books), the company's
currencies (multi-currency) — are made before the order's row is locked: no request to QuickBooks is made while
the lock (its transaction) is held, so another click or the worker never waits on QuickBooks for the order."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection

from conftest import make_account, make_order
from qbo_integration.models import QboSyncJob
from qbo_integration.outbound.requests import enqueue_order_job
from qbo_integration.testing import COMPANIES, connect_company

from .conftest import entities

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def watch_transactions(emu, monkeypatch) -> list[tuple[str, int]]:
    """Each request the emulator receives, with how many transactions Kadouri had open then (the test's own is the
    first): an order's lock is a select_for_update inside a transaction of its own."""
    seen: list[tuple[str, int]] = []
    handle = emu.handle

    def watching(method, path_with_query, headers=None, body=b"", slot=None):
        seen.append((path_with_query.split("?")[0].rsplit("/", 1)[-1], len(connection.atomic_blocks)))
        return handle(method, path_with_query, headers, body, slot)

    monkeypatch.setattr(emu, "handle", watching)
    return seen


@pytest.mark.parametrize("company", ["strict_books", "multi_currency"])
def test_no_quickbooks_request_while_the_order_row_is_locked(qbo, seller, apples, staff_user, monkeypatch, company):
    realm = COMPANIES[company]
    connect_company(qbo, realm)
    if company == "strict_books":
        dairy = next(c["Id"] for c in entities(qbo, "Class", realm) if c["Name"] == "Dairy")
        buyer, fields = make_account("Pier Nine Grocers", "PNG"), {"qbo_class_id": dairy}
    else:
        buyer, fields = make_account("Maple Fresh", "MPL", currency="CAD"), {}
    order = make_order(seller=seller, buyer=buyer, lines=[(apples, "2")], by=staff_user, **fields)
    seen = watch_transactions(qbo, monkeypatch)
    outside = len(connection.atomic_blocks)

    job, new = enqueue_order_job(order=order, action=QboSyncJob.Action.CREATE_INVOICE, by=staff_user, ip=None)

    assert new and job.state == "pending"
    assert [what for what, _ in seen] == ["query"]  # the class list, or the company's currencies: read once
    assert all(depth == outside for _, depth in seen), seen  # ... and not inside the order's transaction
