"""Credits and refunds through the JSON API (docs/quickbooks/money.md#credits): a credit on an open invoice is
applied there and the balance falls; a credit on a paid order stays the buyer's, is applied to another open order
or refunded from a bank account; every refusal answers 409 or 422 and sends nothing."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from conftest import make_account, make_order
from orders.models import Order, OrderActivity
from qbo_integration.inbound.catchup import catchup_run
from qbo_integration.models import QboMoney
from qbo_integration.testing import REALM_ID

from .conftest import entities

pytestmark = pytest.mark.django_db

CHECKING = "Checking"


def api(client, method: str, path: str, body: dict | None = None, **headers):
    if method == "GET":
        return client.get(f"/api/quickbooks/{path}")
    return getattr(client, method.lower())(
        f"/api/quickbooks/{path}", data=json.dumps(body or {}), content_type="application/json", headers=headers
    )


def posted(client, order) -> Order:
    response = api(client, "POST", f"sync/order/{order.pk}", {"docType": "invoice"})
    assert response.status_code == 200, response.content
    order.refresh_from_db()
    return order


def paid(emu, client, order) -> Order:
    """Paid in full by the bookkeeper in QuickBooks; Kadouri learns it from the catch-up."""
    order = posted(client, order)
    emu.record_payment(REALM_ID, order.qbo_doc_id)
    catchup_run(realm_id=REALM_ID)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    return order


def one(emu, entity: str, qbo_id: str) -> dict:
    return next(row for row in entities(emu, entity) if str(row["Id"]) == str(qbo_id))


def writes(emu) -> list[str]:
    """Every write Kadouri sent to QuickBooks (queries and reads are not writes)."""
    return [r["subpath"] for r in emu.requests(method="POST") if r["subpath"] not in ("query",)]


def account_id(emu, name: str) -> str:
    return next(a["Id"] for a in entities(emu, "Account") if a["Name"] == name)


def issue(client, order, body: dict, **headers):
    return api(client, "POST", f"sync/order/{order.pk}/credits", body, **headers)


def test_a_credit_of_a_whole_line_on_an_open_invoice_is_applied_and_the_balance_falls(
    staff_client, qbo_connected, order_factory
):
    order = posted(staff_client, order_factory())
    pears = order.lines.get(product__name="Bartlett Pears")

    response = issue(staff_client, order, {"reason": "damaged", "lines": [{"lineId": pears.pk, "quantity": "4"}]})

    assert response.status_code == 200, response.content
    body = response.json()
    credit = body["credit"]
    assert (credit["total"], credit["remaining"], credit["applied"], credit["reason"]) == (
        "147.00",
        "0.00",
        "147.00",
        "damaged",
    )
    assert body["money"] == {
        "sold": "472.00",
        "credited": "147.00",
        "paid": "0.00",
        "creditApplied": "147.00",
        "open": "325.00",
    }
    (memo,) = entities(qbo_connected, "CreditMemo")
    assert Decimal(str(memo["TotalAmt"])) == Decimal("147.00") and Decimal(str(memo["RemainingCredit"])) == 0
    line = memo["Line"][0]
    assert line["SalesItemLineDetail"]["Qty"] == 4 and line["Description"] == "Bartlett Pears"
    assert Decimal(str(one(qbo_connected, "Invoice", order.qbo_doc_id)["Balance"])) == Decimal("325.00")
    order.refresh_from_db()
    assert order.qbo_balance == Decimal("325.00") and order.payment_status == Order.PaymentStatus.PARTIAL
    issued = order.activities.get(activity_type=OrderActivity.Type.CREDIT_ISSUED)
    assert issued.description == (
        f"Credit of $147.00 (Damaged: 4 × Bartlett Pears) issued in QuickBooks by Sam Staff as credit memo "
        f"#{memo.get('DocNumber') or memo['Id']}."
    )
    assert order.activities.filter(activity_type=OrderActivity.Type.CREDIT_APPLIED).count() == 1


def test_part_of_a_line_quantity_is_credited_and_the_rest_stays_creditable(staff_client, qbo_connected, order_factory):
    order = posted(staff_client, order_factory())
    apples = order.lines.get(product__name="Gala Apples")

    first = issue(staff_client, order, {"reason": "rejected", "lines": [{"lineId": apples.pk, "quantity": "2.5"}]})
    too_many = issue(staff_client, order, {"reason": "rejected", "lines": [{"lineId": apples.pk, "quantity": "8"}]})
    rest = issue(staff_client, order, {"reason": "rejected", "lines": [{"lineId": apples.pk, "quantity": "7.5"}]})

    assert first.status_code == 200 and first.json()["credit"]["total"] == "81.25"
    assert too_many.status_code == 422 and too_many.json()["field"] == "lines"
    assert "Only 7.5 of Gala Apples can still be credited" in too_many.json()["error"]
    assert rest.status_code == 200 and rest.json()["credit"]["total"] == "243.75"
    assert [Decimal(str(m["TotalAmt"])) for m in entities(qbo_connected, "CreditMemo")] == [
        Decimal("81.25"),
        Decimal("243.75"),
    ]
    assert Decimal(str(one(qbo_connected, "Invoice", order.qbo_doc_id)["Balance"])) == Decimal("147.00")


def test_an_amount_is_credited_on_the_first_product_and_applied(staff_client, qbo_connected, order_factory):
    order = posted(staff_client, order_factory())

    response = issue(staff_client, order, {"reason": "price_adjustment", "amount": "50.00", "note": "Late truck"})

    assert response.status_code == 200, response.content
    (memo,) = entities(qbo_connected, "CreditMemo")
    assert Decimal(str(memo["TotalAmt"])) == Decimal("50.00") and Decimal(str(memo["RemainingCredit"])) == 0
    assert "Late truck" in memo["PrivateNote"] and f"Kadouri order {order.number}" in memo["PrivateNote"]
    assert Decimal(str(one(qbo_connected, "Invoice", order.qbo_doc_id)["Balance"])) == Decimal("422.00")
    (applying,) = entities(qbo_connected, "Payment")
    assert Decimal(str(applying["TotalAmt"])) == 0
    assert {link["TxnType"] for line in applying["Line"] for link in line["LinkedTxn"]} == {"Invoice", "CreditMemo"}
    row = QboMoney.objects.get(entity=QboMoney.Entity.PAYMENT)
    assert (row.order, row.amount, row.credit_applied, row.credit.qbo_id) == (order, 0, Decimal("50.00"), memo["Id"])


def test_crediting_the_whole_open_invoice_marks_the_order_paid(staff_client, qbo_connected, order_factory):
    order = posted(staff_client, order_factory())

    response = issue(staff_client, order, {"reason": "rejected", "amount": "472.00"})

    assert response.status_code == 200, response.content
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and order.qbo_balance == 0
    assert response.json()["money"]["open"] == "0.00"


def test_a_credit_on_a_paid_order_stays_the_buyers_then_is_applied_to_another_open_order_and_refunded(
    staff_client, qbo_connected, order_factory
):
    settled = paid(qbo_connected, staff_client, order_factory())
    other = posted(staff_client, order_factory())

    issued = issue(staff_client, settled, {"reason": "short_shipped", "amount": "100.00"})
    assert issued.status_code == 200, issued.content
    credit = issued.json()["credit"]
    assert (credit["total"], credit["remaining"], credit["applied"]) == ("100.00", "100.00", "0.00")
    assert entities(qbo_connected, "Payment")[-1]["TotalAmt"] != 0  # only the bookkeeper's payment

    applied = api(staff_client, "POST", f"sync/credit/{credit['id']}/apply", {"orderId": other.pk, "amount": "30.00"})
    assert applied.status_code == 200, applied.content
    assert applied.json()["money"]["open"] == "442.00"
    assert Decimal(str(one(qbo_connected, "Invoice", other.qbo_doc_id)["Balance"])) == Decimal("442.00")
    assert Decimal(str(one(qbo_connected, "CreditMemo", credit["id"])["RemainingCredit"])) == Decimal("70.00")
    assert other.activities.filter(activity_type=OrderActivity.Type.CREDIT_APPLIED).count() == 1

    checking = account_id(qbo_connected, CHECKING)
    refunded = api(
        staff_client,
        "POST",
        f"sync/credit/{credit['id']}/refund",
        {"account": checking, "method": "2", "reference": "CHK 2001"},
    )
    assert refunded.status_code == 200, refunded.content
    (refund,) = entities(qbo_connected, "RefundReceipt")
    assert Decimal(str(refund["TotalAmt"])) == Decimal("70.00") and refund["DepositToAccountRef"]["value"] == checking
    assert refund["PaymentRefNum"] == "CHK 2001"
    assert Decimal(str(one(qbo_connected, "CreditMemo", credit["id"])["RemainingCredit"])) == 0
    listed = api(staff_client, "GET", f"sync/order/{settled.pk}/credits").json()["credits"]
    assert [(c["total"], c["remaining"], c["applied"], c["refunded"]) for c in listed] == [
        ("100.00", "0.00", "30.00", "70.00")
    ]
    assert settled.activities.filter(activity_type=OrderActivity.Type.CREDIT_REFUNDED).count() == 1


def test_a_double_submit_with_the_same_key_makes_one_credit_memo(staff_client, qbo_connected, order_factory):
    order = posted(staff_client, order_factory())
    body = {"reason": "damaged", "amount": "20.00"}

    first = issue(staff_client, order, body, **{"Idempotency-Key": "form-1"})
    second = issue(staff_client, order, body, **{"Idempotency-Key": "form-1"})

    assert first.status_code == second.status_code == 200
    assert first.json()["job"]["id"] == second.json()["job"]["id"]
    assert len(entities(qbo_connected, "CreditMemo")) == 1 and len(entities(qbo_connected, "Payment")) == 1
    assert QboMoney.objects.filter(entity=QboMoney.Entity.CREDIT_MEMO).count() == 1


def test_the_same_key_with_another_amount_is_a_new_refund_and_the_same_amount_joins(
    staff_client, qbo_connected, order_factory
):
    settled = paid(qbo_connected, staff_client, order_factory())
    credit_id = issue(staff_client, settled, {"reason": "damaged", "amount": "60.00"}).json()["credit"]["id"]
    checking = account_id(qbo_connected, CHECKING)
    path = f"sync/credit/{credit_id}/refund"

    first = api(staff_client, "POST", path, {"amount": "10.00", "account": checking}, **{"Idempotency-Key": "r-1"})
    again = api(staff_client, "POST", path, {"amount": "10.00", "account": checking}, **{"Idempotency-Key": "r-1"})
    changed = api(staff_client, "POST", path, {"amount": "15.00", "account": checking}, **{"Idempotency-Key": "r-1"})

    assert first.status_code == again.status_code == changed.status_code == 200, changed.content
    assert first.json()["job"]["id"] == again.json()["job"]["id"] != changed.json()["job"]["id"]
    refunds = entities(qbo_connected, "RefundReceipt")
    assert sorted(Decimal(str(r["TotalAmt"])) for r in refunds) == [Decimal("10.00"), Decimal("15.00")]
    assert Decimal(str(one(qbo_connected, "CreditMemo", credit_id)["RemainingCredit"])) == Decimal("35.00")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "damaged", "amount": "0"}, "amount"),
        ({"reason": "damaged", "amount": "-5.00"}, "amount"),
        ({"reason": "damaged", "amount": "ten"}, "amount"),
        ({"reason": "damaged", "amount": "1.005"}, "amount"),
        ({"reason": "damaged", "amount": "472.01"}, "amount"),
        ({"reason": "spoiled", "amount": "5.00"}, "reason"),
        ({"reason": "damaged"}, "lines"),
        ({"reason": "damaged", "amount": "5.00", "currency": "CAD"}, "currency"),
        ({"reason": "damaged", "amount": "5.00", "date": "2099-01-01"}, "date"),
    ],
)
def test_bad_input_is_refused_with_the_field_and_nothing_is_sent(
    staff_client, qbo_connected, order_factory, body, field
):
    order = posted(staff_client, order_factory())
    before = writes(qbo_connected)

    response = issue(staff_client, order, body)

    assert response.status_code == 422, response.content
    assert response.json()["field"] == field and response.json()["error"]
    assert writes(qbo_connected) == before
    assert not QboMoney.objects.exists()


def test_a_line_of_another_order_or_above_its_quantity_is_refused(staff_client, qbo_connected, order_factory):
    order, other = posted(staff_client, order_factory()), order_factory()
    before = writes(qbo_connected)
    pears = order.lines.get(product__name="Bartlett Pears")

    foreign = issue(
        staff_client, order, {"reason": "damaged", "lines": [{"lineId": other.lines.first().pk, "quantity": "1"}]}
    )
    above = issue(staff_client, order, {"reason": "damaged", "lines": [{"lineId": pears.pk, "quantity": "4.001"}]})

    assert (foreign.status_code, above.status_code) == (422, 422)
    assert "Only 4 of Bartlett Pears can still be credited (4 sold)" in above.json()["error"]
    assert writes(qbo_connected) == before


def test_an_order_or_line_id_that_only_looks_like_a_number_is_refused_with_its_field(
    staff_client, qbo_connected, order_factory
):
    order = posted(staff_client, order_factory())
    before = writes(qbo_connected)

    line = issue(staff_client, order, {"reason": "damaged", "lines": [{"lineId": "²", "quantity": "1"}]})
    target = api(staff_client, "POST", "sync/credit/1/apply", {"orderId": "²"})

    assert (line.status_code, line.json()["field"]) == (422, "lines")
    assert (target.status_code, target.json()["field"]) == (422, "orderId")
    assert writes(qbo_connected) == before


def test_a_draft_or_cancelled_order_cannot_be_credited(staff_client, qbo_connected, order_factory):
    draft = order_factory()
    cancelled = posted(staff_client, order_factory())
    assert api(staff_client, "DELETE", f"sync/order/{cancelled.pk}").status_code == 200
    before = writes(qbo_connected)

    responses = [issue(staff_client, o, {"reason": "damaged", "amount": "5.00"}) for o in (draft, cancelled)]

    assert [r.status_code for r in responses] == [409, 409]
    assert "not in QuickBooks yet" in responses[0].json()["error"] and "cancelled" in responses[1].json()["error"]
    assert writes(qbo_connected) == before


def test_refusals_of_apply_and_refund_send_nothing(
    staff_client, qbo_connected, order_factory, seller, apples, staff_user
):
    settled = paid(qbo_connected, staff_client, order_factory())
    credit_id = issue(staff_client, settled, {"reason": "damaged", "amount": "60.00"}).json()["credit"]["id"]
    someone_else = make_account("Bayside Grocers", "BSG")
    theirs = posted(staff_client, make_order(seller=seller, buyer=someone_else, lines=[(apples, "2")], by=staff_user))
    income = next(a["Id"] for a in entities(qbo_connected, "Account") if a["AccountType"] == "Income")
    savings = account_id(qbo_connected, "Savings")
    before = writes(qbo_connected)

    other_buyer = api(staff_client, "POST", f"sync/credit/{credit_id}/apply", {"orderId": theirs.pk})
    above_remaining = api(
        staff_client, "POST", f"sync/credit/{credit_id}/refund", {"amount": "60.01", "account": savings}
    )
    not_a_bank = api(staff_client, "POST", f"sync/credit/{credit_id}/refund", {"account": income})
    no_account = api(staff_client, "POST", f"sync/credit/{credit_id}/refund", {})
    unknown_method = api(staff_client, "POST", f"sync/credit/{credit_id}/refund", {"account": savings, "method": "999"})
    paid_target = api(staff_client, "POST", f"sync/credit/{credit_id}/apply", {"orderId": settled.pk})
    unknown = api(staff_client, "POST", "sync/credit/99999/refund", {"account": savings})

    assert (other_buyer.status_code, other_buyer.json()["field"]) == (422, "orderId")
    assert (above_remaining.status_code, above_remaining.json()["field"]) == (422, "amount")
    assert (not_a_bank.status_code, not_a_bank.json()["field"]) == (422, "account")
    assert (no_account.status_code, no_account.json()["field"]) == (422, "account")
    assert (unknown_method.status_code, unknown_method.json()["field"]) == (422, "method")
    assert paid_target.status_code == 409 and unknown.status_code == 404
    assert writes(qbo_connected) == before


def test_a_whole_line_is_credited_at_the_line_s_own_amount_rounded_as_the_order_rounds_it(
    staff_client, qbo_connected, seller, buyer, pears, staff_user
):
    """0.3 × 36.75 = 11.025: the order's line is 11.03 (half up), so crediting the whole line gives back 11.03 and
    leaves nothing to credit — not 11.02 and a cent."""
    order = posted(staff_client, make_order(seller=seller, buyer=buyer, lines=[(pears, "0.3")], by=staff_user))
    line = order.lines.get()
    assert line.amount == Decimal("11.03")

    response = issue(staff_client, order, {"reason": "damaged", "lines": [{"lineId": line.pk, "quantity": "0.3"}]})

    assert response.status_code == 200, response.content
    assert response.json()["credit"]["total"] == "11.03"
    again = issue(staff_client, order, {"reason": "other", "amount": "0.01"})
    assert again.status_code == 422 and again.json()["field"] == "amount"
