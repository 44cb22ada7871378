"""Helpers for the broker's own books tests (docs/quickbooks/beyond.md#the-brokers-own-books): the company keeping
them, its broker jobs run as the worker runs them, and what the emulator holds."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from qbo_integration.models import BrokerBooks, BrokerDocument, QboConnection, QboSyncJob
from qbo_integration.outbound.runners import qbo_jobs_process_due
from qbo_integration.testing import REALM_ID

BROKER = QboSyncJob.Action.SYNC_BROKER_DOCUMENT
# The test order: 10 × 32.50 + 4 × 36.75 = 472.00; 5% commission 23.60; the seller's proceeds 448.40.
TOTAL, COMMISSION, PROCEEDS = Decimal("472.00"), Decimal("23.60"), Decimal("448.40")


def entities(emu, entity: str, realm: str = REALM_ID) -> list[dict]:
    return emu.dump(realm)["entities"][entity]


def account_id(emu, name: str) -> str:
    return next(a["Id"] for a in entities(emu, "Account") if a["Name"] == name)


def keep_books(emu, mode: str = BrokerBooks.SELLER_BILL, **fields) -> QboConnection:
    """The company keeps the broker's books: bills booked to Purchases unless told otherwise."""
    fields.setdefault("seller_bill_account_id", account_id(emu, "Purchases"))
    QboConnection.objects.update(broker_books=mode, **fields)
    return QboConnection.objects.get()


def run_broker_jobs() -> list[QboSyncJob]:
    """What the worker does: every pending broker job due now, one attempt each (their retries made due too)."""
    QboSyncJob.objects.filter(action=BROKER, state=QboSyncJob.State.PENDING).update(not_before=timezone.now())
    qbo_jobs_process_due()
    return list(QboSyncJob.objects.filter(action=BROKER).order_by("pk"))


def broker_of(order) -> BrokerDocument:
    return BrokerDocument.objects.get(order=order)


@pytest.fixture
def books(qbo_connected):
    keep_books(qbo_connected)
    return qbo_connected
