"""The status table and the order rules, through orders.services (no HTTP)."""

from datetime import date
from decimal import Decimal

import pytest

from conftest import make_account, make_order, make_product
from orders.models import DOC_NUMBER_MAX_LENGTH, Order, OrderActivity, OrderLine
from orders.services import (
    LineInput,
    OrderConflict,
    OrderError,
    order_create,
    order_delete,
    order_set_status,
    order_update,
)

pytestmark = pytest.mark.django_db

S = Order.Status


def _header(seller, buyer, **extra):
    return {
        "seller": seller,
        "buyer": buyer,
        "order_date": date(2026, 11, 2),
        "terms": Order.Terms.NET_30,
        "commission_rate": Decimal("5.00"),
        "notes": "",
    } | extra


def _snapshot(order_id):
    order = Order.objects.get(pk=order_id)
    lines = list(OrderLine.objects.filter(order_id=order_id).values_list("product_id", "quantity", "unit_price"))
    return (order.notes, order.terms, order.version, order.status, lines, order.activities.count())


# --- edit permissions ---------------------------------------------------------------------


@pytest.mark.parametrize("status", [S.DRAFT, S.POSTED_TO_QB])
def test_it_allows_editing_draft_and_posted_orders(order_factory, staff_user, status):
    order = order_factory(status=status)
    updated = order_update(order_id=order.pk, fields={"notes": "Deliver before noon"}, lines=None, by=staff_user)
    assert Order.objects.get(pk=order.pk).notes == "Deliver before noon"
    assert updated.version == order.version + 1


@pytest.mark.parametrize("status", [S.PAID, S.CANCELLED])
def test_it_refuses_editing_paid_and_cancelled_orders(order_factory, staff_user, apples, status):
    order = order_factory(status=status)
    before = _snapshot(order.pk)
    with pytest.raises(OrderError, match="read-only"):
        order_update(
            order_id=order.pk,
            fields={"notes": "sneaky"},
            lines=[LineInput(product=apples, quantity=Decimal("1"))],
            by=staff_user,
        )
    assert _snapshot(order.pk) == before


def test_it_tells_paid_orders_to_change_in_quickbooks(order_factory, staff_user):
    order = order_factory(status=S.PAID)
    with pytest.raises(OrderError, match="QuickBooks"):
        order_update(order_id=order.pk, fields={"notes": "x"}, lines=None, by=staff_user)


# --- delete permissions -------------------------------------------------------------------


@pytest.mark.parametrize("status", [S.DRAFT, S.CANCELLED])
def test_it_deletes_draft_and_cancelled_orders(order_factory, staff_user, status):
    order = order_factory(status=status)
    assert order_delete(order_id=order.pk, by=staff_user) == order.number
    assert not Order.objects.filter(pk=order.pk).exists()
    assert not OrderLine.objects.filter(order_id=order.pk).exists()


@pytest.mark.parametrize("status", [S.POSTED_TO_QB, S.PAID])
def test_it_refuses_deleting_posted_and_paid_orders(order_factory, staff_user, status):
    order = order_factory(status=status)
    before = _snapshot(order.pk)
    with pytest.raises(OrderError, match="cannot be deleted"):
        order_delete(order_id=order.pk, by=staff_user)
    assert _snapshot(order.pk) == before


def test_it_says_to_void_a_posted_order_before_deleting(order_factory, staff_user):
    order = order_factory(status=S.POSTED_TO_QB)
    with pytest.raises(OrderError, match="Void the invoice first"):
        order_delete(order_id=order.pk, by=staff_user)


@pytest.mark.parametrize(
    "status,editable,deletable",
    [(S.DRAFT, True, True), (S.POSTED_TO_QB, True, False), (S.PAID, False, False), (S.CANCELLED, False, True)],
)
def test_it_matches_the_spec_status_table(order_factory, status, editable, deletable):
    order = order_factory(status=status)
    assert (order.is_editable, order.is_deletable) == (editable, deletable)


# --- changed since last push --------------------------------------------------------------


def test_it_marks_a_posted_order_changed_after_an_edit(order_factory, staff_user):
    order = order_factory(status=S.POSTED_TO_QB)
    assert order.changed_since_push is False  # just posted: QuickBooks matches
    order = order_update(order_id=order.pk, fields={"notes": "Changed after push"}, lines=None, by=staff_user)
    assert Order.objects.get(pk=order.pk).changed_since_push is True
    activity = order.activities.filter(activity_type=OrderActivity.Type.ORDER_EDITED).get()
    assert "QuickBooks is now out of date" in activity.description


