"""One style for money, numbers, times and names on every page and in every text Kadouri writes.

A realistic story (orders over $1,000, an edit, invoices, a payment, an estimate, a void, a reconciliation report,
a catch-up, a bulk push) is run through the real services against the emulator; then every page is crawled and
every stored text read, and each must use the one style: money with thousands separators ("$1,625.00"), times as
"Dec 6, 2026, 5:41 PM" (never "17:45:35" nor "5:42 p.m."), quantities and rates without trailing zeros, plural
names spelled right, people by the name the header shows.
"""

from __future__ import annotations

import re
from datetime import UTC
from decimal import Decimal

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from conftest import make_order
from kadouri.display import money, plain, when
from orders.models import Order, OrderActivity
from orders.services import LineInput, order_update
from qbo_integration import reconcile
from qbo_integration.inbound import catchup
from qbo_integration.models import BulkPush, IntegrationLog, QboConnection, QboReconcileRun, QboSyncJob, QboWebhookEvent
from qbo_integration.outbound.requests import order_update_request, order_void_request
from qbo_integration.testing import REALM_ID
from qbo_integration.tests.inbound_support import entities, invoiced, webhooks  # noqa: F401
from qbo_integration.tests.test_reconcile import edit_invoice_total

pytestmark = pytest.mark.django_db

MONEY_WITHOUT_SEPARATORS = re.compile(r"\$\d{4,}")
TIME_WITH_SECONDS = re.compile(r"\b\d{1,2}:\d{2}:\d{2}\b")
DOTTED_MERIDIEM = re.compile(r"\b[ap]\.m\.", re.I)
BAD_PLURALS = re.compile(r"\b\w+(?:s|sh|ch|x)s\b(?<!ss)|\bpushs\b|\(s\)", re.I)
TRAILING_ZEROS_IN_INPUT = re.compile(r'name="[^"]*(?:quantity|commission_rate)"[^>]*value="\d+\.\d*0"')
NOT_DISPLAYED = re.compile(r"<(script|style|pre|code)\b.*?</\1>", re.S)  # raw payloads and keys are data
# Random tokens (the CSRF token) are no words: "…6IXS" is not a misspelt plural.
RANDOM_TOKENS = re.compile(r'(?:value|content)="[A-Za-z0-9_-]{32,}"')


def style_problems(text: str) -> list[str]:
    text = RANDOM_TOKENS.sub("", NOT_DISPLAYED.sub("", text))
    problems = []
    for name, pattern in (
        ("money without separators", MONEY_WITHOUT_SEPARATORS),
        ("24-hour time with seconds", TIME_WITH_SECONDS),
        ("'p.m.' time", DOTTED_MERIDIEM),
        ("misspelt plural", BAD_PLURALS),
        ("trailing zeros in a form", TRAILING_ZEROS_IN_INPUT),
    ):
        problems += [f"{name}: …{text[max(m.start() - 60, 0) : m.end() + 20]}…" for m in pattern.finditer(text)]
    return problems


@pytest.fixture
def story(webhooks, admin_user, seller, buyer, apples, pears):  # noqa: F811
    QboConnection.objects.update(connected_by=admin_user)
    big = make_order(
        seller=seller,
        buyer=buyer,
        lines=[(apples, "50")],
        by=admin_user,
        number="BIG-1",
        commission_rate=Decimal("4.50"),
    )  # $1,625.00
    order_update(order_id=big.pk, fields={"commission_rate": Decimal("5")}, lines=None, by=admin_user)
    invoiced(big, by=admin_user)
    assert order_update_request(order=Order.objects.get(pk=big.pk), by=admin_user).result.get("nothingToUpdate")
    order_update(
        order_id=big.pk,
        fields={},
        by=admin_user,
        lines=[LineInput(product=apples, quantity=Decimal("60")), LineInput(product=pears, quantity=Decimal("12.5"))],
    )
    assert order_update_request(order=Order.objects.get(pk=big.pk), by=admin_user).state == "done"

    paid = invoiced(
        make_order(seller=seller, buyer=buyer, lines=[(pears, "40")], by=admin_user, number="PAID-2"), by=admin_user
    )  # $1,470.00
    webhooks.emu.record_payment(REALM_ID, paid.qbo_doc_id)
    webhooks.flush()
    estimate = invoiced(
        make_order(seller=seller, buyer=buyer, lines=[(apples, "100")], by=admin_user, number="EST-3"),
        by=admin_user,
        doc_type="estimate",
    )
    voided = invoiced(
        make_order(seller=seller, buyer=buyer, lines=[(apples, "31")], by=admin_user, number="VOID-4"), by=admin_user
    )
    assert order_void_request(order=voided, by=admin_user).state == "done"
    draft = make_order(seller=seller, buyer=buyer, lines=[(pears, "1000")], by=admin_user, number="DRAFT-5")

    webhooks.emu.configure_webhooks(drop_rate=1.0)  # QuickBooks changes the estimate's order unheard: drift
    posted = invoiced(
        make_order(seller=seller, buyer=buyer, lines=[(apples, "44")], by=admin_user, number="DRIFT-6"), by=admin_user
    )
    edit_invoice_total(posted, qty=100, amount=3250.0)
    reconcile.reconcile_run(by=admin_user)
    catchup.catchup_run(realm_id=REALM_ID)
    BulkPush.objects.create(
        state=BulkPush.State.DONE,
        total=1200,
        succeeded=1200,
        requests_used=47,
        message="Pushed 1,200 orders.",
        created_by=admin_user,
    )
    assert Order.objects.get(pk=paid.pk).status == Order.Status.PAID
    return {"orders": [big, paid, estimate, voided, draft, posted], "admin": admin_user}


