"""The broker's own books through the services, against the emulator
(docs/quickbooks/beyond.md#the-brokers-own-books): a bill to the seller when the invoice is created (a click, a bulk
push, a conversion, a cash sale), updated when the order is, deleted with its invoice (kept when the seller was
paid), the commission invoice instead, what is refused and why, and exactly once under a lost answer."""

from decimal import Decimal

import pytest
from django.core.cache import cache

from orders.models import OrderActivity
from orders.services import order_update
from qbo_integration.bulk.push import bulk_push_run, bulk_push_start
from qbo_integration.models import BrokerBooks, BrokerDocument, QboConnection, QboSyncJob, SharedNameRule
from qbo_integration.outbound.cash_sales import cash_sale_request
from qbo_integration.outbound.requests import (
    order_convert_request,
    order_update_request,
    order_void_request,
    ref_sync_request,
)
from qbo_integration.outbound.runners import qbo_job_run
from qbo_integration.outbox.broker import broker_sync_enqueue
from qbo_integration.testing import COMPANIES, REALM_ID, connect_company

from .broker_support import (
    BROKER,
    COMMISSION,
    PROCEEDS,
    TOTAL,
    books,  # noqa: F401  (fixture)
    broker_of,
    entities,
    keep_books,
    run_broker_jobs,
)
from .inbound_support import invoiced

pytestmark = pytest.mark.django_db


def activities(order, kind) -> list[str]:
    return list(order.activities.filter(activity_type=kind).values_list("description", flat=True))


def test_kadouri_keeps_the_commission_by_default(qbo_connected, order_factory, staff_user):
    order = invoiced(order_factory(), by=staff_user)

    assert run_broker_jobs() == []
    assert entities(qbo_connected, "Bill") == [] and entities(qbo_connected, "Vendor") == []
    assert not BrokerDocument.objects.filter(order=order).exists()


def test_a_bill_to_the_seller_follows_the_invoice(books, order_factory, staff_user):
    order = invoiced(order_factory(), by=staff_user)

    [job] = run_broker_jobs()

    assert job.state == "done", job.last_error
    [vendor] = entities(books, "Vendor")
    [bill] = entities(books, "Bill")
    assert vendor["DisplayName"] == "Green Valley Farms"
    assert (bill["VendorRef"]["value"], bill["TotalAmt"], bill["DocNumber"]) == (vendor["Id"], 448.4, order.number)
    assert bill["Line"][0]["AccountBasedExpenseLineDetail"]["AccountRef"]["name"] == "Purchases"
    assert f"[kadouri-broker:{order.pk}]" in bill["PrivateNote"]
    assert (bill["TxnDate"], bill["DueDate"]) == ("2026-11-02", "2026-12-02")  # the order's Net 30
    row = broker_of(order)
    assert (row.kind, row.entity, row.qbo_id, row.total, row.balance, row.party_id) == (
        "seller_bill",
        "Bill",
        bill["Id"],
        PROCEEDS,
        PROCEEDS,
        vendor["Id"],
    )
    assert activities(order, OrderActivity.Type.BROKER_DOC_CREATED) == [
        f"Bill #{order.number} to Green Valley Farms created in QuickBooks for $448.40: the order's total $472.00 "
        "less commission 5% ($23.60), by Sam Staff."
    ]


def test_the_bill_follows_an_update_of_the_order(books, order_factory, staff_user):
    order = invoiced(order_factory(), by=staff_user)
    run_broker_jobs()
    order = order_update(order_id=order.pk, fields={"commission_rate": Decimal("10")}, lines=None, by=staff_user)

    job = order_update_request(order=order, by=staff_user)
    run_broker_jobs()

    assert job.state == "done", job.last_error
    [bill] = entities(books, "Bill")
    assert (bill["TotalAmt"], bill["SyncToken"]) == (424.8, "1")  # 472.00 less 10%
    assert broker_of(order).total == Decimal("424.80")
    assert activities(order, OrderActivity.Type.BROKER_DOC_UPDATED) == [
        f"Bill #{order.number} to Green Valley Farms updated in QuickBooks ($448.40 → $424.80) by Sam Staff."
    ]