def test_it_keeps_a_posted_order_in_sync_when_nothing_changed(order_factory, staff_user, apples, pears):
    order = order_factory(status=S.POSTED_TO_QB)
    same_lines = [LineInput(product=apples, quantity=Decimal("10")), LineInput(product=pears, quantity=Decimal("4"))]
    order_update(order_id=order.pk, fields={"notes": ""}, lines=same_lines, by=staff_user)
    assert Order.objects.get(pk=order.pk).changed_since_push is False


def test_it_never_marks_drafts_changed_since_push(order_factory, staff_user):
    order = order_factory()
    order_update(order_id=order.pk, fields={"notes": "draft edit"}, lines=None, by=staff_user)
    assert Order.objects.get(pk=order.pk).changed_since_push is False


# --- edit conflicts -----------------------------------------------------------------------


def test_it_refuses_a_stale_version_naming_who_and_when(order_factory, staff_user, admin_user):
    order = order_factory()
    loaded_version = order.version
    order_update(
        order_id=order.pk, fields={"notes": "Ada was here"}, lines=None, by=admin_user, expected_version=loaded_version
    )
    with pytest.raises(OrderConflict) as info:
        order_update(
            order_id=order.pk,
            fields={"notes": "Sam's notes"},
            lines=None,
            by=staff_user,
            expected_version=loaded_version,
        )
    message = str(info.value)
    assert "changed by Ada Admin at" in message and "reload" in message
    assert str(date.today().year) in message
    assert Order.objects.get(pk=order.pk).notes == "Ada was here"


def test_it_accepts_the_current_version(order_factory, staff_user):
    order = order_factory()
    updated = order_update(
        order_id=order.pk, fields={"notes": "ok"}, lines=None, by=staff_user, expected_version=order.version
    )
    assert updated.version == order.version + 1


def test_it_bumps_the_version_on_status_changes(order_factory, staff_user):
    order = order_factory()
    version = order.version
    order_set_status(order=order, status=S.POSTED_TO_QB, by=staff_user)
    with pytest.raises(OrderConflict):
        order_update(order_id=order.pk, fields={"notes": "x"}, lines=None, by=staff_user, expected_version=version)


# --- money --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "quantity,price,amount",
    [
        ("0.335", "3.00", "1.01"),  # 1.005 rounds half-up, not half-even (1.00)
        ("3", "0.33", "0.99"),
        ("0.005", "1.00", "0.01"),  # 0.005 → 0.01
        ("0.004", "1.00", "0.00"),
        ("0.5", "0.01", "0.01"),  # 0.005 → 0.01
        ("2.5", "0.01", "0.03"),  # 0.025 → 0.03 (half-even would give 0.02)
        ("0.001", "4.99", "0.00"),
        ("1.125", "1.00", "1.13"),
        ("10", "32.50", "325.00"),
    ],
)
def test_it_rounds_line_amounts_half_up_to_cents(seller, buyer, staff_user, quantity, price, amount):
    product = make_product("Widget", "1.00")
    order = order_create(
        fields=_header(seller, buyer),
        lines=[LineInput(product=product, quantity=Decimal(quantity), unit_price=Decimal(price))],
        by=staff_user,
    )
    line = Order.objects.get(pk=order.pk).lines.get()
    assert line.amount == Decimal(amount)
    assert line.quantity * line.unit_price == Decimal(quantity) * Decimal(price)  # nothing rounded on the way in


def test_it_rounds_the_models_own_amount_half_up(order_factory):
    line = Order.objects.get(pk=order_factory().pk).lines.first()
    line.quantity, line.unit_price = Decimal("0.335"), Decimal("3.00")
    line.save()  # the admin inline saves through OrderLine.save()
    line.refresh_from_db()
    assert line.amount == Decimal("1.01")


@pytest.mark.parametrize("quantity,price", [("3", "0.335"), ("1.0001", "1.00")])
def test_it_refuses_more_decimals_than_are_stored(seller, buyer, staff_user, quantity, price):
    # 3 × 0.335 would be stored as 3 × 0.34 and no longer match its amount of 1.01.
    product = make_product("Widget", "1.00")
    with pytest.raises(OrderError, match="decimal"):
        order_create(
            fields=_header(seller, buyer),
            lines=[LineInput(product=product, quantity=Decimal(quantity), unit_price=Decimal(price))],
            by=staff_user,
        )
    assert not Order.objects.exists()


