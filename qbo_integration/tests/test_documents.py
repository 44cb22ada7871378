"""documents: the one reading of a QuickBooks document (pure functions, no HTTP)."""

from datetime import UTC
from decimal import Decimal

from qbo_integration.documents import reading, store


def test_it_reads_an_overpaid_invoice_as_paid():
    assert reading.payment_status(Decimal("100.00"), Decimal("-5.00")) == "paid"
    assert reading.payment_status(Decimal("100.00"), Decimal("40.00")) == "partial"
    assert reading.payment_status(Decimal("100.00"), Decimal("100.00")) == "unpaid"
    assert reading.payment_status(None, Decimal("0")) == "unpaid"


def test_it_reads_money_in_cents_and_refuses_garbage():
    assert reading.money(472.5) == Decimal("472.50")
    assert reading.money("12.345") == Decimal("12.35")
    assert reading.money("") is None and reading.money("n/a") is None and reading.money(None) is None


def test_it_tells_a_voided_invoice_from_a_zero_one():
    voided = {"TotalAmt": 0, "Balance": 0, "PrivateNote": "Voided - late"}
    assert reading.is_voided(voided) and reading.doc_state("Invoice", voided) == "Voided"
    assert not reading.is_voided({"TotalAmt": 0, "Balance": 0})
    assert reading.is_voided({"TotalAmt": 0, "Balance": 0}, void_hint=True)
    assert reading.doc_state("Invoice", None) == "Deleted"
    assert reading.doc_state("Invoice", {"TotalAmt": 10, "Balance": 4}) == "Partially paid"
    assert reading.doc_state("Estimate", {"TxnStatus": "Accepted", "TotalAmt": 10}) == "Accepted"


def test_it_stores_quickbooks_times_as_aware_utc(order_factory):
    order = order_factory()
    invoice = {
        "Id": "7",
        "DocNumber": order.number,
        "SyncToken": "2",
        "TotalAmt": 10,
        "Balance": 10,
        "MetaData": {"LastUpdatedTime": "2026-11-02T10:00:00"},
    }
    store.document_link(order, invoice, doc_type="invoice")
    store.document_store(order, invoice, entity="Invoice")
    order.refresh_from_db()
    assert order.qbo_last_updated.tzinfo is not None
    assert order.qbo_last_updated == reading.parse_time("2026-11-02T10:00:00Z")
    assert order.qbo_last_updated.astimezone(UTC).hour == 10
