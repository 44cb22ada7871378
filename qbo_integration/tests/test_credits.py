"""Credits through the service layer and QuickBooks' side (docs/quickbooks/money.md#credits): each write exactly once
across retries (the marker look-up; the apply step's own marker), a bookkeeper's credit memo, its application,
refund and deletion reaching Kadouri, and Kadouri's own writes coming back changing nothing twice."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import OrderActivity
from qbo_integration.inbound.catchup import catchup_run
from qbo_integration.models import QboMoney, QboSyncJob
from qbo_integration.outbound.credits import credit_issue_request, credit_refund_request
from qbo_integration.outbound.money_jobs import run_money_job
from qbo_integration.outbound.payments import payment_delete_request
from qbo_integration.outbox.jobs import job_run
from qbo_integration.testing import COMPANIES, REALM_ID, connect_company

from .conftest import entities
from .inbound_support import webhooks  # noqa: F401
from .test_credits_api import account_id, issue, one, paid, posted
from .test_every_company import prepare, push

pytestmark = pytest.mark.django_db


def test_a_lost_answer_to_the_apply_payment_is_found_by_its_marker_on_the_retry(
    staff_client, staff_user, qbo_connected, order_factory
):
    order = posted(staff_client, order_factory())
    # QuickBooks makes the apply payment, then the connection drops before its answer reaches Kadouri
    qbo_connected.add_fault("drop", method="POST", path="/payment$")

    job = credit_issue_request(order=order, reason="damaged", amount="40.00", by=staff_user, ip="127.0.0.1")

    assert job.state == QboSyncJob.State.PENDING and job.result["memoId"]
    assert len(entities(qbo_connected, "CreditMemo")) == 1 and len(entities(qbo_connected, "Payment")) == 1
    QboSyncJob.objects.filter(pk=job.pk).update(not_before=job.created_at)
    job = job_run(job_id=job.pk, run=run_money_job)

    assert job.state == QboSyncJob.State.DONE and job.result["applied"] == "40.00"
    assert len(entities(qbo_connected, "CreditMemo")) == 1 and len(entities(qbo_connected, "Payment")) == 1
    assert Decimal(str(one(qbo_connected, "Invoice", order.qbo_doc_id)["Balance"])) == Decimal("432.00")
    order.refresh_from_db()
    assert order.qbo_balance == Decimal("432.00")
    assert order.activities.filter(activity_type=OrderActivity.Type.CREDIT_ISSUED).count() == 1
    assert order.activities.filter(activity_type=OrderActivity.Type.CREDIT_APPLIED).count() == 1


def test_deleting_the_payment_that_applied_a_credit_gives_the_credit_back(
    staff_client, staff_user, admin_user, qbo_connected, order_factory
):
    order = posted(staff_client, order_factory())
    credit_issue_request(order=order, reason="damaged", amount="40.00", by=staff_user, ip=None)
    applying = QboMoney.objects.get(entity=QboMoney.Entity.PAYMENT, order=order)
    credit = QboMoney.objects.get(entity=QboMoney.Entity.CREDIT_MEMO)
    assert (applying.credit_applied, credit.unapplied) == (Decimal("40.00"), Decimal("0.00"))

    job = payment_delete_request(order=order, payment_id=applying.qbo_id, reason="Wrong order", by=admin_user, ip=None)

    assert job.state == QboSyncJob.State.DONE, job.last_error
    assert Decimal(str(one(qbo_connected, "CreditMemo", credit.qbo_id)["RemainingCredit"])) == Decimal("40.00")
    credit.refresh_from_db()
    assert credit.unapplied == Decimal("40.00")
    listed = staff_client.get(f"/api/quickbooks/sync/order/{order.pk}/credits").json()["credits"]
    assert [(c["remaining"], c["applied"]) for c in listed] == [("40.00", "0.00")]
    order.refresh_from_db()
    assert order.qbo_balance == Decimal("472.00")


def _retry(job: QboSyncJob) -> QboSyncJob:
    QboSyncJob.objects.filter(pk=job.pk).update(not_before=job.created_at)
    return job_run(job_id=job.pk, run=run_money_job)


def test_the_apply_payment_stored_first_by_its_webhook_is_kadouri_s_and_its_memo_change_is_not_a_bookkeeper_s(
    staff_client, staff_user, webhooks, order_factory
):
    order = posted(staff_client, order_factory())
    webhooks.flush()
    webhooks.emu.add_fault("drop", method="POST", path="/payment$")
    job = credit_issue_request(order=order, reason="damaged", amount="40.00", by=staff_user, ip=None)
    assert job.state == QboSyncJob.State.PENDING

    webhooks.flush()  # the apply payment's and the memo's webhooks arrive before the job's retry

    payment = QboMoney.objects.get(entity=QboMoney.Entity.PAYMENT, order=order)
    assert (payment.recorded_in_kadouri, payment.recorded_by_name, payment.request_id) == (
        True,
        "Sam Staff",
        job.request_id,
    )
    assert _retry(job).state == QboSyncJob.State.DONE
    payment.refresh_from_db()
    assert (payment.recorded_by_name, payment.credit_applied) == ("Sam Staff", Decimal("40.00"))
    assert not order.activities.filter(description__contains="changed in QuickBooks").exists()
    assert order.activities.filter(activity_type=OrderActivity.Type.CREDIT_APPLIED).count() == 1


def test_an_apply_payment_stored_as_in_quickbooks_is_corrected_when_its_job_records_it(
    staff_client, staff_user, webhooks, order_factory
):
    order = posted(staff_client, order_factory())
    webhooks.flush()
    webhooks.emu.add_fault("drop", method="POST", path="/payment$")
    job = credit_issue_request(order=order, reason="damaged", amount="40.00", by=staff_user, ip=None)
    webhooks.flush()
    # a row kept as a bookkeeper's payment (stored by a path that did not know the job)
    QboMoney.objects.filter(entity=QboMoney.Entity.PAYMENT).update(
        recorded_in_kadouri=False, recorded_by=None, recorded_by_name="", request_id=""
    )

    assert _retry(job).state == QboSyncJob.State.DONE

    payment = QboMoney.objects.get(entity=QboMoney.Entity.PAYMENT, order=order)
    assert (payment.recorded_in_kadouri, payment.recorded_by, payment.request_id) == (True, staff_user, job.request_id)
    page = staff_client.get(order.get_absolute_url()).content.decode()
    assert "in QuickBooks</td>" not in page


def test_kadouri_s_own_credit_coming_back_by_catch_up_changes_nothing(staff_client, qbo_connected, order_factory):
    order = posted(staff_client, order_factory())
    staff_client.post(
        f"/settings/quickbooks/orders/{order.pk}/credits/new/", {"reason": "damaged", "amount": "40.00", "token": "k"}
    )
    rows = list(QboMoney.objects.order_by("pk").values_list("entity", "total", "unapplied", "credit_applied"))
    entries = order.activities.count()

    catchup_run(realm_id=REALM_ID)

    assert list(QboMoney.objects.order_by("pk").values_list("entity", "total", "unapplied", "credit_applied")) == rows
    assert order.activities.count() == entries


def test_a_bookkeeper_s_credit_memo_its_application_refund_and_deletion_reach_kadouri(
    staff_client, qbo_connected, order_factory, buyer
):
    settled = paid(qbo_connected, staff_client, order_factory())
    open_order = posted(staff_client, order_factory())
    buyer.refresh_from_db()
    memo = qbo_connected.issue_credit_memo(REALM_ID, buyer.qbo_customer_id, 60)

    catchup_run(realm_id=REALM_ID)
    row = QboMoney.objects.get(entity=QboMoney.Entity.CREDIT_MEMO, qbo_id=memo["Id"])
    assert (row.order, row.account, row.total, row.unapplied) == (None, buyer, Decimal("60.00"), Decimal("60.00"))

    qbo_connected.apply_credit_memo(REALM_ID, memo["Id"], open_order.qbo_doc_id, 25)
    catchup_run(realm_id=REALM_ID)
    row.refresh_from_db()
    open_order.refresh_from_db()
    assert row.unapplied == Decimal("35.00") and open_order.qbo_balance == Decimal("447.00")

    refund = qbo_connected.refund_credit_memo(REALM_ID, memo["Id"], 35)
    catchup_run(realm_id=REALM_ID)
    row.refresh_from_db()
    refunded = QboMoney.objects.get(entity=QboMoney.Entity.REFUND_RECEIPT, qbo_id=refund["Id"])
    assert (refunded.credit, refunded.amount, row.unapplied) == (row, Decimal("35.00"), Decimal("0.00"))

    qbo_connected.delete_refund_receipt(REALM_ID, refund["Id"])
    catchup_run(realm_id=REALM_ID)
    refunded.refresh_from_db()
    row.refresh_from_db()
    assert refunded.state == QboMoney.State.DELETED and row.unapplied == Decimal("35.00")
    assert not settled.qbo_money.exclude(entity=QboMoney.Entity.PAYMENT).exists()  # its own payment only


def test_a_credit_memo_deleted_in_quickbooks_is_struck_on_the_order(staff_client, qbo_connected, order_factory):
    settled = paid(qbo_connected, staff_client, order_factory())
    staff_client.post(
        f"/settings/quickbooks/orders/{settled.pk}/credits/new/", {"reason": "other", "amount": "15.00", "token": "d"}
    )
    row = QboMoney.objects.get(entity=QboMoney.Entity.CREDIT_MEMO)

    qbo_connected.delete_credit_memo(REALM_ID, row.qbo_id)
    catchup_run(realm_id=REALM_ID)

    row.refresh_from_db()
    assert row.state == QboMoney.State.DELETED
    listed = staff_client.get(f"/api/quickbooks/sync/order/{settled.pk}/credits").json()
    assert listed["money"]["credited"] == "0.00" and listed["credits"][0]["state"] == "deleted"
    page = staff_client.get(settled.get_absolute_url()).content.decode()
    (credit_row,) = [row for row in page.split("<tr")[1:] if 'data-testid="credit-row"' in row]
    assert 'class="struck"' in credit_row and "(deleted in QuickBooks)" in credit_row
    assert settled.activities.filter(description__contains="deleted in QuickBooks").exists()


def test_a_lost_answer_to_the_credit_memo_is_found_by_its_marker_on_the_retry(
    staff_user, staff_client, qbo_connected, order_factory
):
    order = posted(staff_client, order_factory())
    qbo_connected.add_fault("drop", method="POST", path="/creditmemo$")

    job = credit_issue_request(order=order, reason="rejected", amount="10.00", by=staff_user, ip=None)
    assert job.state == QboSyncJob.State.PENDING and job.in_doubt and not job.result.get("memoId")
    QboSyncJob.objects.filter(pk=job.pk).update(not_before=job.created_at)
    job = job_run(job_id=job.pk, run=run_money_job)

    assert job.state == QboSyncJob.State.DONE
    assert len(entities(qbo_connected, "CreditMemo")) == 1
    assert QboMoney.objects.filter(entity=QboMoney.Entity.CREDIT_MEMO).count() == 1


@pytest.mark.parametrize("company", sorted(COMPANIES))
def test_every_company_takes_a_credit_of_a_line_applied_to_its_open_invoice(
    company, staff_client, qbo, order_factory, buyer
):
    realm = prepare(qbo, company, buyer)
    order = order_factory()
    assert push(staff_client, order).status_code == 200
    order.refresh_from_db()
    pears = order.lines.get(product__name="Bartlett Pears")

    response = staff_client.post(
        f"/api/quickbooks/sync/order/{order.pk}/credits",
        {"reason": "damaged", "lines": [{"lineId": pears.pk, "quantity": "1"}]},
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    (memo,) = entities(qbo, "CreditMemo", realm)
    invoice = next(i for i in entities(qbo, "Invoice", realm) if i["Id"] == order.qbo_doc_id)
    credit = Decimal(str(memo["TotalAmt"]))  # with the line's tax where the company charges it
    assert credit >= Decimal("36.75") and Decimal(str(memo["RemainingCredit"])) == 0
    assert Decimal(str(invoice["Balance"])) == Decimal(str(invoice["TotalAmt"])) - credit
    order.refresh_from_db()
    assert order.qbo_balance == Decimal(str(invoice["Balance"])).quantize(Decimal("0.01"))
    assert response.json()["credit"]["total"] == str(credit.quantize(Decimal("0.01")))


def test_a_queued_credit_is_not_sent_once_the_order_was_cancelled_meanwhile(
    staff_user, staff_client, qbo_connected, order_factory
):
    order = posted(staff_client, order_factory())
    qbo_connected.add_fault("503", method="POST", path="/creditmemo$")
    job = credit_issue_request(order=order, reason="damaged", amount="10.00", by=staff_user, ip=None)
    assert job.state == QboSyncJob.State.PENDING
    qbo_connected.void_invoice(REALM_ID, order.qbo_doc_id)  # the bookkeeper voids the invoice meanwhile
    catchup_run(realm_id=REALM_ID)
    QboSyncJob.objects.filter(pk=job.pk).update(not_before=job.created_at)

    job = job_run(job_id=job.pk, run=run_money_job)

    assert job.state == QboSyncJob.State.FAILED and "cancelled" in job.last_error
    assert entities(qbo_connected, "CreditMemo") == []


def test_a_lost_answer_to_a_refund_of_the_whole_credit_is_found_by_its_marker_on_the_retry(
    staff_user, staff_client, qbo_connected, order_factory
):
    settled = paid(qbo_connected, staff_client, order_factory())
    credit = issue(staff_client, settled, {"reason": "damaged", "amount": "50.00"}).json()["credit"]
    # QuickBooks makes the refund, which uses the whole credit up, then the answer is lost
    qbo_connected.add_fault("drop", method="POST", path="/refundreceipt$")
    checking = account_id(qbo_connected, "Checking")

    job = credit_refund_request(credit_qbo_id=credit["id"], account=checking, by=staff_user, ip=None)
    assert job.state == QboSyncJob.State.PENDING and job.in_doubt
    QboSyncJob.objects.filter(pk=job.pk).update(not_before=job.created_at)
    job = job_run(job_id=job.pk, run=run_money_job)

    assert job.state == QboSyncJob.State.DONE, job.last_error
    (refund,) = entities(qbo_connected, "RefundReceipt")
    assert job.result["refundId"] == str(refund["Id"]) and job.result["amount"] == "50.00"
    row = QboMoney.objects.get(entity=QboMoney.Entity.REFUND_RECEIPT)
    assert (row.amount, row.recorded_in_kadouri) == (Decimal("50.00"), True)
    assert QboMoney.objects.get(entity=QboMoney.Entity.CREDIT_MEMO).unapplied == 0
    assert settled.activities.filter(activity_type=OrderActivity.Type.CREDIT_REFUNDED).count() == 1


def test_a_credit_applied_whose_lost_payment_came_back_by_catch_up_before_the_retry_is_logged_once(
    staff_client, staff_user, qbo_connected, order_factory
):
    order = posted(staff_client, order_factory())
    qbo_connected.add_fault("drop", method="POST", path="/payment$")
    job = credit_issue_request(order=order, reason="damaged", amount="40.00", by=staff_user, ip=None)
    assert job.state == QboSyncJob.State.PENDING
    catchup_run(realm_id=REALM_ID)  # the applying payment reaches Kadouri before the job's retry
    QboSyncJob.objects.filter(pk=job.pk).update(not_before=job.created_at)

    job = job_run(job_id=job.pk, run=run_money_job)

    assert job.state == QboSyncJob.State.DONE and job.result["applied"] == "40.00"
    assert len(entities(qbo_connected, "Payment")) == 1
    assert order.activities.filter(activity_type=OrderActivity.Type.CREDIT_ISSUED).count() == 1
    assert order.activities.filter(activity_type=OrderActivity.Type.CREDIT_APPLIED).count() == 1


def test_a_credit_applied_to_a_cad_buyers_invoice_is_taken_in_cad_at_the_invoices_rate(
    staff_client, qbo, order_factory, buyer
):
    realm = COMPANIES["multi_currency"]
    connect_company(qbo, realm)
    buyer.currency = "CAD"
    buyer.save()
    order = posted(staff_client, order_factory())
    invoice = next(i for i in entities(qbo, "Invoice", realm) if i["Id"] == order.qbo_doc_id)
    assert invoice["CurrencyRef"]["value"] == "CAD" and invoice["ExchangeRate"] != 1

    response = issue(staff_client, order, {"reason": "damaged", "amount": "40.00"})

    assert response.status_code == 200, response.content
    (payment,) = entities(qbo, "Payment", realm)
    assert payment["CurrencyRef"]["value"] == "CAD" and payment["ExchangeRate"] == invoice["ExchangeRate"]


def test_a_taxed_company_credits_at_most_what_was_sold_before_tax(staff_client, qbo, order_factory, buyer):
    realm = prepare(qbo, "automated_tax", buyer)
    order = order_factory()
    assert push(staff_client, order).status_code == 200
    order.refresh_from_db()
    assert order.qbo_total > order.total == Decimal("472.00")  # QuickBooks added its tax
    path = f"/api/quickbooks/sync/order/{order.pk}/credits"

    def credit(amount: str):
        return staff_client.post(path, {"reason": "other", "amount": amount}, content_type="application/json")

    above_sold = credit("472.01")
    first = credit("400.00")
    above_rest = credit("72.01")
    rest = credit("72.00")

    assert (above_sold.status_code, above_sold.json()["field"]) == (422, "amount")
    assert "($472.00)" in above_sold.json()["error"]
    assert first.status_code == 200, first.content
    assert (above_rest.status_code, above_rest.json()["field"]) == (422, "amount")
    assert "($72.00)" in above_rest.json()["error"]
    assert rest.status_code == 200, rest.content
    assert len(entities(qbo, "CreditMemo", realm)) == 2