def test_it_stores_half_cent_amounts_rounded_half_up(seller, buyer, staff_user):
    product = make_product("Cheap Thing", "0.01")
    order = order_create(
        fields=_header(seller, buyer),
        lines=[
            LineInput(product=product, quantity=Decimal("0.5")),
            LineInput(product=product, quantity=Decimal("1.5")),
        ],
        by=staff_user,
    )
    amounts = [line.amount for line in Order.objects.get(pk=order.pk).lines.all()]
    assert amounts == [Decimal("0.01"), Decimal("0.02")]


def test_it_derives_totals_and_commission_from_lines(order_factory):
    order = Order.objects.get(pk=order_factory().pk)
    assert [line.amount for line in order.lines.all()] == [Decimal("325.00"), Decimal("147.00")]
    assert order.subtotal == Decimal("472.00")
    assert order.total == Decimal("472.00")
    assert order.commission_amount == Decimal("23.60")


def test_it_rounds_the_commission_half_up(seller, buyer, staff_user):
    product = make_product("Odd Lot", "10.10")
    order = order_create(
        fields=_header(seller, buyer, commission_rate=Decimal("2.50")),
        lines=[LineInput(product=product, quantity=Decimal("1"))],
        by=staff_user,
    )
    assert order.commission_amount == Decimal("0.25")  # 0.2525 → 0.25
    order = order_update(order_id=order.pk, fields={"commission_rate": Decimal("7.50")}, lines=None, by=staff_user)
    assert order.commission_amount == Decimal("0.76")  # 0.7575 → 0.76


def test_it_recomputes_totals_when_lines_change(order_factory, staff_user, apples):
    order = order_factory()
    order_update(order_id=order.pk, fields={}, lines=[LineInput(product=apples, quantity=Decimal("2"))], by=staff_user)
    order = Order.objects.get(pk=order.pk)
    assert (order.lines.count(), order.total, order.commission_amount) == (1, Decimal("65.00"), Decimal("3.25"))


def test_it_defaults_the_unit_price_from_the_product(seller, buyer, apples, staff_user):
    order = order_create(
        fields=_header(seller, buyer), lines=[LineInput(product=apples, quantity=Decimal("2"))], by=staff_user
    )
    assert order.lines.get().unit_price == Decimal("32.50")


def test_it_keeps_a_typed_unit_price(seller, buyer, apples, staff_user):
    order = order_create(
        fields=_header(seller, buyer),
        lines=[LineInput(product=apples, quantity=Decimal("2"), unit_price=Decimal("30.00"))],
        by=staff_user,
    )
    assert order.lines.get().amount == Decimal("60.00")


# --- order numbers ------------------------------------------------------------------------


def test_it_generates_short_unique_order_numbers(seller, buyer, apples, staff_user):
    orders = [make_order(seller=seller, buyer=buyer, lines=[(apples, "1")], by=staff_user) for _ in range(3)]
    numbers = [o.number for o in orders]
    assert len(set(numbers)) == 3
    for order in orders:
        assert len(order.number) <= DOC_NUMBER_MAX_LENGTH
        assert order.number == f"KD-{date.today().year}-{order.pk:05d}"


def test_it_keeps_a_custom_number(seller, buyer, apples, staff_user):
    order = make_order(seller=seller, buyer=buyer, lines=[(apples, "1")], by=staff_user, number="HARVEST-2026-0001")
    assert Order.objects.get(pk=order.pk).number == "HARVEST-2026-0001"


def test_it_refuses_a_number_longer_than_21_characters(seller, buyer, apples, staff_user):
    with pytest.raises(OrderError, match="at most 21"):
        make_order(seller=seller, buyer=buyer, lines=[(apples, "1")], by=staff_user, number="X" * 22)
    assert not Order.objects.exists()


def test_it_accepts_a_number_of_exactly_21_characters(seller, buyer, apples, staff_user):
    order = make_order(seller=seller, buyer=buyer, lines=[(apples, "1")], by=staff_user, number="X" * 21)
    assert Order.objects.get(pk=order.pk).number == "X" * 21


def test_it_refuses_a_duplicate_number(seller, buyer, apples, staff_user):
    make_order(seller=seller, buyer=buyer, lines=[(apples, "1")], by=staff_user, number="DUP-1")
    with pytest.raises(OrderError, match="already used"):
        make_order(seller=seller, buyer=buyer, lines=[(apples, "1")], by=staff_user, number="DUP-1")
    assert Order.objects.count() == 1


def test_it_refuses_renaming_to_a_used_number(order_factory, staff_user):
    first, second = order_factory(), order_factory()
    with pytest.raises(OrderError, match="already used"):
        order_update(order_id=second.pk, fields={"number": first.number}, lines=None, by=staff_user)