def test_an_unchanged_order_sends_nothing_more(books, order_factory, staff_user):
    order = invoiced(order_factory(), by=staff_user)
    run_broker_jobs()
    books.clear_requests()
    order = order_update(order_id=order.pk, fields={"notes": "re-weighed"}, lines=None, by=staff_user)

    order_update_request(order=order, by=staff_user)
    jobs = run_broker_jobs()

    assert jobs[-1].result["unchanged"] is True
    assert books.count_requests(method="POST", subpath="bill") == 0


def test_void_deletes_the_bill(books, order_factory, staff_user):
    order = invoiced(order_factory(), by=staff_user)
    run_broker_jobs()

    job = order_void_request(order=order, by=staff_user)
    run_broker_jobs()

    assert job.state == "done", job.last_error
    assert entities(books, "Bill") == []
    assert broker_of(order).state == "deleted"
    assert activities(order, OrderActivity.Type.BROKER_DOC_VOIDED) == [
        f"Bill #{order.number} to Green Valley Farms deleted in QuickBooks with the order's invoice (QuickBooks "
        "cannot void bills) by Sam Staff."
    ]


def test_a_bill_the_seller_was_paid_on_is_kept_when_the_order_is_voided(books, order_factory, staff_user):
    order = invoiced(order_factory(), by=staff_user)
    run_broker_jobs()
    books.pay_bill(REALM_ID, broker_of(order).qbo_id, 100)

    order_void_request(order=order, by=staff_user)
    run_broker_jobs()

    [bill] = entities(books, "Bill")
    row = broker_of(order)
    assert (bill["Balance"], row.state, row.balance) == (348.4, "active", Decimal("348.40"))
    assert activities(order, OrderActivity.Type.BROKER_DOC_UPDATED) == [
        f"Bill #{order.number} to Green Valley Farms is kept in QuickBooks although the order is cancelled: the "
        "seller was already paid $100.00 on it. Settle it in QuickBooks (a vendor credit or a refund)."
    ]


def test_a_bulk_push_gives_each_order_its_bill(books, order_factory, staff_user):
    orders = [order_factory(ready_to_push=True) for _ in range(3)]

    bulk = bulk_push_run(bulk_id=bulk_push_start(by=staff_user).pk)
    jobs = run_broker_jobs()

    assert bulk.state == "done" and [j.state for j in jobs] == ["done"] * 3
    bills = entities(books, "Bill")
    assert sorted(b["DocNumber"] for b in bills) == sorted(o.number for o in orders)
    assert len(entities(books, "Vendor")) == 1  # one seller, one vendor


def test_an_estimate_converted_to_an_invoice_gets_its_bill(books, order_factory, staff_user):
    order = invoiced(order_factory(), by=staff_user, doc_type="estimate")
    assert run_broker_jobs() == []  # an estimate owes nothing yet

    job = order_convert_request(order=order, by=staff_user)
    run_broker_jobs()

    assert job.state == "done", job.last_error
    assert [b["TotalAmt"] for b in entities(books, "Bill")] == [448.4]


def test_a_cash_sale_gets_its_bill_too(books, order_factory, staff_user):
    job = cash_sale_request(order=order_factory(), method="1", reference="", deposit_to="", by=staff_user, ip=None)
    run_broker_jobs()

    assert job.state == "done", job.last_error
    assert [b["TotalAmt"] for b in entities(books, "Bill")] == [448.4]


def test_a_commission_invoice_to_the_seller_instead(qbo_connected, order_factory, staff_user):
    keep_books(qbo_connected, BrokerBooks.COMMISSION_INVOICE)
    order = invoiced(order_factory(), by=staff_user)

    run_broker_jobs()

    customers = {c["Id"]: c["DisplayName"] for c in entities(qbo_connected, "Customer")}
    commission = next(i for i in entities(qbo_connected, "Invoice") if i["Id"] != order.qbo_doc_id)
    item = next(i for i in entities(qbo_connected, "Item") if i["Name"] == "Commission")
    assert customers[commission["CustomerRef"]["value"]] == "Green Valley Farms"
    assert (commission["TotalAmt"], commission["DocNumber"]) == (23.6, f"{order.number}-C")
    assert commission["Line"][0]["SalesItemLineDetail"]["ItemRef"]["value"] == item["Id"] and item["Type"] == "Service"
    assert QboConnection.objects.get().commission_item_id == item["Id"]
    row = broker_of(order)
    assert (row.kind, row.entity, row.total) == ("commission_invoice", "Invoice", COMMISSION)

    order_void_request(order=order, by=staff_user)
    run_broker_jobs()

    voided = next(i for i in entities(qbo_connected, "Invoice") if i["Id"] == commission["Id"])
    assert (voided["TotalAmt"], broker_of(order).state) == (0, "voided")