def _pages(story) -> list[str]:
    urls = [
        "/",
        "/?status=paid",
        "/orders/new/",
        "/accounts/",
        "/accounts/new/",
        "/products/",
        "/products/new/",
        "/settings/quickbooks/",
        "/settings/quickbooks/inbox/",
        "/settings/quickbooks/reconcile/",
        "/settings/quickbooks/push/",
        "/admin/",
    ]
    for order in story["orders"]:
        urls += [f"/orders/{order.pk}/", f"/orders/{order.pk}/?tab=activity", f"/orders/{order.pk}/delete/"]
        if Order.objects.get(pk=order.pk).is_editable:
            urls.append(f"/orders/{order.pk}/edit/")
    order = story["orders"][0]
    urls += [
        f"/accounts/{order.seller_id}/",
        f"/accounts/{order.seller_id}/edit/",
        f"/products/{order.lines.first().product_id}/",
        f"/products/{order.lines.first().product_id}/edit/",
    ]
    urls += [f"/settings/quickbooks/inbox/{pk}/" for pk in QboWebhookEvent.objects.values_list("pk", flat=True)[:5]]
    urls += [reverse(f"admin:{m._meta.app_label}_{m._meta.model_name}_changelist") for m in admin.site._registry]
    return urls


def _stored_texts() -> list[str]:
    texts = list(OrderActivity.objects.values_list("description", flat=True))
    texts += list(IntegrationLog.objects.values_list("message", flat=True))
    texts += [t for pair in QboWebhookEvent.objects.values_list("result", "last_error") for t in pair]
    texts += list(QboSyncJob.objects.values_list("last_error", flat=True))
    for run in QboReconcileRun.objects.all():
        texts += [f"{d['kadouri']} · {d['quickbooks']}" for row in run.rows for d in row["drift"]]
    return texts


def test_every_page_and_every_stored_text_use_the_one_style(story, admin_client):
    problems = {}
    for url in _pages(story):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        if found := style_problems(response.content.decode()):
            problems[url] = found
    login = Client().get("/login/")
    problems |= {"/login/": style_problems(login.content.decode())} if style_problems(login.content.decode()) else {}
    for text in _stored_texts():
        if found := style_problems(text):
            problems[text[:80]] = found
    assert problems == {}, "\n".join(f"{where}: {p}" for where, found in problems.items() for p in found)


def test_the_story_shows_amounts_rates_and_names_in_the_one_style(story, admin_client):
    big = story["orders"][0]
    activity = admin_client.get(f"/orders/{big.pk}/?tab=activity").content.decode()
    assert "commission rate: 4.5% → 5%" in activity
    assert "total $1,625.00" in activity and "total now $2,409.38" in activity
    assert "Nothing to update" in activity
    assert re.search(r"\w{3} \d{1,2}, \d{4}, \d{1,2}:\d\d [AP]M · Ada Admin", activity)
    edit = admin_client.get(f"/orders/{big.pk}/edit/").content.decode()
    assert 'value="60"' in edit and 'value="12.5"' in edit and 'name="commission_rate" value="5"' in edit
    assert "$2,409.38" in admin_client.get(f"/orders/{big.pk}/").content.decode()
    settings_page = admin_client.get("/settings/quickbooks/").content.decode()
    assert re.search(r"Connected</dt><dd>\w{3} \d{1,2}, \d{4}, \d{1,2}:\d\d [AP]M by Ada Admin</dd>", settings_page)
    drift = admin_client.get("/settings/quickbooks/reconcile/").content.decode()
    assert "Kadouri $1,430.00 · QuickBooks $3,250.00" in drift
    assert "Bulk pushes" in admin_client.get("/admin/").content.decode()


def test_the_catch_up_summary_lists_what_it_found_in_words(story, admin_client):
    card = re.search(
        r'data-testid="last-catchup">(.*?)</dd>', admin_client.get("/settings/quickbooks/").content.decode(), re.S
    ).group(1)
    assert ", ;" not in card and not re.search(r"\d+ [A-Z]\w+", card.split("):", 1)[1])
    assert re.search(r"found (no changes|\d+ \w+s?(, \d+ \w+s?)*); \d+ new to Kadouri", card)


def test_the_formatters():
    assert [money(Decimal("1440")), money(Decimal("-5")), money(None), money("1234567.891")] == [
        "$1,440.00",
        "-$5.00",
        "—",
        "$1,234,567.89",
    ]
    assert [plain(Decimal("12.000")), plain(Decimal("4.50")), plain(Decimal("100.000")), plain(Decimal("0.000"))] == [
        "12",
        "4.5",
        "100",
        "0",
    ]
    from datetime import date, datetime

    assert when(datetime(2026, 12, 6, 22, 41, 35, tzinfo=UTC)) == "Dec 6, 2026, 5:41 PM"  # New York
    assert when(date(2026, 12, 6)) == "Dec 6, 2026" and when(None) == "—"


def test_every_model_has_a_correctly_spelt_plural_name():
    from django.apps import apps

    for model in apps.get_models():
        singular, plural = str(model._meta.verbose_name), str(model._meta.verbose_name_plural)
        if re.search(r"(s|sh|ch|x|z)$", singular):
            assert plural.endswith("es"), (model, plural)
        elif re.search(r"[^aeiou]y$", singular):
            assert plural.endswith("ies"), (model, plural)
