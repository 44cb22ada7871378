"""Shared by the security suites: a populated world, database snapshots, and secret hunting in responses."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.sessions.models import Session

from accounts.models import Account
from conftest import make_account, make_order, make_product
from orders.models import Order, OrderActivity, OrderLine
from products.models import Product
from qbo_integration.models import IntegrationLog, QboConnection

WEBHOOK_PATH = "/api/quickbooks/webhook"
TRACEBACK_MARKERS = ("Traceback (most recent call last)", 'File "/', "django.core.exceptions", "Exception Value:")


@dataclass
class World:
    seller: Account
    buyer: Account
    other: Account
    apples: Product
    pears: Product
    draft: Order
    posted: Order
    paid: Order
    conn: QboConnection


def build_world(staff_user) -> World:
    seller, buyer = make_account("Green Valley Farms", "GVF"), make_account("Harbor Fresh Market", "HFM")
    other = make_account("Orchard Row", "ORW")
    apples, pears = make_product("Gala Apples", "32.50"), make_product("Bartlett Pears", "36.75")
    lines = [(apples, "10"), (pears, "4")]
    draft = make_order(seller=seller, buyer=buyer, lines=lines, by=staff_user, number="KD-DRAFT-1")
    posted = make_order(
        seller=seller, buyer=buyer, lines=lines, by=staff_user, number="KD-POSTED-1", status=Order.Status.POSTED_TO_QB
    )
    paid = make_order(
        seller=seller, buyer=other, lines=lines, by=staff_user, number="KD-PAID-1", status=Order.Status.PAID
    )
    conn = QboConnection.objects.get()
    IntegrationLog.objects.create(realm_id=conn.realm_id, event=IntegrationLog.Event.CONNECTED, message="Connected.")
    return World(seller, buyer, other, apples, pears, draft, posted, paid, conn)


@pytest.fixture
def world(qbo_connected, staff_user) -> World:
    return build_world(staff_user)


def add_integration_rows(world: World) -> None:
    """One row in each integration table (if the model exists in this shape), for admin and crawler pages."""
    realm = world.conn.realm_id
    optional = {
        # Finished: an active job would (rightly) keep the draft from being deleted (orders.services.order_delete).
        "QboSyncJob": dict(
            realm_id=realm, action="create_invoice", order=world.draft, request_id="crawl-1", state="done"
        ),
        "QboWebhookEvent": dict(
            dedupe_key="crawl-1", source="legacy", realm_id=realm, entity="Invoice", entity_id="1", operation="Update"
        ),
        "SyncConflict": dict(object_type="account", object_id=world.seller.pk, field="name"),
        "BulkPush": dict(),
        "QboCatchUp": dict(realm_id=realm),
        "QboReconcileRun": dict(realm_id=realm),
        "QboInboxLease": dict(realm_id=realm),
        "QboWebhookCounter": dict(name="crawl"),
    }
    for name, values in optional.items():
        try:
            model = apps.get_model("qbo_integration", name)
        except LookupError:
            continue
        try:
            model._default_manager.create(**values)
        except TypeError:  # the model changed shape; its pages are still crawled with an unknown id
            pass


# --- snapshots -------------------------------------------------------------------------------------

BUSINESS_MODELS = (Account, Product, Order, OrderLine, OrderActivity, QboConnection)
IGNORED_COLUMNS = {"last_login"}


def _rows(model) -> list[dict]:
    return sorted(
        ({k: v for k, v in row.items() if k not in IGNORED_COLUMNS} for row in model._default_manager.values()),
        key=lambda row: repr(row.get("id", row)),
    )


def business_snapshot() -> dict:
    """Orders, lines, activities, accounts, products and the token vault (decrypted values)."""
    models = list(BUSINESS_MODELS)
    for name in ("QboWebhookEvent", "QboSyncJob"):
        try:
            models.append(apps.get_model("qbo_integration", name))
        except LookupError:
            pass
    return {model._meta.label: _rows(model) for model in models}


def full_snapshot() -> dict:
    """Every row of every table but sessions (a GET may rightly start one)."""
    return {model._meta.label: _rows(model) for model in apps.get_models() if model is not Session}


def diff(before: dict, after: dict) -> list[str]:
    return [label for label in before if before[label] != after.get(label)]


# --- what a response must never contain -----------------------------------------------------------


def secrets_now() -> dict[str, str]:
    found = {
        "SECRET_KEY": settings.SECRET_KEY,
        "QBO_CLIENT_SECRET": settings.QBO_CLIENT_SECRET,
        "QBO_WEBHOOK_VERIFIER_TOKEN": settings.QBO_WEBHOOK_VERIFIER_TOKEN,
    }
    for conn in QboConnection.objects.all():
        found[f"access_token:{conn.realm_id}"] = conn.access_token
        found[f"refresh_token:{conn.realm_id}"] = conn.refresh_token
    return {name: value for name, value in found.items() if value and len(value) >= 8}


def response_text(response) -> str:
    if getattr(response, "streaming", False):
        return ""
    headers = "\n".join(f"{k}: {v}" for k, v in response.items())
    return headers + "\n" + response.content.decode("utf-8", "replace")


def assert_no_leak(response, secrets: dict[str, str], where: str = "") -> None:
    text = response_text(response)
    for name, value in secrets.items():
        assert value not in text, f"{where}: {name} in the response"
    for marker in TRACEBACK_MARKERS:
        assert marker not in text, f"{where}: traceback marker {marker!r} in the response"
