"""The order page's QuickBooks figures follow a push without a reload: the panel's answer (the button's, or a
poll's once the worker is done) carries the tax rows and QuickBooks' total, its number, class and currency
equivalent as htmx out-of-band swaps, each onto a place the page always has. (tests/browser/
test_canadian_company.py watches it in Chromium.)"""

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from qbo_integration import tasks
from qbo_integration.models import QboSyncJob
from qbo_integration.testing import COMPANIES, connect_company

from .conftest import entities

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def oob(html: str, element_id: str) -> str:
    found = re.search(rf'<(\w+) id="{element_id}"[^>]*hx-swap-oob="true"[^>]*>(.*?)</\1>', html, re.S)
    return found.group(2) if found else ""


def canadian_order(qbo, order_factory):
    conn = connect_company(qbo, COMPANIES["canada"])
    conn.default_tax_code_id = {c["Name"]: c["Id"] for c in entities(qbo, "TaxCode", COMPANIES["canada"])}["HST ON"]
    conn.save()
    return order_factory()


def test_create_invoice_answers_with_the_tax_rows_and_quickbooks_total(staff_client, qbo, order_factory):
    order = canadian_order(qbo, order_factory)
    page = staff_client.get(order.get_absolute_url()).content.decode()
    assert "QuickBooks adds it when the order is sent" in page and "hx-swap-oob" not in page
    assert '"tab": "lines"' in page  # the panel's requests say which tab the page shows

    html = staff_client.post(f"/settings/quickbooks/orders/{order.pk}/invoice/", {"tab": "lines"}, **HTMX)

    text = html.content.decode()
    assert "Invoice #KD" in text and "created in QuickBooks" in text
    totals = re.search(r"<template>(.*?)</template>", text, re.S).group(1)  # a <tfoot> can't stand alone
    assert 'id="order-totals" hx-swap-oob="true"' in totals
    assert "Tax in QuickBooks: HST Ontario 13% on CAD 472.00" in totals
    assert 'data-testid="qbo-tax-total">CAD 61.36<' in totals and 'data-testid="qbo-taxed-total">CAD 533.36<' in totals
    assert "QuickBooks adds it" not in totals
    assert 'id="order-qbo-number" hx-swap-oob="true"' in text and 'id="order-facts" hx-swap-oob="true"' in text
    assert 'id="order-currency" class="grid-slot" hx-swap-oob="true"' in text


def test_on_the_activity_tab_the_answer_swaps_no_totals(staff_client, qbo, order_factory):
    order = canadian_order(qbo, order_factory)
    page = staff_client.get(f"{order.get_absolute_url()}?tab=activity").content.decode()
    assert '"tab": "activity"' in page and "order-totals" not in page

    text = staff_client.post(f"/settings/quickbooks/orders/{order.pk}/invoice/", {"tab": "activity"}, **HTMX)

    assert "order-totals" not in text.content.decode() and "created in QuickBooks" in text.content.decode()


def test_a_poll_brings_the_figures_when_the_worker_creates_the_invoice_later(staff_client, qbo, order_factory):
    order = canadian_order(qbo, order_factory)
    qbo.add_fault("503", method="POST", path="/invoice$", count=1)
    queued = staff_client.post(f"/settings/quickbooks/orders/{order.pk}/invoice/", {"tab": "lines"}, **HTMX)
    since = re.search(r'"since": "([0-9a-f]+)"', queued.content.decode()).group(1)
    poll = f"/settings/quickbooks/orders/{order.pk}/live/"
    assert "Queued" in queued.content.decode()
    assert staff_client.get(poll, {"since": since, "tab": "lines"}, **HTMX).status_code == 204

    QboSyncJob.objects.filter(order=order).update(not_before=timezone.now() - timedelta(seconds=1))
    tasks.qbo_drain_due_jobs()  # the worker's retry
    answer = staff_client.get(poll, {"since": since, "tab": "lines"}, **HTMX).content.decode()

    totals = oob(answer, "order-totals")
    assert "Tax in QuickBooks: HST Ontario 13% on CAD 472.00" in totals
    assert 'data-testid="qbo-taxed-total">CAD 533.36<' in totals