def test_it_generates_a_number_even_when_a_custom_one_took_it(seller, buyer, apples, staff_user):
    # Someone typed the number the next order would be given (KD-<year>-<next pk>).
    squatter = make_order(seller=seller, buyer=buyer, lines=[(apples, "1")], by=staff_user, number="TEMP")
    taken = f"KD-{date.today().year}-{squatter.pk + 1:05d}"
    order_update(order_id=squatter.pk, fields={"number": taken}, lines=None, by=staff_user)
    order = make_order(seller=seller, buyer=buyer, lines=[(apples, "1")], by=staff_user)
    assert order.number != taken
    assert order.number.startswith(taken)
    assert len(order.number) <= DOC_NUMBER_MAX_LENGTH
    assert Order.objects.filter(number=order.number).count() == 1


def test_it_refuses_changing_the_number_once_in_quickbooks(order_factory, staff_user):
    order = order_factory(status=S.POSTED_TO_QB)
    Order.objects.filter(pk=order.pk).update(qbo_doc_id="42", qbo_doc_type="invoice")
    with pytest.raises(OrderError, match="DocNumber"):
        order_update(order_id=order.pk, fields={"number": "NEW-1"}, lines=None, by=staff_user)


# --- header and line validation -----------------------------------------------------------


def test_it_refuses_the_same_account_as_seller_and_buyer(seller, apples, staff_user):
    with pytest.raises(OrderError, match="different accounts"):
        make_order(seller=seller, buyer=seller, lines=[(apples, "1")], by=staff_user)
    assert not Order.objects.exists()


def test_it_refuses_making_the_buyer_the_seller_on_edit(order_factory, seller, staff_user):
    order = order_factory()
    with pytest.raises(OrderError, match="different accounts"):
        order_update(order_id=order.pk, fields={"buyer": seller}, lines=None, by=staff_user)
    assert Order.objects.get(pk=order.pk).buyer_id != seller.pk


@pytest.mark.parametrize("terms", ["net_45", "", None, "Net 30"])
def test_it_refuses_unknown_terms(seller, buyer, apples, staff_user, terms):
    with pytest.raises(OrderError, match="Unknown terms"):
        make_order(seller=seller, buyer=buyer, lines=[(apples, "1")], by=staff_user, terms=terms)
    assert not Order.objects.exists()


@pytest.mark.parametrize("quantity", ["0", "-1", "-0.001"])
def test_it_refuses_quantities_of_zero_or_less(seller, buyer, apples, staff_user, quantity):
    with pytest.raises(OrderError, match="greater than zero"):
        make_order(seller=seller, buyer=buyer, lines=[(apples, quantity)], by=staff_user)
    assert not Order.objects.exists()


def test_it_refuses_negative_prices(seller, buyer, apples, staff_user):
    with pytest.raises(OrderError, match="cannot be negative"):
        order_create(
            fields=_header(seller, buyer),
            lines=[LineInput(product=apples, quantity=Decimal("1"), unit_price=Decimal("-0.01"))],
            by=staff_user,
        )
    assert not Order.objects.exists()


def test_it_refuses_a_line_without_product(seller, buyer, staff_user):
    with pytest.raises(OrderError, match="no product"):
        order_create(
            fields=_header(seller, buyer), lines=[LineInput(product=None, quantity=Decimal("1"))], by=staff_user
        )
    assert not Order.objects.exists()


@pytest.mark.parametrize("rate", ["-1", "100.01"])
def test_it_refuses_commission_rates_outside_0_to_100(seller, buyer, apples, staff_user, rate):
    with pytest.raises(OrderError, match="commission rate"):
        make_order(seller=seller, buyer=buyer, lines=[(apples, "1")], by=staff_user, commission_rate=Decimal(rate))


def test_it_refuses_unknown_statuses(order_factory):
    order = order_factory()
    with pytest.raises(OrderError, match="Unknown status"):
        order_set_status(order=order, status="shipped")
    assert Order.objects.get(pk=order.pk).status == S.DRAFT


# --- activity log -------------------------------------------------------------------------


def test_it_logs_creation_with_user_and_ip(seller, buyer, apples, staff_user):
    order = order_create(
        fields=_header(seller, buyer),
        lines=[LineInput(product=apples, quantity=Decimal("2"))],
        by=staff_user,
        ip="203.0.113.7",
    )
    activity = order.activities.get()
    assert activity.activity_type == OrderActivity.Type.ORDER_CREATED
    assert (activity.user, activity.user_name, activity.ip_address) == (staff_user, "Sam Staff", "203.0.113.7")
    assert order.number in activity.description and "$65.00" in activity.description
    assert activity.details == {"lines": ["Gala Apples × 2 @ 32.50"]}


