"""Every seeded company, one path through each direction, through the real client code: an order goes out as an
invoice, is changed and sent again, a payment comes back by webhook, another by catch-up — and at every step
the order equals what QuickBooks holds (its number, total and tax, currency, balance).

What a company needs before its first push is what a broker would set up: a tax code where every line needs one,
a class where classes are tracked; a buyer paying CAD in the multi-currency company."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.cache import cache

from orders.models import Order
from orders.services import LineInput, order_update
from qbo_integration.inbound.catchup import catchup_run
from qbo_integration.testing import COMPANIES, connect_company

from .conftest import entities
from .inbound_support import WEBHOOK, DjangoDeliverer

pytestmark = pytest.mark.django_db

CENT = Decimal("0.01")


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # tax codes, classes, currencies and rates are cached per company
    yield
    cache.clear()


def prepare(qbo, company: str, buyer) -> str:
    """What the company needs before its first push, set up as a broker would."""
    realm = COMPANIES[company]
    conn = connect_company(qbo, realm)
    if company in ("canada", "uk"):
        codes = {code["Name"]: code["Id"] for code in entities(qbo, "TaxCode", realm)}
        conn.default_tax_code_id = codes["HST ON" if company == "canada" else "20.0% S"]
    if company == "strict_books":
        conn.default_class_id = next(c["Id"] for c in entities(qbo, "Class", realm) if c["Name"] == "Produce")
    conn.save()
    if company == "multi_currency":
        buyer.currency = "CAD"
        buyer.save()
    return realm


def push(client, order: Order, method: str = "post"):
    """POST creates the invoice, PUT sends the order's changes (the JSON API, as the spec has it)."""
    body = json.dumps({"docType": "invoice"})
    return getattr(client, method)(f"/api/quickbooks/sync/order/{order.pk}", data=body, content_type="application/json")


def the_invoice(qbo, realm: str, order: Order) -> dict:
    invoices = [i for i in entities(qbo, "Invoice", realm) if i["Id"] == order.qbo_doc_id]
    assert len(entities(qbo, "Invoice", realm)) == 1 and len(invoices) == 1  # exactly one document, the order's
    return invoices[0]


def assert_equal_to_quickbooks(order: Order, invoice: dict, company: str) -> None:
    order.refresh_from_db()
    tax = Decimal(str((invoice.get("TxnTaxDetail") or {}).get("TotalTax", 0))).quantize(CENT)
    assert order.qbo_total == Decimal(str(invoice["TotalAmt"])).quantize(CENT)
    assert order.qbo_balance == Decimal(str(invoice["Balance"])).quantize(CENT)
    assert (order.qbo_tax_total or Decimal("0.00")) == tax
    assert order.qbo_total - tax == order.subtotal  # QuickBooks' total before tax is Kadouri's subtotal
    assert order.qbo_doc_number == invoice["DocNumber"]
    if company == "auto_numbers":
        assert invoice["DocNumber"] != order.number and "[kadouri:" in invoice["PrivateNote"]
    else:
        assert invoice["DocNumber"] == order.number
    if company in ("automated_tax", "canada", "uk"):
        assert tax > 0
    else:
        assert tax == 0
    if company == "multi_currency":
        assert invoice["CurrencyRef"]["value"] == order.qbo_currency == "CAD"
        assert order.qbo_exchange_rate == Decimal(str(invoice["ExchangeRate"])) != 1
    if company == "strict_books":
        assert invoice["ClassRef"]["name"] == "Produce"


@pytest.mark.parametrize("company", list(COMPANIES))
def test_an_order_goes_out_changes_and_comes_back_paid_in_every_company(
    company, staff_client, client, qbo, buyer, order_factory, apples, staff_user, settings,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    realm = prepare(qbo, company, buyer)
    qbo.configure_webhooks(url="http://testserver" + WEBHOOK, verifier_token=settings.QBO_WEBHOOK_VERIFIER_TOKEN)
    qbo.webhooks.deliver = DjangoDeliverer(client, django_capture_on_commit_callbacks)
    order = order_factory()

    # Out: created, then changed and sent again.
    assert push(staff_client, order).status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.POSTED_TO_QB
    assert_equal_to_quickbooks(order, the_invoice(qbo, realm, order), company)
    order = order_update(
        order_id=order.pk,
        fields={},
        lines=[LineInput(product=apples, quantity=Decimal(q), unit_price=apples.unit_price) for q in ("12", "3")],
        by=staff_user,
    )
    assert order.changed_since_push
    updated = push(staff_client, order, "put")
    assert updated.status_code == 200, updated.content
    assert_equal_to_quickbooks(order, the_invoice(qbo, realm, order), company)
    assert not order.changed_since_push

    # Back: part of the balance by webhook, the rest by catch-up (webhooks lost).
    part = (order.qbo_total / 2).quantize(CENT)
    qbo.record_payment(realm, order.qbo_doc_id, part)
    qbo.flush_webhooks(force=True)
    assert_equal_to_quickbooks(order, the_invoice(qbo, realm, order), company)
    assert order.payment_status == Order.PaymentStatus.PARTIAL
    qbo.configure_webhooks(url=None)
    qbo.record_payment(realm, order.qbo_doc_id)
    run = catchup_run(realm_id=realm)
    assert not run.error
    assert_equal_to_quickbooks(order, the_invoice(qbo, realm, order), company)
    assert (order.status, order.payment_status, order.qbo_balance) == ("paid", "paid", Decimal("0.00"))
