"""documents.py: the one reading of a QuickBooks document (pure functions, no HTTP)."""

from datetime import timezone as dt_timezone
from decimal import Decimal

from qbo_integration import documents, inbound


def test_it_reads_an_overpaid_invoice_as_paid():
    assert documents.payment_status(Decimal("100.00"), Decimal("-5.00")) == "paid"
    assert documents.payment_status(Decimal("100.00"), Decimal("40.00")) == "partial"
    assert documents.payment_status(Decimal("100.00"), Decimal("100.00")) == "unpaid"
    assert documents.payment_status(None, Decimal("0")) == "unpaid"


def test_it_reads_money_in_cents_and_refuses_garbage():
    assert documents.money(472.5) == Decimal("472.50")
    assert documents.money("12.345") == Decimal("12.35")
    assert documents.money("") is None and documents.money("n/a") is None and documents.money(None) is None


def test_it_tells_a_voided_invoice_from_a_zero_one():
    voided = {"TotalAmt": 0, "Balance": 0, "PrivateNote": "Voided - late"}
    assert documents.is_voided(voided) and documents.doc_state("Invoice", voided) == "Voided"
    assert not documents.is_voided({"TotalAmt": 0, "Balance": 0})
    assert documents.is_voided({"TotalAmt": 0, "Balance": 0}, void_hint=True)
    assert documents.doc_state("Invoice", None) == "Deleted"
    assert documents.doc_state("Invoice", {"TotalAmt": 10, "Balance": 4}) == "Partially paid"
    assert documents.doc_state("Estimate", {"TxnStatus": "Accepted", "TotalAmt": 10}) == "Accepted"


def test_it_stores_quickbooks_times_as_aware_utc(order_factory):
    order = order_factory()
    invoice = {"Id": "7", "DocNumber": order.number, "SyncToken": "2", "TotalAmt": 10, "Balance": 10,
               "MetaData": {"LastUpdatedTime": "2026-11-02T10:00:00"}}
    documents.document_link(order, invoice, doc_type="invoice")
    documents.document_store(order, invoice, entity="Invoice")
    order.refresh_from_db()
    assert order.qbo_last_updated.tzinfo is not None
    assert order.qbo_last_updated == inbound.parse_time("2026-11-02T10:00:00Z")
    assert order.qbo_last_updated.astimezone(dt_timezone.utc).hour == 10
