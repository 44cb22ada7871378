"""The company's closing date (the strict-books company, books closed up to Jun 30, 2026): a push, update, void or
conversion of an order dated on or before it is refused before anything is sent — on the order page, through the
JSON API and in a bulk push — and QuickBooks' own 6210, when the date moved since the profile was read, reads the
profile again and says the same in plain words. The idealised company is the control."""

from __future__ import annotations

from datetime import date

import pytest

from conftest import make_order
from orders.services import order_update
from qbo_integration.adapt.closing import is_period_closed
from qbo_integration.bulk.push import bulk_push_run, bulk_push_start
from qbo_integration.client.errors import QboStaleError, QboValidationError, batch_fault, classify
from qbo_integration.models import CompanyProfile, QboSyncJob
from qbo_integration.outbound.requests import order_push_request
from qbo_integration.testing import COMPANIES, connect_company

from .conftest import entities

STRICT = COMPANIES["strict_books"]
CLOSED = (
    "QuickBooks' books are closed up to Jun 30, 2026: this order is dated Jun 12, 2026, so QuickBooks would refuse it."
)
HTMX = {"HTTP_HX_REQUEST": "true"}

pytestmark = pytest.mark.django_db


@pytest.fixture
def strict(qbo, db):
    connect_company(qbo, STRICT)
    qbo.clear_requests()
    return qbo


def _writes(emu) -> int:
    return sum(emu.count_requests(method="POST", subpath=s) for s in ("invoice", "estimate", "batch"))


def test_the_order_page_refuses_a_closed_period_order_before_sending(staff_client, strict, order_factory):
    order = order_factory(order_date=date(2026, 6, 12))

    response = staff_client.post(f"/settings/quickbooks/orders/{order.pk}/invoice/", **HTMX)

    page = response.content.decode().replace("&#x27;", "'")
    assert response.status_code == 200 and CLOSED in page
    assert "Change the order date or ask your accountant to reopen the period." in page
    assert strict.requests(path="/v3/company/") == []  # nothing sent, not even a look-up
    order.refresh_from_db()
    assert order.status == "draft" and not QboSyncJob.objects.exists()


def test_the_api_answers_422_for_the_closed_period_and_the_date_itself_is_closed(staff_client, strict, order_factory):
    on_the_date = order_factory(order_date=date(2026, 6, 30))
    after = order_factory(order_date=date(2026, 7, 1))

    refused = staff_client.post(
        f"/api/quickbooks/sync/order/{on_the_date.pk}", data={"docType": "estimate"}, content_type="application/json"
    )
    accepted = staff_client.post(
        f"/api/quickbooks/sync/order/{after.pk}", data={"docType": "invoice"}, content_type="application/json"
    )

    assert refused.status_code == 422
    assert refused.json()["error"].startswith("QuickBooks' books are closed up to Jun 30, 2026: this order is dated")
    assert accepted.status_code == 200, accepted.json()
    assert len(entities(strict, "Invoice", STRICT)) == 1 and entities(strict, "Estimate", STRICT) == []


def test_moving_a_posted_order_into_the_closed_period_or_voiding_it_there_is_refused(
    staff_client, strict, order_factory, staff_user
):
    order = order_factory(order_date=date(2026, 7, 2))
    assert order_push_request(order=order, doc_type="invoice", by=staff_user).state == "done"
    order = order_update(order_id=order.pk, fields={"order_date": date(2026, 6, 12)}, lines=None, by=staff_user)
    strict.clear_requests()

    update = staff_client.put(f"/api/quickbooks/sync/order/{order.pk}", content_type="application/json")

    assert update.status_code == 422 and update.json()["error"].startswith(CLOSED[:60])
    assert _writes(strict) == 0
    # The owner closes July too: the invoice (dated Jul 2) can no longer be changed or voided.
    strict.update_preferences(STRICT, {"AccountingInfoPrefs": {"BookCloseDate": "2026-07-31"}})
    CompanyProfile.objects.filter(realm_id=STRICT).update(book_close_date=date(2026, 7, 31))
    order = order_update(order_id=order.pk, fields={"order_date": date(2026, 8, 3)}, lines=None, by=staff_user)

    moved_out = staff_client.put(f"/api/quickbooks/sync/order/{order.pk}", content_type="application/json")
    void = staff_client.delete(f"/api/quickbooks/sync/order/{order.pk}", content_type="application/json")

    assert moved_out.json()["job"]["error"].startswith(
        "QuickBooks' books are closed up to Jul 31, 2026: the invoice in QuickBooks is dated Jul 2, 2026, so "
        "QuickBooks would refuse to change it."
    )
    # Known only once the invoice is read, inside the job: the job is refused (409) with the same plain words.
    assert (moved_out.status_code, void.status_code) == (409, 409)
    assert void.json()["error"].startswith(
        "QuickBooks' books are closed up to Jul 31, 2026: the invoice in QuickBooks is dated Jul 2, 2026, so "
        "QuickBooks would refuse to void it. Ask your accountant to reopen the period."
    )
    assert _writes(strict) == 0  # the update read the invoice, and wrote nothing
    order.refresh_from_db()
    assert order.status == "posted_to_qb"