def test_it_logs_what_an_edit_changed(order_factory, staff_user, apples, pears, seller):
    order = order_factory()
    other = make_account("Metro Grocers", "MET")
    order_update(
        order_id=order.pk,
        fields={"notes": "Call first", "terms": Order.Terms.NET_60, "buyer": other},
        lines=[LineInput(product=apples, quantity=Decimal("12")), LineInput(product=pears, quantity=Decimal("4"))],
        by=staff_user,
        ip="198.51.100.4",
    )
    activity = order.activities.get(activity_type=OrderActivity.Type.ORDER_EDITED)
    assert (activity.user, activity.ip_address) == (staff_user, "198.51.100.4")
    changes = activity.details["changes"]
    assert changes["notes"] == ["—", "Call first"]
    assert changes["terms"] == ["net_30", "net_60"]
    assert changes["buyer"] == ["Harbor Fresh Market", "Metro Grocers"]
    assert changes["lines"][0][0] == "Gala Apples × 10 @ 32.50"
    assert changes["lines"][1][0] == "Gala Apples × 12 @ 32.50"
    assert "seller" not in changes
    assert "notes: — → Call first" in activity.description
    assert "terms: Net 30 → Net 60" in activity.description  # people's words, not the stored codes
    assert "total now $537.00" in activity.description


def test_an_edit_shows_rates_and_dates_the_way_people_write_them(order_factory, staff_user):
    order = order_factory(commission_rate=Decimal("4.50"))
    order_update(
        order_id=order.pk,
        fields={"commission_rate": Decimal("5"), "order_date": date(2026, 12, 6)},
        lines=None,
        by=staff_user,
    )
    description = order.activities.get(activity_type=OrderActivity.Type.ORDER_EDITED).description
    assert "commission rate: 4.5% → 5%" in description
    assert "order date: Nov 2, 2026 → Dec 6, 2026" in description


def test_it_logs_status_changes(order_factory, staff_user):
    order = order_factory()
    order_set_status(order=order, status=S.POSTED_TO_QB, by=staff_user, ip="192.0.2.1", reason="pushed")
    activity = order.activities.get(activity_type=OrderActivity.Type.STATUS_CHANGED)
    assert (activity.user, activity.user_name, activity.ip_address) == (staff_user, "Sam Staff", "192.0.2.1")
    assert activity.details == {"from": "draft", "to": "posted_to_qb"}
    assert activity.description == "Status changed from Draft to Posted to QuickBooks: pushed"


def test_it_logs_nothing_when_the_status_does_not_change(order_factory):
    order = order_factory()
    order_set_status(order=order, status=S.DRAFT)
    assert not order.activities.filter(activity_type=OrderActivity.Type.STATUS_CHANGED).exists()


def test_it_logs_nothing_when_a_rule_refuses(order_factory, staff_user):
    order = order_factory(status=S.PAID)
    count = order.activities.count()
    with pytest.raises(OrderError):
        order_update(order_id=order.pk, fields={"notes": "x"}, lines=None, by=staff_user, ip="192.0.2.1")
    assert order.activities.count() == count


def test_it_names_quickbooks_when_a_sync_changed_the_order_meanwhile(order_factory, staff_user):
    from orders.services import OrderConflict, order_set_status, order_update

    order = order_factory(status=Order.Status.DRAFT)
    loaded_version = order.version
    order_set_status(order=order, status=Order.Status.POSTED_TO_QB, user_name="QuickBooks Webhook")

    with pytest.raises(OrderConflict) as conflict:
        order_update(
            order_id=order.pk, fields={"notes": "mine"}, lines=None, by=staff_user, expected_version=loaded_version
        )

    assert "changed by QuickBooks sync" in str(conflict.value)


def test_it_changes_nothing_when_a_save_changes_nothing(order_factory, staff_user):
    from orders.services import LineInput, order_update

    order = order_factory()
    same_lines = [
        LineInput(product=ln.product, quantity=ln.quantity, unit_price=ln.unit_price) for ln in order.lines.all()
    ]

    saved = order_update(
        order_id=order.pk,
        fields={"notes": order.notes},
        lines=same_lines,
        by=staff_user,
        expected_version=order.version,
    )

    assert saved.version == order.version
    assert list(order.activities.values_list("activity_type", flat=True)) == ["order_created"]
