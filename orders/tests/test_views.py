"""The order pages: the status table, the forms and their errors, list/detail, CSRF and 404s."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from conftest import make_account, make_order
from orders.models import Order, OrderActivity, OrderLine, latest_order_date
from orders.services import order_activity_log, order_update

pytestmark = pytest.mark.django_db

S = Order.Status


def _form_data(seller, buyer, lines, *, initial=0, **header):
    data = {
        "number": "",
        "seller": seller.pk,
        "buyer": buyer.pk,
        "order_date": "2026-11-02",
        "terms": "net_30",
        "commission_rate": "5.00",
        "notes": "",
        "version": "",
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": str(initial),
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
    }
    for index, line in enumerate(lines):
        for key, value in line.items():
            data[f"lines-{index}-{key}"] = value
    return data | header


def _edit_data(order, **header):
    lines = [
        {
            "product": line.product_id,
            "quantity": str(line.quantity),
            "unit_price": str(line.unit_price),
            "size": line.size,
            "grade": line.grade,
        }
        for line in order.lines.all()
    ]
    data = _form_data(
        order.seller,
        order.buyer,
        lines,
        initial=len(lines),
        number=order.number,
        order_date=order.order_date.isoformat(),
        terms=order.terms,
        commission_rate=str(order.commission_rate),
        notes=order.notes,
        version=str(order.version),
    )
    return data | header


def _field_block(html: str, name: str) -> str:
    """The table cell or form field that holds the input called `name`, with its error messages."""
    pos = html.index(f'name="{name}"')
    start = max(html.rfind("<td", 0, pos), html.rfind('<div class="field', 0, pos))
    ends = [
        i for i in (html.find(marker, pos) for marker in ("<td", '<div class="field', "</tbody>", "</form>")) if i > 0
    ]
    return html[start : min(ends)]


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def _state():
    return (
        list(Order.objects.values_list("id", "number", "notes", "version", "status")),
        list(OrderLine.objects.values_list("order_id", "product_id", "quantity", "unit_price")),
        OrderActivity.objects.count(),
    )


# --- create -------------------------------------------------------------------------------


def test_it_shows_the_create_form(staff_client):
    response = staff_client.get("/orders/new/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="lines-TOTAL_FORMS"' in html and 'id="line-template"' in html and "+ Add line" in html
    assert f'value="{date.today().isoformat()}"' in html or "order_date" in html


def test_it_creates_an_order_with_two_lines(staff_client, staff_user, seller, buyer, apples, pears):
    data = _form_data(
        seller,
        buyer,
        [
            {"product": apples.pk, "quantity": "10", "unit_price": "", "size": "88ct", "grade": "Fancy"},
            {"product": pears.pk, "quantity": "4", "unit_price": "35.00"},
        ],
        notes="First order",
        commission_rate="5",
    )
    response = staff_client.post("/orders/new/", data, REMOTE_ADDR="203.0.113.9")
    order = Order.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/orders/{order.pk}/"
    lines = list(order.lines.values_list("product__name", "quantity", "unit_price", "amount", "size", "grade"))
    assert lines == [
        ("Gala Apples", Decimal("10.000"), Decimal("32.50"), Decimal("325.00"), "88ct", "Fancy"),
        ("Bartlett Pears", Decimal("4.000"), Decimal("35.00"), Decimal("140.00"), "", ""),
    ]
    assert (order.total, order.commission_amount, order.notes) == (Decimal("465.00"), Decimal("23.25"), "First order")
    assert order.number == f"KD-{date.today().year}-{order.pk:05d}"
    activity = order.activities.get()
    assert (activity.activity_type, activity.user, activity.ip_address) == ("order_created", staff_user, "203.0.113.9")
    detail = staff_client.get(response["Location"])
    assert f"Order {order.number} created." in _messages(detail)


def test_it_ignores_an_untouched_extra_line(staff_client, seller, buyer, apples):
    data = _form_data(seller, buyer, [{"product": apples.pk, "quantity": "1"}, {"product": "", "quantity": ""}])
    assert staff_client.post("/orders/new/", data).status_code == 302
    assert OrderLine.objects.count() == 1


def test_it_skips_lines_marked_for_removal(staff_client, seller, buyer, apples, pears):
    data = _form_data(
        seller, buyer, [{"product": apples.pk, "quantity": "1"}, {"product": pears.pk, "quantity": "2", "DELETE": "on"}]
    )
    assert staff_client.post("/orders/new/", data).status_code == 302
    assert list(OrderLine.objects.values_list("product_id", flat=True)) == [apples.pk]


def test_it_requires_at_least_one_line(staff_client, seller, buyer):
    response = staff_client.post("/orders/new/", _form_data(seller, buyer, [{"product": "", "quantity": ""}]))
    assert response.status_code == 400
    assert "Add at least one line." in response.content.decode()
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    "line,field,message,typed",
    [
        ({"quantity": "0"}, "lines-0-quantity", "The quantity must be greater than zero.", 'value="0"'),
        ({"quantity": "-3"}, "lines-0-quantity", "The quantity must be greater than zero.", 'value="-3"'),
        ({"unit_price": "abc"}, "lines-0-unit_price", "Enter a number.", 'value="abc"'),
        ({"unit_price": "-1.00"}, "lines-0-unit_price", "The price cannot be negative.", 'value="-1.00"'),
        ({"product": "", "quantity": "7"}, "lines-0-product", "Choose a product for this line.", 'value="7"'),
        ({"product": "999999"}, "lines-0-product", "Select a valid choice.", 'value="5"'),
    ],
)
def test_it_shows_line_errors_next_to_the_field(staff_client, seller, buyer, apples, line, field, message, typed):
    data = _form_data(
        seller, buyer, [{"product": apples.pk, "quantity": "5", "unit_price": "", **line}], notes="Keep me"
    )
    response = staff_client.post("/orders/new/", data)
    assert response.status_code == 400
    html = response.content.decode()
    block = _field_block(html, field)
    assert 'class="has-error"' in block and message in block
    assert typed in html and "Keep me" in html
    assert not Order.objects.exists() and not OrderActivity.objects.exists()


@pytest.mark.parametrize(
    "header,field,message",
    [
        ({"buyer": "SELLER"}, "buyer", "The buyer must be a different account from the seller."),
        ({"terms": "net_45"}, "terms", "Select a valid choice. net_45 is not one of the available choices."),
        ({"number": "N" * 22}, "number", "Ensure this value has at most 21 characters (it has 22)."),
        ({"commission_rate": "101"}, "commission_rate", "less than or equal to 100"),
        ({"order_date": "2026-13-45"}, "order_date", "Enter a valid date."),
        ({"seller": "999999"}, "seller", "Select a valid choice."),
    ],
)
def test_it_shows_header_errors_next_to_the_field(staff_client, seller, buyer, apples, header, field, message):
    header = {k: (seller.pk if v == "SELLER" else v) for k, v in header.items()}
    data = _form_data(seller, buyer, [{"product": apples.pk, "quantity": "3", "size": "88ct"}], notes="Typed notes")
    data |= header
    response = staff_client.post("/orders/new/", data)
    assert response.status_code == 400
    html = response.content.decode()
    block = _field_block(html, field)
    assert "has-error" in block and message in block
    assert "Typed notes" in html and 'value="88ct"' in html and 'value="3"' in html
    assert not Order.objects.exists() and not OrderActivity.objects.exists()


def test_it_refuses_a_duplicate_number_with_a_message(staff_client, seller, buyer, apples):
    make_order(seller=seller, buyer=buyer, lines=[(apples, "1")], number="DUP-1")
    before = _state()
    response = staff_client.post(
        "/orders/new/",
        _form_data(seller, buyer, [{"product": apples.pk, "quantity": "2"}], number="DUP-1", notes="mine"),
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "Order number DUP-1 is already used." in html and "mine" in html
    assert _state() == before


def test_it_refuses_a_line_amount_too_large_to_store(staff_client, seller, buyer, apples):
    # 999,999,999 × 9,999,999,999.99 overflows numeric(14, 2): PostgreSQL would answer with a 500.
    data = _form_data(seller, buyer, [{"product": apples.pk, "quantity": "999999999", "unit_price": "9999999999.99"}])
    response = staff_client.post("/orders/new/", data)
    assert response.status_code == 409
    assert "Line 1: the amount is too large" in response.content.decode()
    assert not Order.objects.exists()


# --- edit ---------------------------------------------------------------------------------


def test_it_shows_the_edit_form_with_the_lines_and_version(staff_client, order_factory):
    order = order_factory()
    response = staff_client.get(f"/orders/{order.pk}/edit/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'name="version" value="{order.version}"' in html
    assert 'name="lines-INITIAL_FORMS" value="2"' in html
    assert 'name="lines-1-quantity" value="4"' in html  # a quantity as people write it, not "4.000"


@pytest.mark.parametrize("status", [S.DRAFT, S.POSTED_TO_QB])
def test_it_edits_draft_and_posted_orders(staff_client, staff_user, order_factory, status):
    order = order_factory(status=status)
    data = _edit_data(order, notes="Deliver Tuesday") | {"lines-0-quantity": "12"}
    response = staff_client.post(f"/orders/{order.pk}/edit/", data, REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 302 and response["Location"] == f"/orders/{order.pk}/"
    order = Order.objects.get(pk=order.pk)
    assert order.notes == "Deliver Tuesday" and order.total == Decimal("537.00")
    activity = order.activities.filter(activity_type="order_edited").get()
    assert (activity.user, activity.ip_address) == (staff_user, "198.51.100.7")
    assert set(activity.details["changes"]) == {"notes", "lines"}
    assert order.changed_since_push is (status == S.POSTED_TO_QB)


def test_it_shows_a_posted_order_out_of_date_after_an_edit(staff_client, order_factory):
    order = order_factory(status=S.POSTED_TO_QB)
    Order.objects.filter(pk=order.pk).update(qbo_doc_id="130", qbo_doc_number=order.number, qbo_doc_type="invoice")
    assert 'data-testid="out-of-date"' not in staff_client.get(f"/orders/{order.pk}/").content.decode()
    order.refresh_from_db()
    staff_client.post(f"/orders/{order.pk}/edit/", _edit_data(order, notes="changed"))
    html = staff_client.get(f"/orders/{order.pk}/").content.decode()
    assert 'data-testid="out-of-date"' in html and "Changed since last sync" in html


def test_it_removes_a_line_on_edit(staff_client, order_factory):
    order = order_factory()
    data = _edit_data(order) | {"lines-1-DELETE": "on"}
    assert staff_client.post(f"/orders/{order.pk}/edit/", data).status_code == 302
    assert Order.objects.get(pk=order.pk).lines.count() == 1


@pytest.mark.parametrize("status", [S.PAID, S.CANCELLED])
def test_it_redirects_the_edit_page_of_read_only_orders(staff_client, order_factory, status):
    order = order_factory(status=status)
    response = staff_client.get(f"/orders/{order.pk}/edit/", follow=True)
    assert response.redirect_chain == [(f"/orders/{order.pk}/", 302)]
    assert _messages(response) == [
        f"Order {order.number} is {order.get_status_display().lower()} and cannot be edited."
    ]


@pytest.mark.parametrize("status", [S.PAID, S.CANCELLED])
def test_it_ignores_a_crafted_post_editing_a_read_only_order(staff_client, order_factory, status):
    order = order_factory(status=status)
    data = _edit_data(order, notes="hacked", terms="net_60") | {"lines-0-quantity": "1", "lines-0-unit_price": "0.01"}
    before = _state()
    response = staff_client.post(f"/orders/{order.pk}/edit/", data, follow=True)
    assert response.redirect_chain == [(f"/orders/{order.pk}/", 302)]
    assert "cannot be edited" in _messages(response)[0]
    assert _state() == before


def test_it_refuses_a_stale_version_keeping_the_typed_data(staff_client, order_factory, admin_user):
    order = order_factory()
    form = staff_client.get(f"/orders/{order.pk}/edit/")
    version = form.context["form"]["version"].value()
    order_update(order_id=order.pk, fields={"notes": "Ada's change"}, lines=None, by=admin_user)
    data = _edit_data(order, notes="Sam's typed notes", version=str(version)) | {"lines-0-quantity": "99"}
    before = _state()
    response = staff_client.post(f"/orders/{order.pk}/edit/", data)
    assert response.status_code == 409
    html = response.content.decode()
    assert re.search(r"This order was changed by Ada Admin at \w{3} \d+, \d{4}, \d+:\d\d [AP]M; reload", html)
    assert "Sam&#x27;s typed notes" in html
    assert 'name="lines-0-quantity" value="99"' in html
    assert _state() == before


def test_it_shows_service_errors_on_the_form(staff_client, order_factory):
    order = order_factory(status=S.POSTED_TO_QB)
    Order.objects.filter(pk=order.pk).update(qbo_doc_id="7", qbo_doc_type="invoice")
    order.refresh_from_db()
    response = staff_client.post(f"/orders/{order.pk}/edit/", _edit_data(order, number="RENAMED"))
    assert response.status_code == 409
    assert "cannot change once the order is in QuickBooks" in response.content.decode()
    assert Order.objects.get(pk=order.pk).number == order.number


def test_it_shows_edit_errors_next_to_the_field(staff_client, order_factory):
    order = order_factory()
    before = _state()
    data = _edit_data(order, buyer=str(order.seller_id), notes="typed") | {"lines-1-quantity": "0"}
    response = staff_client.post(f"/orders/{order.pk}/edit/", data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "different account" in _field_block(html, "buyer")
    assert "greater than zero" in _field_block(html, "lines-1-quantity")
    assert _state() == before


# --- delete -------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [S.DRAFT, S.CANCELLED])
def test_it_deletes_draft_and_cancelled_orders(staff_client, order_factory, status):
    order = order_factory(status=status)
    assert staff_client.get(f"/orders/{order.pk}/delete/").status_code == 200
    response = staff_client.post(f"/orders/{order.pk}/delete/", follow=True)
    assert response.redirect_chain == [("/", 302)]
    assert _messages(response) == [f"Order {order.number} deleted."]
    assert not Order.objects.filter(pk=order.pk).exists()


@pytest.mark.parametrize(
    "status,hint", [(S.POSTED_TO_QB, "Void the invoice first."), (S.PAID, "Paid orders are kept for the books.")]
)
def test_it_refuses_deleting_posted_and_paid_orders(staff_client, order_factory, status, hint):
    order = order_factory(status=status)
    page = staff_client.get(f"/orders/{order.pk}/delete/").content.decode()
    assert "it cannot be deleted" in page and hint in page
    assert "Delete order</button>" not in page and 'method="post"' not in page.split("<main>")[1]  # nothing to click
    before = _state()
    response = staff_client.post(f"/orders/{order.pk}/delete/", follow=True)
    assert response.redirect_chain == [(f"/orders/{order.pk}/", 302)]
    assert hint in _messages(response)[0] and "cannot be deleted" in _messages(response)[0]
    assert _state() == before


def test_it_refuses_get_style_deletes(staff_client, order_factory):
    order = order_factory()
    assert staff_client.put(f"/orders/{order.pk}/delete/").status_code == 405
    assert Order.objects.filter(pk=order.pk).exists()


# --- detail -------------------------------------------------------------------------------


def test_it_shows_subtotal_commission_and_total(staff_client, order_factory):
    order = order_factory()
    html = staff_client.get(f"/orders/{order.pk}/").content.decode()
    assert 'data-testid="subtotal">$472.00<' in html
    assert 'data-testid="total">$472.00<' in html
    assert 'data-testid="commission">$23.60<' in html
    assert "Green Valley Farms" in html and "Harbor Fresh Market" in html and "Net 30" in html
    assert "$325.00" in html and "$147.00" in html
    assert 'data-testid="status-badge">Draft<' in html


@pytest.mark.parametrize(
    "status,edit,delete",
    [(S.DRAFT, True, True), (S.POSTED_TO_QB, True, False), (S.PAID, False, False), (S.CANCELLED, False, True)],
)
def test_it_shows_edit_and_delete_only_when_allowed(staff_client, order_factory, status, edit, delete):
    order = order_factory(status=status)
    html = staff_client.get(f"/orders/{order.pk}/").content.decode()
    assert (f'href="/orders/{order.pk}/edit/"' in html) is edit
    assert (f'href="/orders/{order.pk}/delete/"' in html) is delete


def test_it_shows_the_quickbooks_panel(staff_client, order_factory):
    order = order_factory(status=S.POSTED_TO_QB)
    assert "Not in QuickBooks yet." in staff_client.get(f"/orders/{order.pk}/").content.decode()
    Order.objects.filter(pk=order.pk).update(
        qbo_doc_id="130",
        qbo_doc_number="KD-1",
        qbo_doc_type="invoice",
        qbo_balance=Decimal("100.50"),
        payment_status="partial",
    )
    html = staff_client.get(f"/orders/{order.pk}/").content.decode()
    assert 'data-testid="qbo-doc">Invoice <span class="nowrap">#KD-1</span><' in html
    assert 'data-testid="qbo-balance">$100.50<' in html
    assert 'data-testid="payment-badge">Partially paid<' in html


def test_it_paginates_the_activity_log_newest_first(staff_client, order_factory):
    order = order_factory()  # one "order created" entry
    for n in range(1, 25):
        order_activity_log(order=order, activity_type=OrderActivity.Type.SYNC_QUEUED, description=f"entry {n:02d}.")
    first = staff_client.get(f"/orders/{order.pk}/?tab=activity").content.decode()
    entries = re.findall(r"entry (\d\d)\.", first)
    assert entries == [f"{n:02d}" for n in range(24, 4, -1)]  # 20 a page, newest first
    assert "Page 1 of 2 (25)" in first and 'href="?tab=activity&apage=2"' in first
    second = staff_client.get(f"/orders/{order.pk}/?tab=activity&apage=2").content.decode()
    assert re.findall(r"entry (\d\d)\.", second) == ["04", "03", "02", "01"]
    assert "Order created" in second and "Sam Staff" in second


def test_it_shows_lines_by_default_and_tolerates_a_bad_page(staff_client, order_factory):
    order = order_factory()
    assert 'data-testid="lines"' in staff_client.get(f"/orders/{order.pk}/").content.decode()
    assert staff_client.get(f"/orders/{order.pk}/?tab=activity&apage=zzz").status_code == 200
    assert staff_client.get(f"/orders/{order.pk}/?tab=activity&apage=99").status_code == 200


# --- list ---------------------------------------------------------------------------------


def _numbers(response) -> list[str]:
    return [o.number for o in response.context["page"]]


def test_it_lists_orders_newest_first_by_default(staff_client, seller, buyer, apples):
    for number, days in [("A", 3), ("B", 1), ("C", 2)]:
        make_order(
            seller=seller,
            buyer=buyer,
            lines=[(apples, "1")],
            number=number,
            order_date=date(2026, 11, 1) + timedelta(days=days),
        )
    assert _numbers(staff_client.get("/")) == ["A", "C", "B"]
    assert _numbers(staff_client.get("/?sort=date")) == ["B", "C", "A"]
    assert _numbers(staff_client.get("/?sort=bogus")) == ["A", "C", "B"]
    html = staff_client.get("/").content.decode()
    assert "$32.50" in html


def test_it_filters_by_status_and_payment_status(staff_client, order_factory):
    draft, posted, paid = order_factory(), order_factory(status=S.POSTED_TO_QB), order_factory(status=S.PAID)
    Order.objects.filter(pk=paid.pk).update(payment_status="paid")
    Order.objects.filter(pk=posted.pk).update(payment_status="partial")
    assert _numbers(staff_client.get("/?status=draft")) == [draft.number]
    assert _numbers(staff_client.get("/?status=posted_to_qb")) == [posted.number]
    assert _numbers(staff_client.get("/?payment_status=paid")) == [paid.number]
    assert _numbers(staff_client.get("/?payment_status=unpaid")) == [draft.number]
    assert _numbers(staff_client.get("/?status=paid&payment_status=partial")) == []
    assert len(_numbers(staff_client.get("/?status=nonsense"))) == 3


def test_it_searches_by_number_and_account_name(staff_client, seller, buyer, apples):
    other = make_account("Metro Grocers", "MET")
    make_order(seller=seller, buyer=buyer, lines=[(apples, "1")], number="HARVEST-77")
    make_order(seller=seller, buyer=other, lines=[(apples, "1")], number="X-2")
    assert _numbers(staff_client.get("/?q=harvest")) == ["HARVEST-77"]
    assert _numbers(staff_client.get("/?q=metro")) == ["X-2"]
    assert sorted(_numbers(staff_client.get("/?q=green valley"))) == ["HARVEST-77", "X-2"]
    assert _numbers(staff_client.get("/?q=nothing-like-this")) == []
    assert "No orders match these filters." in staff_client.get("/?q=nothing-like-this").content.decode()


def test_it_paginates_the_list_50_a_page(staff_client, seller, buyer):
    Order.objects.bulk_create(
        [
            Order(number=f"BULK-{n:03d}", seller=seller, buyer=buyer, order_date=date(2026, 1, 1) + timedelta(days=n))
            for n in range(51)
        ]
    )
    first = staff_client.get("/?status=draft")
    assert len(_numbers(first)) == 50 and _numbers(first)[0] == "BULK-050"
    assert "Page 1 of 2 (51)" in first.content.decode()
    assert 'href="?status=draft&page=2"' in first.content.decode()  # filters survive paging
    assert _numbers(staff_client.get("/?status=draft&page=2")) == ["BULK-000"]
    assert _numbers(staff_client.get("/?page=abc"))[0] == "BULK-050"
    assert _numbers(staff_client.get("/?page=999")) == ["BULK-000"]


# --- CSRF and missing ids -----------------------------------------------------------------


def test_it_refuses_posts_without_a_csrf_token(staff_user, order_factory, seller, buyer, apples):
    order = order_factory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    before = _state()
    for url, data in [
        (f"/orders/{order.pk}/edit/", _edit_data(order, notes="csrf")),
        (f"/orders/{order.pk}/delete/", {}),
        ("/orders/new/", _form_data(seller, buyer, [{"product": apples.pk, "quantity": "1"}])),
    ]:
        response = client.post(url, data)
        assert response.status_code == 403
        assert "Your form expired or came from another site." in response.content.decode()
    assert _state() == before


def test_it_accepts_posts_with_the_csrf_token(staff_user, order_factory):
    order = order_factory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    client.get(f"/orders/{order.pk}/edit/")
    data = _edit_data(order, notes="with token") | {"csrfmiddlewaretoken": client.cookies["csrftoken"].value}
    assert client.post(f"/orders/{order.pk}/edit/", data).status_code == 302
    assert Order.objects.get(pk=order.pk).notes == "with token"


@pytest.mark.parametrize("order_id", ["999999", "0", "99999999999999999999999"])
@pytest.mark.parametrize(
    "suffix,method", [("", "get"), ("edit/", "get"), ("edit/", "post"), ("delete/", "get"), ("delete/", "post")]
)
def test_it_answers_404_for_missing_orders(staff_client, order_id, suffix, method):
    response = getattr(staff_client, method)(f"/orders/{order_id}/{suffix}")
    assert response.status_code == 404
    assert "Not found." in response.content.decode()
    assert "Traceback" not in response.content.decode()


def test_it_answers_404_for_unknown_urls(staff_client):
    assert staff_client.get("/orders/abc/").status_code == 404
    assert staff_client.get("/no-such-page/").status_code == 404


# --- the order date's range: one rule for the form, the API and the admin -----------------------------------


def _admin_add_form(seller, buyer, order_date: str) -> dict:
    return {
        "number": "KD-ADMIN-1",
        "seller": seller.pk,
        "buyer": buyer.pk,
        "order_date": order_date,
        "terms": "net_30",
        "commission_rate": "5",
        "notes": "",
        "lines-TOTAL_FORMS": "0",
        "lines-INITIAL_FORMS": "0",
        "activities-TOTAL_FORMS": "0",
        "activities-INITIAL_FORMS": "0",
    }


@pytest.mark.parametrize("order_date", ["9999-12-31", "1999-12-31"])
def test_the_admin_refuses_an_order_date_out_of_range(admin_client, seller, buyer, order_date):
    response = admin_client.post("/admin/orders/order/add/", _admin_add_form(seller, buyer, order_date))

    assert response.status_code == 200
    assert "The order date must be between Jan 1, 2000 and" in response.content.decode()
    assert not Order.objects.filter(number="KD-ADMIN-1").exists()


def test_the_admin_accepts_an_order_date_in_range(admin_client, seller, buyer):
    response = admin_client.post("/admin/orders/order/add/", _admin_add_form(seller, buyer, "2026-11-02"))
    assert response.status_code == 302
    assert Order.objects.get(number="KD-ADMIN-1").order_date.isoformat() == "2026-11-02"


def test_the_latest_order_date_is_five_years_ahead(staff_client, order_factory):
    order = order_factory()
    latest = latest_order_date()
    assert latest.year == timezone.localdate().year + 5
    ok = staff_client.patch(
        f"/api/orders/{order.pk}",
        {"order_date": latest.isoformat(), "version": order.version},
        content_type="application/json",
    )
    assert ok.status_code == 200, ok.content
    too_late = staff_client.patch(
        f"/api/orders/{order.pk}",
        {"order_date": (latest + timedelta(days=1)).isoformat(), "version": order.version + 1},
        content_type="application/json",
    )
    assert too_late.status_code == 400 and "must be between" in too_late.json()["error"]


# --- the promised 200 lines -------------------------------------------------------------------------------


def _many_lines(product, count: int) -> list[dict]:
    # Every field typed, as a browser sends it (the remove box unticked is simply absent).
    return [
        {"product": product.pk, "quantity": str(n + 1), "unit_price": f"{n}.25", "size": f"S{n}", "grade": f"G{n}"}
        for n in range(count)
    ]


def test_it_saves_an_order_with_the_promised_200_lines(staff_client, seller, buyer, apples):
    response = staff_client.post("/orders/new/", _form_data(seller, buyer, _many_lines(apples, 200), notes="big"))

    assert response.status_code == 302, response.content[:500]
    order = Order.objects.get(notes="big")
    lines = list(order.lines.all())
    assert len(lines) == 200
    assert (lines[-1].quantity, lines[-1].unit_price, lines[-1].size) == (Decimal("200"), Decimal("199.25"), "S199")


def test_it_saves_an_edit_of_an_order_with_200_lines(staff_client, seller, buyer, apples):
    staff_client.post("/orders/new/", _form_data(seller, buyer, _many_lines(apples, 200), notes="big"))
    order = Order.objects.get(notes="big")

    response = staff_client.post(f"/orders/{order.pk}/edit/", _edit_data(order, notes="bigger"))

    assert response.status_code == 302, response.content[:500]
    order.refresh_from_db()
    assert order.notes == "bigger" and order.lines.count() == 200


@pytest.mark.parametrize("count", [201, 250])
def test_it_refuses_more_than_200_lines_and_keeps_every_typed_line(staff_client, seller, buyer, apples, count):
    before = _state()

    response = staff_client.post("/orders/new/", _form_data(seller, buyer, _many_lines(apples, count), notes="kept"))

    assert response.status_code == 400
    html = response.content.decode()
    assert "An order can have at most 200 lines" in html
    assert _state() == before
    for n in (0, 199, count - 1):  # the first, the 200th and the last line come back as typed
        assert re.search(rf'name="lines-{n}-quantity"[^>]*value="{n + 1}"', html), n
        assert f'value="S{n}"' in html and f'value="G{n}"' in html
    assert "kept</textarea>" in html


def test_an_edit_without_the_version_is_refused_with_everything_typed_kept(staff_client, order_factory):
    """The hidden version is what tells a stale form from a fresh one: without it, nothing is saved."""
    order = order_factory()
    before = _state()
    data = _edit_data(order, notes="Typed without a version") | {"lines-0-quantity": "77"}
    del data["version"]

    response = staff_client.post(f"/orders/{order.pk}/edit/", data)

    assert response.status_code == 400
    html = response.content.decode()
    assert "The form&#x27;s version is missing; reload the order and edit again" in html
    assert "Typed without a version</textarea>" in html and re.search(r'name="lines-0-quantity"[^>]*value="77"', html)
    assert _state() == before
