"""The credit pages (docs/quickbooks/money.md#credits): issue a credit from the order page, see it in the order's
Money card and on the buyer's page, apply it to another open order and refund it; a bad input re-renders the form
with what was typed and sends nothing; a double submit of the same form makes one credit memo."""

from __future__ import annotations

from decimal import Decimal

import pytest

from qbo_integration.connection import calls
from qbo_integration.inbound.catchup import catchup_run
from qbo_integration.models import QboMoney
from qbo_integration.testing import REALM_ID

from .conftest import entities
from .test_credits_api import account_id, one, paid, posted, writes

pytestmark = pytest.mark.django_db


def new_credit_page(order) -> str:
    return f"/settings/quickbooks/orders/{order.pk}/credits/new/"


def test_the_form_lists_each_line_with_what_can_still_be_credited_and_issues_the_credit(
    staff_client, qbo_connected, order_factory
):
    order = posted(staff_client, order_factory())
    pears = order.lines.get(product__name="Bartlett Pears")
    page = staff_client.get(new_credit_page(order)).content.decode()
    assert "Bartlett Pears" in page and 'placeholder="max 4"' in page and 'name="token"' in page

    response = staff_client.post(
        new_credit_page(order), {"reason": "damaged", f"qty_{pears.pk}": "2", "token": "t-1"}, follow=True
    )

    assert response.redirect_chain[-1][0] == order.get_absolute_url()
    text = response.content.decode()
    (memo,) = entities(qbo_connected, "CreditMemo")
    assert (
        f"Credit memo #{memo.get('DocNumber') or memo['Id']} issued in QuickBooks; $73.50 applied to the invoice"
        in text
    )
    assert 'data-testid="credit-row"' in text and "Damaged" in text and "Sam Staff" in text
    assert Decimal(str(one(qbo_connected, "Invoice", order.qbo_doc_id)["Balance"])) == Decimal("398.50")
    again = staff_client.get(new_credit_page(order)).content.decode()
    assert 'placeholder="max 2"' in again


def test_a_bad_amount_re_renders_the_form_with_the_input_and_sends_nothing(staff_client, qbo_connected, order_factory):
    order = posted(staff_client, order_factory())
    before = writes(qbo_connected)

    response = staff_client.post(
        new_credit_page(order), {"reason": "other", "amount": "12.345", "note": "Bruised crates", "token": "t-2"}
    )

    assert response.status_code == 422
    text = response.content.decode()
    assert "at most two decimals" in text and 'value="12.345"' in text and 'value="Bruised crates"' in text
    assert 'value="t-2"' in text
    assert writes(qbo_connected) == before and not QboMoney.objects.exists()


def test_a_double_submit_of_the_same_form_makes_one_credit_memo(staff_client, qbo_connected, order_factory):
    order = posted(staff_client, order_factory())
    form = {"reason": "rejected", "amount": "25.00", "token": "same-form"}

    first = staff_client.post(new_credit_page(order), form)
    second = staff_client.post(new_credit_page(order), form)

    assert first.status_code == second.status_code == 302
    assert len(entities(qbo_connected, "CreditMemo")) == 1
    assert QboMoney.objects.filter(entity=QboMoney.Entity.CREDIT_MEMO).count() == 1


def test_going_back_changing_the_amount_and_submitting_again_issues_the_new_credit(
    staff_client, qbo_connected, order_factory
):
    order = posted(staff_client, order_factory())
    staff_client.post(new_credit_page(order), {"reason": "rejected", "amount": "25.00", "token": "went-back"})

    # the browser's back button shows the same form (same token); the user changes the amount and submits it
    response = staff_client.post(
        new_credit_page(order), {"reason": "rejected", "amount": "30.00", "token": "went-back"}, follow=True
    )

    assert sorted(Decimal(str(memo["TotalAmt"])) for memo in entities(qbo_connected, "CreditMemo")) == [
        Decimal("25.00"),
        Decimal("30.00"),
    ]
    assert "$30.00 applied to the invoice" in response.content.decode()
    assert Decimal(str(one(qbo_connected, "Invoice", order.qbo_doc_id)["Balance"])) == Decimal("417.00")