def test_a_changed_choice_applies_to_orders_invoiced_from_then_on(books, order_factory, staff_user):
    first = invoiced(order_factory(), by=staff_user)
    run_broker_jobs()
    keep_books(books, BrokerBooks.COMMISSION_INVOICE)

    second = invoiced(order_factory(), by=staff_user)
    first = order_update(order_id=first.pk, fields={"commission_rate": Decimal("10")}, lines=None, by=staff_user)
    order_update_request(order=first, by=staff_user)
    run_broker_jobs()

    assert (broker_of(first).kind, broker_of(second).kind) == ("seller_bill", "commission_invoice")
    assert [b["TotalAmt"] for b in entities(books, "Bill")] == [424.8]  # the first keeps its bill, updated


@pytest.fixture
def multi_currency(qbo, db):
    cache.clear()  # the company's currencies and QuickBooks' rates are cached per realm
    connect_company(qbo, COMPANIES["multi_currency"])
    keep_books(qbo, seller_bill_account_id="8")  # Purchases, as in every seeded company
    yield qbo
    cache.clear()


def test_an_order_in_a_foreign_currency_gets_none(multi_currency, order_factory, staff_user, buyer):
    buyer.currency = "CAD"
    buyer.save()
    order = invoiced(order_factory(), by=staff_user)

    assert run_broker_jobs() == []
    assert entities(multi_currency, "Bill", COMPANIES["multi_currency"]) == []
    assert not BrokerDocument.objects.filter(order=order).exists()


def test_a_home_currency_order_of_a_multi_currency_company_is_billed_in_it(multi_currency, order_factory, staff_user):
    invoiced(order_factory(), by=staff_user)

    [job] = run_broker_jobs()

    assert job.state == "done", job.last_error
    [bill] = entities(multi_currency, "Bill", COMPANIES["multi_currency"])
    [vendor] = entities(multi_currency, "Vendor", COMPANIES["multi_currency"])
    assert (bill["CurrencyRef"]["value"], bill["ExchangeRate"], bill["TotalAmt"]) == ("USD", 1, 448.4)
    assert vendor["CurrencyRef"]["value"] == "USD"


def test_no_expense_account_chosen_is_refused_in_plain_words(qbo_connected, order_factory, staff_user):
    keep_books(qbo_connected, seller_bill_account_id="")
    invoiced(order_factory(), by=staff_user)

    [job] = run_broker_jobs()

    assert job.state == "failed"
    assert job.last_error == (
        "Choose the expense account the seller bills are booked to in Settings → QuickBooks → The broker's own "
        "books, then send it again."
    )
    assert entities(qbo_connected, "Bill") == [] and entities(qbo_connected, "Vendor") == []


def test_a_seller_name_a_customer_has_is_refused_by_the_rule_refuse(books, order_factory, staff_user, seller):
    keep_books(books, shared_name_rule=SharedNameRule.REFUSE)
    ref_sync_request(obj=seller, by=staff_user)  # the seller is a QuickBooks customer too, as any account may be

    invoiced(order_factory(), by=staff_user)
    [job] = run_broker_jobs()

    assert job.state == "failed"
    assert job.last_error.startswith(
        "QuickBooks already has a customer named “Green Valley Farms”, so the seller cannot be its vendor under that "
        "name."
    )
    assert entities(books, "Vendor") == []
    seller.refresh_from_db()
    assert seller.qbo_vendor_id is None and seller.qbo_vendor_name_suffix == ""


def test_a_seller_name_a_customer_has_takes_the_role_suffix(books, order_factory, staff_user, seller):
    ref_sync_request(obj=seller, by=staff_user)

    invoiced(order_factory(), by=staff_user)
    [job] = run_broker_jobs()

    assert job.state == "done", job.last_error
    assert [v["DisplayName"] for v in entities(books, "Vendor")] == ["Green Valley Farms (vendor)"]
    seller.refresh_from_db()
    assert seller.qbo_vendor_name_suffix == " (vendor)"


