"""The commission report (docs/quickbooks/beyond.md#commission-report): per seller, month and currency, the orders
sold (an invoice or a cash sale, posted or paid), their total, the commission, what the buyers paid and owe, and the
broker's documents; figures checked against Decimals worked out by hand, the CSV, access, bad filters, the empty
page and a query count that does not grow with the orders."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import make_account, make_order
from orders.commission_report import commission_report
from orders.models import Order
from qbo_integration.models_beyond import BrokerDocument

pytestmark = pytest.mark.django_db

PAGE = "/reports/commission/"
CSV = "/reports/commission/export.csv"
NOV_DEC = {"month_from": "2026-11", "month_to": "2026-12"}
S, P, D = Order.Status, Order.PaymentStatus, Order.DocType


def in_quickbooks(order, *, doc_type=D.INVOICE, status=S.POSTED_TO_QB, total=None, balance=None, currency=""):
    """The order as Kadouri stores it once QuickBooks has its document (the documents' store writes these)."""
    total = order.total if total is None else Decimal(total)
    balance = total if balance is None else Decimal(balance)
    paid = P.PAID if balance == 0 else P.PARTIAL if balance < total else P.UNPAID
    Order.objects.filter(pk=order.pk).update(
        status=status,
        qbo_doc_id=str(order.pk),
        qbo_doc_type=doc_type,
        qbo_doc_number=order.number,
        qbo_total=total,
        qbo_balance=balance,
        payment_status=paid,
        qbo_currency=currency,
    )
    return order


def broker_document(order, kind, *, total, balance, state=BrokerDocument.State.ACTIVE):
    entity = "Bill" if kind == BrokerDocument.Kind.SELLER_BILL else "Invoice"
    return BrokerDocument.objects.create(
        realm_id="9130350000000001",
        order=order,
        kind=kind,
        entity=entity,
        qbo_id=f"{order.pk}{kind[0]}",
        state=state,
        total=Decimal(total),
        balance=Decimal(balance),
    )


@pytest.fixture
def sales(seller, buyer, apples, pears, staff_user):
    """Green Valley Farms sells in November (three USD orders: paid, partly paid, a cash sale; one CAD order) and
    December; Sunrise Orchards in November; and four orders that must not count."""
    sunrise = make_account("Sunrise Orchards", "SUN")
    maple = make_account("Maple Grocers", "MAPLE", currency="CAD")

    def order(lines, *, by_seller=seller, to=buyer, day=date(2026, 11, 2), rate="5.00"):
        return make_order(
            seller=by_seller, buyer=to, lines=lines, by=staff_user, order_date=day, commission_rate=Decimal(rate)
        )

    paid = in_quickbooks(order([(apples, "10"), (pears, "4")]), status=S.PAID, balance="0")  # 472.00, 23.60
    partly = in_quickbooks(order([(apples, "3")], rate="7.50"), balance="40.00")  # 97.50, 7.3125 → 7.31
    cash = in_quickbooks(
        order([(pears, "1")], rate="4.25"), doc_type=D.SALES_RECEIPT, status=S.PAID, balance="0"
    )  # 36.75, 1.561875 → 1.56
    in_quickbooks(order([(apples, "1")], day=date(2026, 12, 30)))  # December: 32.50, 1.625 → 1.63
    in_quickbooks(order([(apples, "2")], to=maple), currency="CAD")  # CAD 65.00, 3.25
    other = in_quickbooks(order([(apples, "4")], by_seller=sunrise, rate="10"), status=S.PAID, balance="0")
    order([(apples, "1")])  # a draft
    in_quickbooks(order([(apples, "1")]), doc_type=D.ESTIMATE)  # an estimate only
    in_quickbooks(order([(apples, "1")]), status=S.CANCELLED, total="0", balance="0")  # voided invoice
    in_quickbooks(order([(apples, "9")], day=date(2026, 10, 31)), status=S.PAID, balance="0")  # October

    broker_document(paid, BrokerDocument.Kind.COMMISSION_INVOICE, total="23.60", balance="0")
    broker_document(partly, BrokerDocument.Kind.COMMISSION_INVOICE, total="7.31", balance="7.31")
    broker_document(partly, BrokerDocument.Kind.SELLER_BILL, total="90.19", balance="0")
    broker_document(other, BrokerDocument.Kind.COMMISSION_INVOICE, total="13.00", balance="13.00", state="voided")
    return {"cash": cash, "sunrise": sunrise}


def test_figures_per_seller_month_and_currency_match_the_hand_computed_ones(sales, seller):
    report = commission_report(month_from=date(2026, 11, 1), month_to=date(2026, 12, 1))

    rows = [(r.seller.name, r.month, r.currency, r.orders, r.sold, r.commission) for r in report.rows]
    assert rows == [
        ("Green Valley Farms", date(2026, 11, 1), "CAD", 1, Decimal("65.00"), Decimal("3.25")),
        ("Green Valley Farms", date(2026, 11, 1), "USD", 3, Decimal("606.25"), Decimal("32.47")),
        ("Green Valley Farms", date(2026, 12, 1), "USD", 1, Decimal("32.50"), Decimal("1.63")),
        ("Sunrise Orchards", date(2026, 11, 1), "USD", 1, Decimal("130.00"), Decimal("13.00")),
    ]
    november = report.rows[1]
    assert (november.paid_orders, november.partly_paid_orders, november.unpaid_orders) == (2, 1, 0)
    assert (november.received, november.owed) == (Decimal("566.25"), Decimal("40.00"))
    invoices, bills = november.commission_invoices, november.seller_bills
    assert (invoices.active, invoices.paid, invoices.unpaid, invoices.open_amount) == (2, 1, 1, Decimal("7.31"))
    assert (bills.active, bills.paid, bills.open_amount) == (1, 1, Decimal("0"))
    assert (report.rows[0].unpaid_orders, report.rows[0].owed) == (1, Decimal("65.00"))
    assert (report.rows[3].commission_invoices.active, report.rows[3].commission_invoices.voided) == (0, 1)
    totals = [(t.currency, t.orders, t.sold, t.commission, t.received, t.owed) for t in report.totals]
    assert totals == [
        ("CAD", 1, Decimal("65.00"), Decimal("3.25"), Decimal("0.00"), Decimal("65.00")),
        ("USD", 5, Decimal("768.75"), Decimal("47.10"), Decimal("696.25"), Decimal("72.50")),
    ]
    assert (report.not_counted.drafts, report.not_counted.estimates, report.not_counted.cancelled) == (1, 1, 1)
    only_sunrise = commission_report(month_from=date(2026, 11, 1), month_to=date(2026, 12, 1), seller=sales["sunrise"])
    assert [r.seller.name for r in only_sunrise.rows] == ["Sunrise Orchards"] and only_sunrise.not_counted.total == 0


def test_the_page_shows_each_row_its_totals_and_what_is_not_counted(staff_client, sales):
    page = staff_client.get(PAGE, NOV_DEC).content.decode()

    assert page.count('data-testid="commission-row"') == 4 and page.count('data-testid="commission-total"') == 2
    assert "$606.25" in page and "$32.47" in page and "CAD 65.00" in page and "CAD 3.25" in page
    assert "2 paid · 1 partly paid" in page and "paid $566.25 · owe $40.00" in page
    assert "Commission invoices: 1 paid, 1 open" in page and "($7.31 unpaid)" in page and "Seller bill: 1 paid" in page
    assert "1 voided or deleted" in page
    assert "$768.75" in page and "$47.10" in page  # the USD total
    assert "Not counted: 1 draft, 1 with an estimate only, 1 cancelled." in page
    assert "Nov 2026" in page and "Dec 2026" in page and "Oct 2026" not in page


def test_the_csv_has_a_header_and_one_row_per_seller_month_and_currency(staff_client, sales):
    response = staff_client.get(CSV, NOV_DEC)

    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="commission-2026-11-to-2026-12.csv"'
    header, *rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert header == [
        "seller",
        "seller_code",
        "month",
        "currency",
        "orders",
        "sold",
        "commission",
        "buyers_paid_orders",
        "buyers_partly_paid_orders",
        "buyers_unpaid_orders",
        "buyers_paid",
        "buyers_owe",
        "commission_invoices",
        "commission_invoices_paid",
        "commission_invoices_open",
        "seller_bills",
        "seller_bills_paid",
        "seller_bills_open",
        "broker_documents_voided",
        "broker_documents_open_in_other_currencies",
    ]
    assert rows == [
        ["Green Valley Farms", "GVF", "2026-11", "CAD", "1", "65.00", "3.25", "0", "0", "1", "0.00", "65.00"]
        + ["0", "0", "0.00", "0", "0", "0.00", "0", ""],
        ["Green Valley Farms", "GVF", "2026-11", "USD", "3", "606.25", "32.47", "2", "1", "0", "566.25", "40.00"]
        + ["2", "1", "7.31", "1", "1", "0.00", "0", ""],
        ["Green Valley Farms", "GVF", "2026-12", "USD", "1", "32.50", "1.63", "0", "0", "1", "0.00", "32.50"]
        + ["0", "0", "0.00", "0", "0", "0.00", "0", ""],
        ["Sunrise Orchards", "SUN", "2026-11", "USD", "1", "130.00", "13.00", "1", "0", "0", "130.00", "0.00"]
        + ["0", "0", "0.00", "0", "0", "0.00", "1", ""],
    ]


def test_a_name_a_spreadsheet_would_run_as_a_formula_is_written_as_text(staff_client, sales, seller):
    seller.name = "=HYPERLINK(1)"
    seller.save()

    rows = list(csv.reader(io.StringIO(staff_client.get(CSV, NOV_DEC).content.decode())))

    assert rows[1][0] == "'=HYPERLINK(1)"


def test_the_report_is_for_logged_in_staff_only(client, staff_client, sales):
    assert client.get(PAGE).status_code == 302 and client.get(PAGE)["Location"].startswith("/login/")
    assert client.get(CSV).status_code == 302 and client.get(CSV)["Location"].startswith("/login/")
    page = staff_client.get("/").content.decode()
    assert '<a href="/reports/commission/"' in page and ">Commission</a>" in page
    assert staff_client.get(PAGE).status_code == 200 and staff_client.post(PAGE).status_code == 405


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"month_from": "2026-13"}, "Enter a month as YYYY-MM, e.g. 2026-11."),
        ({"month_to": "november"}, "Enter a month as YYYY-MM, e.g. 2026-11."),
        ({"month_from": "1999-12"}, "Orders are dated from 2000 to"),
        ({"month_from": "2026-12", "month_to": "2026-11"}, "The first month comes after the last one: swap them."),
        ({"month_from": "2010-01", "month_to": "2026-11"}, "Choose at most 120 months (10 years) at a time."),
        ({"seller": "abc"}, "Choose a seller from the list."),
        ({"seller": "999999"}, "Choose a seller from the list."),
    ],
)
def test_bad_filters_get_a_clear_message_not_an_error_page(staff_client, sales, params, message):
    for url in (PAGE, CSV):
        response = staff_client.get(url, NOV_DEC | params)

        assert response.status_code == 400 and message in response.content.decode(), url
        assert 'data-testid="commission-row"' not in response.content.decode()