def test_a_credit_on_a_paid_order_shows_on_the_buyers_page_is_applied_and_refunded(
    staff_client, qbo_connected, order_factory, buyer
):
    settled = paid(qbo_connected, staff_client, order_factory())
    other = posted(staff_client, order_factory())
    staff_client.post(new_credit_page(settled), {"reason": "short_shipped", "amount": "90.00", "token": "t-3"})
    credit = QboMoney.objects.get(entity=QboMoney.Entity.CREDIT_MEMO)

    account_page = staff_client.get(buyer.get_absolute_url()).content.decode()
    assert 'data-testid="buyer-credits"' in account_page and "$90.00" in account_page
    assert f"/settings/quickbooks/credits/{credit.qbo_id}/apply/" in account_page
    apply_page = staff_client.get(f"/settings/quickbooks/credits/{credit.qbo_id}/apply/").content.decode()
    assert other.number in apply_page and settled.number not in apply_page.split("<select")[1]

    applied = staff_client.post(
        f"/settings/quickbooks/credits/{credit.qbo_id}/apply/", {"order": other.pk, "amount": "40", "token": "t-4"}
    )
    assert applied.status_code == 302 and applied["Location"] == other.get_absolute_url()
    assert Decimal(str(one(qbo_connected, "Invoice", other.qbo_doc_id)["Balance"])) == Decimal("432.00")

    refund_page = staff_client.get(f"/settings/quickbooks/credits/{credit.qbo_id}/refund/").content.decode()
    assert 'value="50.00"' in refund_page and "Checking" in refund_page and "Undeposited Funds" not in refund_page
    refunded = staff_client.post(
        f"/settings/quickbooks/credits/{credit.qbo_id}/refund/",
        {"amount": "50.00", "account": account_id(qbo_connected, "Savings"), "method": "1", "token": "t-5"},
    )
    assert refunded.status_code == 302
    (refund,) = entities(qbo_connected, "RefundReceipt")
    assert Decimal(str(refund["TotalAmt"])) == Decimal("50.00")
    assert refund["DepositToAccountRef"]["value"] == account_id(qbo_connected, "Savings")
    assert 'data-testid="buyer-credits"' not in staff_client.get(buyer.get_absolute_url()).content.decode()


def test_credits_are_named_by_quickbooks_number_on_the_pages_and_in_the_log(
    staff_client, qbo_connected, order_factory, buyer
):
    settled = paid(qbo_connected, staff_client, order_factory())
    other = posted(staff_client, order_factory())
    staff_client.post(new_credit_page(settled), {"reason": "damaged", "amount": "30.00", "token": "n-1"})
    (memo,) = entities(qbo_connected, "CreditMemo")
    number = memo["DocNumber"]
    assert number != memo["Id"]
    credit = QboMoney.objects.get(entity=QboMoney.Entity.CREDIT_MEMO)
    assert credit.doc_number == number

    order_page = staff_client.get(settled.get_absolute_url()).content.decode()
    account_page = staff_client.get(buyer.get_absolute_url()).content.decode()
    applied = staff_client.post(
        f"/settings/quickbooks/credits/{credit.qbo_id}/apply/",
        {"order": other.pk, "amount": "10", "token": "n-2"},
        follow=True,
    ).content.decode()

    assert f"<td>#{number}</td>" in order_page and f"<td>#{number}</td>" in account_page
    assert f"Credit memo #{number} applied: $10.00 off order {other.number}." in applied
    assert staff_client.get(f"/api/quickbooks/sync/order/{settled.pk}/credits").json()["credits"][0]["docNumber"] == (
        number
    )
    staff_client.post(new_credit_page(settled), {"reason": "other", "amount": "5.00", "token": "n-3"})
    second = QboMoney.objects.filter(entity=QboMoney.Entity.CREDIT_MEMO).latest("pk")
    qbo_connected.delete_credit_memo(REALM_ID, second.qbo_id)
    catchup_run(realm_id=REALM_ID)
    deleted = f"Credit memo #{second.doc_number} ($5.00) deleted in QuickBooks."
    assert second.doc_number and settled.activities.filter(description=deleted).exists()


def test_a_refund_above_the_remaining_credit_re_renders_with_the_message(staff_client, qbo_connected, order_factory):
    settled = paid(qbo_connected, staff_client, order_factory())
    staff_client.post(new_credit_page(settled), {"reason": "damaged", "amount": "10.00", "token": "t-6"})
    credit = QboMoney.objects.get(entity=QboMoney.Entity.CREDIT_MEMO)
    before = writes(qbo_connected)

    response = staff_client.post(
        f"/settings/quickbooks/credits/{credit.qbo_id}/refund/",
        {"amount": "10.01", "account": account_id(qbo_connected, "Checking"), "reference": "R-9", "token": "t-7"},
    )

    assert response.status_code == 422
    assert "more than the credit&#x27;s remaining $10.00" in response.content.decode()
    assert 'value="R-9"' in response.content.decode()
    assert writes(qbo_connected) == before