def test_a_seller_name_a_customer_has_takes_the_code_suffix(books, order_factory, staff_user, seller):
    keep_books(books, shared_name_rule=SharedNameRule.CODE)
    ref_sync_request(obj=seller, by=staff_user)

    invoiced(order_factory(), by=staff_user)
    run_broker_jobs()

    assert [v["DisplayName"] for v in entities(books, "Vendor")] == ["Green Valley Farms (GVF)"]


def test_a_lost_answer_is_replayed_not_created_twice(books, order_factory, staff_user):
    books.add_fault("drop", method="POST", path=r"/bill$")
    order = invoiced(order_factory(), by=staff_user)

    first = run_broker_jobs()[0]
    assert (first.state, first.in_doubt) == ("pending", True)
    [job] = run_broker_jobs()

    assert job.state == "done", job.last_error
    assert len(entities(books, "Bill")) == 1
    assert broker_of(order).qbo_id == entities(books, "Bill")[0]["Id"]


def test_a_later_job_finds_the_bill_a_failed_one_left_by_its_marker(books, order_factory, staff_user):
    books.add_fault("drop", method="POST", path=r"/bill$")
    order = invoiced(order_factory(), by=staff_user)
    run_broker_jobs()
    QboSyncJob.objects.filter(action=BROKER).update(state="failed")  # it gave up, in doubt
    books.clear_requests()

    broker_sync_enqueue(order, by=staff_user, again=True)
    job = run_broker_jobs()[-1]

    assert job.state == "done" and job.result["adopted"] is True
    assert len(entities(books, "Bill")) == 1 and books.count_requests(method="POST", subpath="bill") == 0
    assert "(found in QuickBooks after a lost answer)" in activities(order, OrderActivity.Type.BROKER_DOC_CREATED)[0]


def test_a_lost_vendor_answer_links_the_vendor_by_name(books, order_factory, staff_user, seller):
    books.add_fault("drop", method="POST", path=r"/vendor$")
    invoiced(order_factory(), by=staff_user)

    run_broker_jobs()
    seller.refresh_from_db()
    assert seller.qbo_vendor_create_request and seller.qbo_vendor_id is None
    [job] = run_broker_jobs()

    assert job.state == "done", job.last_error
    assert len(entities(books, "Vendor")) == 1 and len(entities(books, "Bill")) == 1
    seller.refresh_from_db()
    assert seller.qbo_vendor_id == entities(books, "Vendor")[0]["Id"] and seller.qbo_vendor_create_request == ""


def test_a_second_job_waits_for_the_one_running(books, order_factory, staff_user):
    order = invoiced(order_factory(), by=staff_user)
    first = QboSyncJob.objects.get(action=BROKER)
    QboSyncJob.objects.filter(pk=first.pk).update(state="running", claimed_at="2026-01-01T00:00:00Z")

    second = qbo_job_run(job_id=broker_sync_enqueue(order, by=staff_user, again=True).pk)

    assert second.state == "pending" and "this one follows it" in second.last_error
    assert entities(books, "Bill") == []


def test_switching_companies_forgets_the_sellers_vendors_and_their_bills(
    admin_client, books, order_factory, staff_user, seller
):
    invoiced(order_factory(), by=staff_user)
    run_broker_jobs()
    admin_client.post("/api/quickbooks/disconnect")

    admin_client.post("/settings/quickbooks/clear-ids/", {"confirm": "CLEAR"})

    seller.refresh_from_db()
    assert (seller.qbo_vendor_id, seller.qbo_vendor_name_suffix) == (None, "")
    assert not BrokerDocument.objects.exists()


def test_a_bill_paid_before_its_lost_answer_is_retried_is_recorded_paid(books, order_factory, staff_user):
    books.add_fault("drop", method="POST", path=r"/bill$")
    order = invoiced(order_factory(), by=staff_user)
    run_broker_jobs()
    [bill] = entities(books, "Bill")
    books.pay_bill(REALM_ID, bill["Id"])  # its webhooks find no bill Kadouri knows yet

    [job] = run_broker_jobs()

    assert job.state == "done", job.last_error
    row = broker_of(order)
    assert (row.qbo_id, row.balance, row.total) == (bill["Id"], Decimal("0.00"), PROCEEDS)