def test_a_page_number_that_is_not_one_shows_the_first_page(staff_client, sales):
    response = staff_client.get(PAGE, NOV_DEC | {"page": "abc"})

    assert response.status_code == 200 and response.content.decode().count('data-testid="commission-row"') == 4


def test_nothing_sold_says_so(staff_client, sales, seller):
    response = staff_client.get(PAGE, {"month_from": "2026-01", "month_to": "2026-03", "seller": seller.pk})

    assert response.status_code == 200
    assert "No orders sold by Green Valley Farms from January 2026 to March 2026." in response.content.decode()


def test_long_reports_are_paged_with_their_filters_kept(staff_client, seller, buyer, apples):
    for month in range(1, 13):
        for year in (2024, 2025, 2026, 2027, 2028):  # 60 rows: 60 months of one seller
            in_quickbooks(
                make_order(seller=seller, buyer=buyer, lines=[(apples, "1")], order_date=date(year, month, 3))
            )
    filters = {"month_from": "2024-01", "month_to": "2028-12"}

    first = staff_client.get(PAGE, filters).content.decode()
    second = staff_client.get(PAGE, filters | {"page": "2"}).content.decode()

    assert first.count('data-testid="commission-row"') == 50 and second.count('data-testid="commission-row"') == 10
    assert "Page 1 of 2 (60)" in first and "?month_from=2024-01&amp;month_to=2028-12&page=2" in first
    assert first.count('data-testid="commission-total"') == 1 and "$1,950.00" in first  # 60 × 32.50 on each page


def test_the_query_count_does_not_grow_with_orders_sellers_or_documents(staff_client, seller, buyer, apples):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get(PAGE, NOV_DEC).status_code == 200
        return len(captured)

    first = in_quickbooks(make_order(seller=seller, buyer=buyer, lines=[(apples, "1")], order_date=date(2026, 11, 5)))
    broker_document(first, BrokerDocument.Kind.COMMISSION_INVOICE, total="1.63", balance="0")
    one = queries()
    for n in range(12):
        other = make_account(f"Seller {n}", f"S{n}")
        order = make_order(seller=other, buyer=buyer, lines=[(apples, "2")], order_date=date(2026, 11 + n % 2, 5))
        in_quickbooks(order, status=S.PAID, balance="0")
        broker_document(order, BrokerDocument.Kind.SELLER_BILL, total="61.75", balance="61.75")

    assert queries() == one
