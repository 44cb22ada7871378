"""Invoices that reach the buyer, through the services against the emulator (docs/quickbooks/beyond.md
#invoices-that-reach-the-buyer): email an invoice or an estimate, exactly once (a double click, a lost answer); the
PDF fetched by the worker and kept while current; online payment by card or bank transfer with QuickBooks' link; a
send or a link made in QuickBooks reaching the order by webhook; and every refusal, with nothing sent."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Order, OrderActivity
from qbo_integration import tasks
from qbo_integration.models import QboConnection, QboSyncJob
from qbo_integration.models_beyond import QboDocumentPdf
from qbo_integration.outbound.delivery_requests import (
    email_request,
    online_payment_request,
    pdf_request,
    resend_token,
)
from qbo_integration.outbox.jobs import SyncRefused
from qbo_integration.selectors.delivery import current_pdf, pdf_filename, preparing_pdf
from qbo_integration.testing import REALM_ID, connect_company

from .inbound_support import entities, invoiced, posted, webhooks  # noqa: F401

pytestmark = pytest.mark.django_db

SIMPLE_START = "9130350000000010"
TO = "ap@harbor.example"


def sends(emu, order) -> int:
    return emu.count_requests(method="POST", subpath=f"invoice/{order.qbo_doc_id}/send")


def email(order, by, to=TO, **kw):
    return email_request(order=order, to=to, by=by, ip="10.0.0.7", **kw)


def drain_now() -> None:
    QboSyncJob.objects.filter(state="pending").update(not_before=timezone.now())
    tasks.qbo_drain_due_jobs()


# --- email -----------------------------------------------------------------------------------------------------


def test_emailing_an_invoice_mails_the_buyer_and_the_order_shows_when_and_to_whom(posted, staff_user, qbo_connected):
    job = email(posted, staff_user)

    assert job.state == "done", job.last_error
    posted.refresh_from_db()
    assert [m["to"] for m in qbo_connected.sent_mail(REALM_ID)] == [TO]
    (invoice,) = entities(qbo_connected, "Invoice")
    assert invoice["BillEmail"]["Address"] == TO and invoice["EmailStatus"] == "EmailSent"
    assert (posted.qbo_email_status, posted.qbo_emailed_to) == ("EmailSent", TO)
    assert posted.qbo_emailed_at is not None and posted.qbo_sync_token == invoice["SyncToken"]
    (entry,) = posted.activities.filter(activity_type=OrderActivity.Type.INVOICE_EMAILED)
    assert entry.description == f"Invoice #{posted.qbo_doc_number} emailed to {TO} by QuickBooks for Sam Staff."
    assert (entry.user, entry.ip_address, entry.details["to"]) == (staff_user, "10.0.0.7", TO)


def test_a_double_click_joins_the_first_send_and_a_new_click_mails_again(posted, staff_user, qbo_connected):
    first = email(posted, staff_user, token="form-1")
    again = email(posted, staff_user, token="form-1")

    assert again.pk == first.pk and sends(qbo_connected, posted) == 1
    posted.refresh_from_db()
    resent = email(posted, staff_user, token=resend_token(posted))
    assert resent.pk != first.pk and resent.state == "done"
    posted.refresh_from_db()
    assert email(posted, staff_user, token=resend_token(posted)).pk != resent.pk  # the token moved on with the send
    assert sends(qbo_connected, posted) == 3
    assert posted.activities.filter(activity_type=OrderActivity.Type.INVOICE_EMAILED).count() == 3


def test_a_lost_answer_is_not_mailed_twice(posted, staff_user, qbo_connected):
    qbo_connected.add_fault("drop", method="POST", path="/send$")

    job = email(posted, staff_user)

    assert job.state == "pending" and job.in_doubt
    drain_now()
    job.refresh_from_db()
    assert job.state == "done" and job.result["adopted"] is True
    assert sends(qbo_connected, posted) == 1 and len(qbo_connected.sent_mail(REALM_ID)) == 1
    posted.refresh_from_db()
    assert posted.qbo_emailed_to == TO and posted.qbo_email_status == "EmailSent"
    (entry,) = posted.activities.filter(activity_type=OrderActivity.Type.INVOICE_EMAILED)
    assert "not mailed twice" in entry.description


def test_a_failure_before_the_send_retries_and_mails_once(posted, staff_user, qbo_connected):
    qbo_connected.add_fault("503", method="POST", path="/send$")

    job = email(posted, staff_user)
    assert job.state == "pending"
    drain_now()

    job.refresh_from_db()
    assert job.state == "done" and job.result["adopted"] is False
    assert len(qbo_connected.sent_mail(REALM_ID)) == 1


def test_an_estimate_is_emailed_too(webhooks, order_factory, staff_user, qbo_connected):
    order = invoiced(order_factory(), by=staff_user, doc_type="estimate")

    job = email(order, staff_user)

    assert job.state == "done", job.last_error
    order.refresh_from_db()
    assert order.qbo_emailed_to == TO
    assert [(m["entity"], m["to"]) for m in qbo_connected.sent_mail(REALM_ID)] == [("Estimate", TO)]
    assert "Estimate #" in order.activities.get(activity_type=OrderActivity.Type.INVOICE_EMAILED).description


@pytest.mark.parametrize("to", ["", "not-an-address", "a@b.example, c@d.example", "x" * 250 + "@b.example"])
def test_a_bad_address_is_refused_on_its_field_and_nothing_is_sent(posted, staff_user, qbo_connected, to):
    with pytest.raises(SyncRefused) as refused:
        email(posted, staff_user, to=to)

    assert (refused.value.status, refused.value.field) == (422, "to")
    assert not QboSyncJob.objects.filter(action="send_document").exists()
    assert qbo_connected.sent_mail(REALM_ID) == []


def test_a_draft_a_voided_invoice_and_a_cash_sale_are_not_emailed(posted, order_factory, staff_user, qbo_connected):
    draft = order_factory()
    with pytest.raises(SyncRefused, match="draft and not in QuickBooks"):
        email(draft, staff_user)
    qbo_connected.void_invoice(REALM_ID, posted.qbo_doc_id)
    tasks_flush(qbo_connected)
    posted.refresh_from_db()
    assert posted.status == Order.Status.CANCELLED
    with pytest.raises(SyncRefused, match="voided in QuickBooks") as refused:
        email(posted, staff_user)
    assert refused.value.status == 409
    assert qbo_connected.sent_mail(REALM_ID) == []


def tasks_flush(emu) -> None:
    emu.flush_webhooks(force=True)


def test_an_invoice_voided_in_quickbooks_before_the_webhook_is_refused_by_the_job(posted, staff_user, qbo_connected):
    qbo_connected.void_invoice(REALM_ID, posted.qbo_doc_id)  # the webhook not delivered yet

    job = email(posted, staff_user)

    assert job.state == "failed" and "voided" in job.last_error
    assert qbo_connected.sent_mail(REALM_ID) == [] and sends(qbo_connected, posted) == 0


def test_nothing_is_asked_while_disconnected(posted, staff_user, qbo_connected):
    QboConnection.objects.all().delete()

    with pytest.raises(Exception, match="not connected"):
        email(posted, staff_user)
    assert not QboSyncJob.objects.filter(action="send_document").exists()


def test_a_send_made_in_quickbooks_reaches_the_order_by_webhook(posted, webhooks, qbo_connected):
    token = qbo_connected.issue_tokens(REALM_ID)["access_token"]
    status, _, _ = qbo_connected.handle(
        "POST",
        f"/v3/company/{REALM_ID}/invoice/{posted.qbo_doc_id}/send?sendTo=books%40harbor.example",
        {"Authorization": f"Bearer {token}", "Content-Type": "application/octet-stream"},
        b"",
    )
    assert status == 200

    webhooks.flush()

    posted.refresh_from_db()
    assert (posted.qbo_email_status, posted.qbo_emailed_to) == ("EmailSent", "books@harbor.example")
    assert posted.qbo_emailed_at is not None


# --- the PDF ---------------------------------------------------------------------------------------------------------


def test_the_pdf_is_fetched_by_the_worker_kept_and_served_while_current(posted, staff_user, qbo_connected):
    answer = pdf_request(order=posted, by=staff_user)  # Q_SYNC: the worker's task ran inline

    assert answer.job.state == "done" and answer.pdf is not None
    stored = QboDocumentPdf.objects.get(order=posted)
    assert bytes(stored.content).startswith(b"%PDF-") and stored.size == len(bytes(stored.content))
    assert (stored.doc_id, stored.sync_token, stored.fetched_by_name) == (
        posted.qbo_doc_id,
        posted.qbo_sync_token,
        "Sam Staff",
    )
    assert answer.job.order_id is None  # a read: never the order's one job at a time
    assert pdf_filename(posted) == f"Invoice-{posted.qbo_doc_number}.pdf"

    again = pdf_request(order=posted, by=staff_user)

    assert again.job is None and again.pdf.pk == stored.pk
    assert qbo_connected.count_requests(method="GET", path="/pdf$") == 1


def test_after_an_update_the_pdf_is_fetched_again(posted, staff_user, qbo_connected, webhooks):
    pdf_request(order=posted, by=staff_user)
    email(posted, staff_user)  # a new version of the invoice (EmailStatus)
    posted.refresh_from_db()

    assert current_pdf(posted) is None
    answer = pdf_request(order=posted, by=staff_user)

    assert answer.pdf is not None and answer.pdf.sync_token == posted.qbo_sync_token
    assert qbo_connected.count_requests(method="GET", path="/pdf$") == 2
    assert QboDocumentPdf.objects.count() == 1


def test_while_quickbooks_is_down_the_pdf_is_being_prepared_then_ready(posted, staff_user, qbo_connected):
    qbo_connected.add_fault("503", method="GET", path="/pdf$")

    answer = pdf_request(order=posted, by=staff_user)

    assert answer.pdf is None and answer.job.state == "pending"
    assert preparing_pdf(posted)
    assert pdf_request(order=posted, by=staff_user).job.pk == answer.job.pk  # joined, not asked again
    drain_now()
    assert current_pdf(posted) is not None and not preparing_pdf(posted)
    assert not posted.activities.filter(activity_type__in=["sync_failed", "sync_queued"]).exists()


def test_a_pdf_fetch_does_not_block_the_order_s_other_work(posted, staff_user, qbo_connected):
    qbo_connected.add_fault("503", method="GET", path="/pdf$")
    pdf_request(order=posted, by=staff_user)

    assert email(posted, staff_user).state == "done"


def test_a_draft_has_no_pdf(order_factory, staff_user, qbo_connected):
    with pytest.raises(SyncRefused, match="draft"):
        pdf_request(order=order_factory(), by=staff_user)
    assert qbo_connected.count_requests(method="GET", path="/pdf$") == 0


# --- online payment ----------------------------------------------------------------------------------------------


@pytest.fixture
def online(qbo, db, order_factory, staff_user):
    """An invoice in the demo company, its profile read (online payments on)."""
    connect_company(qbo, REALM_ID)
    return invoiced(order_factory(), by=staff_user)


def test_card_payment_turned_on_gives_the_invoice_link(online, staff_user, qbo):
    job = online_payment_request(order=online, card=True, ach=False, by=staff_user)

    assert job.state == "done", job.last_error
    online.refresh_from_db()
    (invoice,) = entities(qbo, "Invoice")
    assert invoice["AllowOnlineCreditCardPayment"] is True and not invoice.get("AllowOnlineACHPayment")
    assert invoice["BillEmail"]["Address"] == online.buyer.email  # QuickBooks makes no link without it
    assert (online.online_card_payment, online.online_ach_payment) == (True, False)
    assert online.qbo_invoice_link == f"{qbo.base_url}/_emulator/pay/{REALM_ID}/{online.qbo_doc_id}"
    (entry,) = online.activities.filter(activity_type=OrderActivity.Type.ONLINE_PAYMENT_CHANGED)
    assert "the buyer may pay by card (set in QuickBooks by Sam Staff)" in entry.description


def test_both_off_removes_the_link(online, staff_user, qbo):
    online_payment_request(order=online, card=True, ach=True, by=staff_user)
    online.refresh_from_db()

    job = online_payment_request(order=online, card=False, ach=False, by=staff_user)

    assert job.state == "done"
    online.refresh_from_db()
    assert (online.online_card_payment, online.online_ach_payment, online.qbo_invoice_link) == (False, False, "")
    assert "turned off" in online.activities.filter(activity_type="online_payment").first().description


def test_without_a_buyer_email_there_is_no_link(online, staff_user, qbo):
    online.buyer.email = ""
    online.buyer.save()

    job = online_payment_request(order=online, card=True, ach=False, by=staff_user)

    assert job.state == "done"
    online.refresh_from_db()
    assert online.online_card_payment and online.qbo_invoice_link == ""


def test_the_same_request_twice_writes_once(online, staff_user, qbo):
    first = online_payment_request(order=online, card=False, ach=True, by=staff_user)
    again = online_payment_request(order=online, card=False, ach=True, by=staff_user)

    assert first.pk == again.pk
    assert qbo.count_requests(method="POST", subpath="invoice") == 2  # the create, then one sparse update


def test_a_company_without_online_payments_refuses_and_sends_nothing(qbo, db, order_factory, staff_user):
    connect_company(qbo, SIMPLE_START)
    order = invoiced(order_factory(), by=staff_user)

    with pytest.raises(SyncRefused, match="does not accept online payments") as refused:
        online_payment_request(order=order, card=True, ach=False, by=staff_user)

    assert refused.value.status == 422
    assert qbo.count_requests(method="POST", subpath="invoice") == 1  # the create only


def test_online_payment_is_for_invoices_and_needs_true_or_false(qbo, db, order_factory, staff_user):
    connect_company(qbo, REALM_ID)
    estimate = invoiced(order_factory(), by=staff_user, doc_type="estimate")

    with pytest.raises(SyncRefused, match="online payment is for invoices"):
        online_payment_request(order=estimate, card=True, ach=False, by=staff_user)
    with pytest.raises(SyncRefused, match="true or false") as refused:
        online_payment_request(order=estimate, card="yes", ach=False, by=staff_user)
    assert refused.value.status == 422


def test_a_running_email_refuses_online_payment_until_done(online, staff_user, qbo):
    qbo.add_fault("503", method="POST", path="/send$")
    assert email(online, staff_user).state == "pending"

    with pytest.raises(SyncRefused, match="already working on order") as refused:
        online_payment_request(order=online, card=True, ach=False, by=staff_user)

    assert refused.value.status == 409


def test_the_emailed_at_stays_when_the_bookkeeper_edits_bill_email_later(posted, staff_user, qbo_connected, webhooks):
    email(posted, staff_user)
    posted.refresh_from_db()
    sent_at = posted.qbo_emailed_at
    (invoice,) = entities(qbo_connected, "Invoice")
    token = qbo_connected.issue_tokens(REALM_ID)["access_token"]
    body = {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"], "sparse": True}
    body = json.dumps(body | {"BillEmail": {"Address": "other@x.example"}})
    qbo_connected.handle(
        "POST",
        f"/v3/company/{REALM_ID}/invoice",
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        body,
    )
    webhooks.flush()

    posted.refresh_from_db()
    assert (posted.qbo_emailed_to, posted.qbo_emailed_at) == (TO, sent_at)
    assert posted.qbo_emailed_at > timezone.now() - timedelta(minutes=5)