def test_a_credit_memo_made_in_quickbooks_shows_on_the_buyers_page(staff_client, qbo_connected, order_factory, buyer):
    order = posted(staff_client, order_factory())  # the buyer and the item exist in QuickBooks now
    item_id = order.lines.first().product.qbo_item_id
    buyer.refresh_from_db()
    calls.create(  # the bookkeeper's credit memo, without any Kadouri marker
        "CreditMemo",
        {
            "CustomerRef": {"value": buyer.qbo_customer_id},
            "Line": [
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": 35,
                    "SalesItemLineDetail": {"ItemRef": {"value": item_id}, "Qty": 1, "UnitPrice": 35},
                }
            ],
        },
        request_id="bookkeeper-memo-1",
    )

    catchup_run(realm_id=REALM_ID)

    row = QboMoney.objects.get(entity=QboMoney.Entity.CREDIT_MEMO)
    assert (row.order, row.account, row.total, row.unapplied, row.recorded_in_kadouri) == (
        None,
        buyer,
        Decimal("35.00"),
        Decimal("35.00"),
        False,
    )
    page = staff_client.get(buyer.get_absolute_url()).content.decode()
    assert "issued in QuickBooks" in page and "$35.00" in page


def test_a_credit_memo_made_in_quickbooks_is_refunded_from_the_buyers_page(
    staff_client, qbo_connected, order_factory, buyer
):
    posted(staff_client, order_factory())
    buyer.refresh_from_db()
    memo = qbo_connected.issue_credit_memo(REALM_ID, buyer.qbo_customer_id, 45)
    catchup_run(realm_id=REALM_ID)
    page = staff_client.get(buyer.get_absolute_url()).content.decode()
    assert f"/settings/quickbooks/credits/{memo['Id']}/refund/" in page
    form = {"amount": "45.00", "account": account_id(qbo_connected, "Checking"), "token": "r-1"}

    first = staff_client.post(f"/settings/quickbooks/credits/{memo['Id']}/refund/", form)
    second = staff_client.post(f"/settings/quickbooks/credits/{memo['Id']}/refund/", form)

    assert first.status_code == 302 and first["Location"] == buyer.get_absolute_url(), first.content.decode()[-3000:]
    assert second.status_code == 302
    (refund,) = entities(qbo_connected, "RefundReceipt")
    assert Decimal(str(refund["TotalAmt"])) == Decimal("45.00")
    assert f"Kadouri account {buyer.code}" in refund["PrivateNote"]
    assert Decimal(str(one(qbo_connected, "CreditMemo", memo["Id"])["RemainingCredit"])) == 0
    assert 'data-testid="buyer-credits"' not in staff_client.get(buyer.get_absolute_url()).content.decode()


def test_issue_credit_is_offered_on_an_invoiced_order_only(staff_client, qbo_connected, order_factory):
    invoiced, draft = posted(staff_client, order_factory()), order_factory()

    assert 'data-testid="issue-credit"' in staff_client.get(invoiced.get_absolute_url()).content.decode()
    assert 'data-testid="issue-credit"' not in staff_client.get(draft.get_absolute_url()).content.decode()


def test_the_credit_form_of_a_draft_cancelled_or_estimate_order_sends_back_to_the_order_with_the_reason(
    staff_client, qbo_connected, order_factory
):
    draft = order_factory()
    cancelled = posted(staff_client, order_factory())
    assert staff_client.delete(f"/api/quickbooks/sync/order/{cancelled.pk}").status_code == 200
    estimate = order_factory()
    body = '{"docType": "estimate"}'
    pushed = staff_client.post(f"/api/quickbooks/sync/order/{estimate.pk}", data=body, content_type="application/json")
    assert pushed.status_code == 200, pushed.content

    for order, reason in (
        (draft, "is not in QuickBooks yet; create its invoice before issuing a credit."),
        (cancelled, "is cancelled; there is nothing to credit."),
        (estimate, "is an estimate in QuickBooks; convert it to an invoice before issuing a credit."),
    ):
        response = staff_client.get(new_credit_page(order), follow=True)

        assert response.redirect_chain == [(order.get_absolute_url(), 302)]
        assert f"Order {order.number} {reason}" in response.content.decode()


def test_a_payment_that_only_applies_a_credit_shows_credit_applied_not_a_deposit_account(
    staff_client, qbo_connected, order_factory
):
    order = posted(staff_client, order_factory())
    staff_client.post(new_credit_page(order), {"reason": "damaged", "amount": "40.00", "token": "c-1"})
    catchup_run(realm_id=REALM_ID)  # the payment's row as QuickBooks has it, with the deposit account it names
    applying = QboMoney.objects.get(entity=QboMoney.Entity.PAYMENT, order=order)
    assert applying.deposit_account_name == "Undeposited Funds"  # what QuickBooks answers for a payment of no money

    page = staff_client.get(order.get_absolute_url()).content.decode()

    (row,) = [row for row in page.split("<tr")[1:] if 'data-testid="payment-row"' in row]
    assert '<td data-label="Method">Credit applied</td>' in row
    assert '<td data-label="Deposit to">—</td>' in row and "Undeposited Funds" not in row