def test_a_bulk_push_fails_the_closed_period_order_with_the_reason(strict, seller, buyer, apples, staff_user):
    closed = make_order(
        seller=seller,
        buyer=buyer,
        lines=[(apples, "3")],
        by=staff_user,
        ready_to_push=True,
        order_date=date(2026, 6, 1),
    )
    open_ = make_order(
        seller=seller,
        buyer=buyer,
        lines=[(apples, "2")],
        by=staff_user,
        ready_to_push=True,
        order_date=date(2026, 8, 1),
    )

    bulk = bulk_push_run(bulk_id=bulk_push_start(by=staff_user).pk)

    assert (bulk.succeeded, bulk.failed) == (1, 1), bulk.message
    failed = QboSyncJob.objects.get(order=closed)
    assert failed.state == "failed" and failed.last_error.startswith(
        "QuickBooks' books are closed up to Jun 30, 2026: this order is dated Jun 1, 2026"
    )
    (invoice,) = entities(strict, "Invoice", STRICT)
    open_.refresh_from_db()
    assert open_.qbo_doc_id == invoice["Id"]
    assert closed.activities.filter(activity_type="sync_failed").exists()


def test_a_closing_date_quickbooks_moved_meanwhile_is_explained_and_the_profile_read_again(
    staff_client, strict, order_factory, staff_user
):
    order = order_factory(order_date=date(2026, 7, 15))
    strict.update_preferences(STRICT, {"AccountingInfoPrefs": {"BookCloseDate": "2026-07-31"}})  # Kadouri not told

    job = order_push_request(order=order, doc_type="invoice", by=staff_user)

    assert job.state == "failed" and job.error_code == "6210" and job.error_kind == "validation"
    assert job.last_error == (
        "QuickBooks' books are closed up to Jul 31, 2026: this order is dated Jul 15, 2026, so QuickBooks would "
        "refuse it. Change the order date or ask your accountant to reopen the period."
    )
    assert CompanyProfile.objects.get(realm_id=STRICT).book_close_date == date(2026, 7, 31)
    assert order.activities.filter(activity_type="sync_failed").count() == 1


def test_closed_period_faults_are_validation_errors_whatever_their_code():
    by_code = classify(code="6210", status=400, detail="Account Period Closed, cannot update through Services API")
    by_text = classify(code="5010", status=400, detail="", fault_message="Account Period Closed")
    in_batch = batch_fault({"Error": [{"code": "5010", "Message": "Account Period Closed"}]}, "Invoice #1")
    stale = classify(code="5010", status=400, detail="Stale Object Error")

    assert all(isinstance(e, QboValidationError) for e in (by_code, by_text, in_batch))
    assert "books are closed" in by_code.message and isinstance(stale, QboStaleError)


def test_a_5010_saying_the_period_is_closed_only_in_its_message_reads_as_closed_books():
    error = classify(code="5010", status=400, detail="", fault_message="Account Period Closed")

    assert error.message == (
        "QuickBooks' books are closed for this date (QuickBooks error 5010). Change the order date or ask your "
        "accountant to reopen the period."
    )
    assert is_period_closed(error)  # so the job says it with the order's dates (adapt/closing.py)


def test_the_idealised_company_pushes_any_date(staff_client, qbo_connected, order_factory):
    order = order_factory(order_date=date(2020, 1, 2))

    response = staff_client.post(
        f"/api/quickbooks/sync/order/{order.pk}", data={"docType": "invoice"}, content_type="application/json"
    )

    assert response.status_code == 200
