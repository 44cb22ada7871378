"""Writes to orders. Every change goes through here so the status table and the activity log hold."""

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Account
from kadouri.display import money, plain, when
from kadouri.text import validate_multi_line, validate_single_line
from products.models import Product
from qbo_integration.adapt.classes import known_class_name  # the cached class list; never asks QuickBooks
from qbo_integration.adapt.currency import exchange_rate_problem, unit_price_problem
from qbo_integration.models import QboSyncJob  # models only: no import cycle (the outbound services import this module)

from .models import CENT, DOC_NUMBER_MAX_LENGTH, Order, OrderActivity, OrderLine, to_cents, validate_order_date

MAX_LINE_AMOUNT = Decimal("1000000000000")  # OrderLine.amount: max_digits=14, decimal_places=2
HEADER_FIELDS = (
    "number",
    "seller",
    "buyer",
    "order_date",
    "terms",
    "notes",
    "commission_rate",
    "ready_to_push",
    "exchange_rate",
    "qbo_class_id",
)

CHANGE_LABELS = {"qbo_class_id": "QuickBooks class"}  # the activity log's name for a header field, else its own


class OrderError(Exception):
    """A business rule refused the change; nothing was changed."""


class OrderConflict(OrderError):
    """Someone else saved the order after the form was loaded."""


@dataclass(frozen=True)
class LineInput:
    product: Product
    quantity: Decimal
    unit_price: Decimal | None = None
    size: str = ""
    grade: str = ""


def user_display_name(user) -> str:
    if user is None:
        return "System"
    return user.get_full_name() or user.get_username()


def order_activity_log(
    *,
    order: Order,
    activity_type: str,
    description: str,
    user=None,
    user_name: str | None = None,
    ip: str | None = None,
    details: dict | None = None,
) -> OrderActivity:
    return OrderActivity.objects.create(
        order=order,
        user=user if user is not None and user.is_authenticated else None,
        user_name=user_name or user_display_name(user),
        activity_type=activity_type,
        description=description,
        ip_address=ip or None,
        details=details or {},
    )


def _check_text(what: str, value: str, validator) -> None:
    try:
        validator(value)
    except ValidationError as e:
        raise OrderError(f"{what}: {' '.join(e.messages)}") from None


def _check_header(fields: dict, *, check_rate: bool = True) -> None:
    seller, buyer = fields.get("seller"), fields.get("buyer")
    if seller is None or buyer is None:
        raise OrderError("An order needs a seller and a buyer.")
    if seller.pk == buyer.pk:
        raise OrderError("The seller and the buyer must be different accounts.")
    if fields.get("terms") not in Order.Terms.values:
        raise OrderError(f"Unknown terms {fields.get('terms')!r}; choose one of: {', '.join(Order.Terms.labels)}.")
    number = fields.get("number") or ""
    if len(number) > DOC_NUMBER_MAX_LENGTH:
        raise OrderError(f"The order number can have at most {DOC_NUMBER_MAX_LENGTH} characters (QuickBooks' limit).")
    _check_text("Order number", number, validate_single_line)  # it becomes the QuickBooks DocNumber
    _check_text("Notes", fields.get("notes") or "", validate_multi_line)
    rate = fields.get("commission_rate", Decimal("0"))
    if rate is None or not (Decimal("0") <= rate <= Decimal("100")):
        raise OrderError("The commission rate must be between 0 and 100 percent.")
    problem = exchange_rate_problem(fields.get("exchange_rate"), buyer) if check_rate else ""
    if problem:
        raise OrderError(problem)
    if not isinstance(fields.get("order_date"), date):
        raise OrderError("An order needs an order date.")
    try:
        validate_order_date(fields["order_date"])
    except ValidationError as e:
        raise OrderError(" ".join(e.messages)) from None


def _check_lines(lines: list[LineInput], buyer: Account) -> None:
    # Product prices are in the home currency (kadouri/display.py): a foreign-currency order can't take them
    foreign = unit_price_problem(buyer)
    for index, line in enumerate(lines, start=1):
        if line.product is None:
            raise OrderError(f"Line {index} has no product.")
        if foreign and line.unit_price is None:
            raise OrderError(f"Line {index} ({line.product.name}) has no unit price. {foreign}")
        _check_text(f"Line {index} size", line.size or "", validate_single_line)
        _check_text(f"Line {index} grade", line.grade or "", validate_single_line)
        if line.quantity is None or line.quantity <= 0:
            raise OrderError(f"Line {index}: the quantity must be greater than zero.")
        if line.unit_price is not None and line.unit_price < 0:
            raise OrderError(f"Line {index}: the unit price cannot be negative.")
        # The columns keep 3 and 2 decimals; more would be rounded by the database after the amount was computed.
        if line.quantity.as_tuple().exponent < -3:
            raise OrderError(f"Line {index}: the quantity can have at most 3 decimals.")
        if line.unit_price is not None and line.unit_price.as_tuple().exponent < -2:
            raise OrderError(f"Line {index}: the unit price can have at most 2 decimals (cents).")
        if line.quantity * _unit_price(line) >= MAX_LINE_AMOUNT:  # the amount column holds 12 digits before the point
            raise OrderError(f"Line {index}: the amount is too large (at most {MAX_LINE_AMOUNT - CENT:,.2f}).")


def _unit_price(line: LineInput) -> Decimal:
    return line.product.unit_price if line.unit_price is None else line.unit_price


def lines_total(priced) -> Decimal:
    """The order total of (quantity, unit price) pairs, each line rounded to cents as it is stored."""
    return to_cents(sum((to_cents(quantity * price) for quantity, price in priced), Decimal("0")))


def _lines_total(lines: list[LineInput]) -> Decimal:
    return lines_total((line.quantity, _unit_price(line)) for line in lines)


def order_refuse_total_below_paid(order: Order, total: Decimal) -> None:
    """Every way of editing lines asks this. QuickBooks refuses an invoice total below the payments applied to
    it; saying so at the edit keeps the fix where it belongs (the order's lines), not in a failed Update later."""
    paid = order.amount_paid
    # The payments paid QuickBooks' tax too: the lines plus the tax QuickBooks last computed (never Kadouri's own)
    tax = order.qbo_tax_total or Decimal("0")
    if paid > 0 and total + tax < paid:
        lines = f"these lines total {money(total, order)}" + (
            f" plus {money(tax, order)} tax in QuickBooks" if tax else ""
        )
        number = order.qbo_doc_number or order.number
        raise OrderError(
            f"{money(paid, order)} has already been paid on invoice #{number} in QuickBooks, "
            f"so the order total cannot go below that ({lines}). Keep the total at "
            f"{money(paid - tax, order)} or more; a lower total needs the payment changed in QuickBooks first."
        )


def _number_from_pk(pk: int) -> str:
    # The primary key makes the number race-free; the year keeps it readable (KD-2026-00042).
    return f"{settings.ORDER_NUMBER_PREFIX}-{timezone.localdate().year}-{pk:05d}"


def _unused_number(number: str) -> str:
    # A custom number typed earlier may already be KD-2026-00042; add a suffix rather than fail.
    candidate, suffix = number, 1
    while Order.objects.filter(number=candidate).exists():
        suffix += 1
        candidate = f"{number}-{suffix}"
    return candidate


def _write_lines(order: Order, lines: list[LineInput]) -> None:
    order.lines.all().delete()
    OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=order,
                product=line.product,
                quantity=line.quantity,
                unit_price=_unit_price(line),
                size=line.size,
                grade=line.grade,
                position=position,
                amount=to_cents(line.quantity * _unit_price(line)),
            )
            for position, line in enumerate(lines)
        ]
    )


def _line_summary(order: Order) -> list[str]:
    return [
        f"{line.product.name} × {line.quantity.normalize():f} @ {line.unit_price}"
        + (f" ({line.size}, {line.grade})" if line.size or line.grade else "")
        for line in order.lines.select_related("product")
    ]


def _refresh_fingerprint(order: Order) -> None:
    order.content_fingerprint = order.compute_fingerprint()
    if order.status == Order.Status.DRAFT:
        order.pushed_fingerprint = ""
    order.save(update_fields=["content_fingerprint", "pushed_fingerprint"])


@transaction.atomic
def order_create(*, fields: dict, lines: list[LineInput], by, ip: str | None = None) -> Order:
    _check_header(fields)
    _check_lines(lines, fields["buyer"])
    values = {k: v for k, v in fields.items() if k in HEADER_FIELDS}
    generate_number = not values.get("number")
    if generate_number:
        values["number"] = uuid.uuid4().hex[:DOC_NUMBER_MAX_LENGTH]
    elif Order.objects.filter(number=values["number"]).exists():
        raise OrderError(f"Order number {values['number']} is already used.")
    try:
        with transaction.atomic():
            order = Order.objects.create(**values, created_by=by, updated_by=by)
    except IntegrityError as e:
        raise OrderError(
            "This order could not be saved: the number is already used or the data is inconsistent."
        ) from e
    if generate_number:
        order.number = _unused_number(_number_from_pk(order.pk))
        order.save(update_fields=["number"])
    _write_lines(order, lines)
    _refresh_fingerprint(order)
    order_activity_log(
        order=order,
        activity_type=OrderActivity.Type.ORDER_CREATED,
        description=f"Order {order.number} created by {user_display_name(by)} with {len(lines)} "
        f"line{'' if len(lines) == 1 else 's'}, total {money(order.total, order)}.",
        user=by,
        ip=ip,
        details={"lines": _line_summary(order)},
    )
    return order


def _describe(value) -> str:
    if isinstance(value, Account):
        return value.name
    if value in ("", None):
        return "—"
    return str(value)


def _shown(name: str, value) -> str:
    """A header value the way the activity log shows it to people (details keep _describe's plain form)."""
    if value in ("", None):
        return "—"
    if name == "commission_rate":
        return f"{plain(value)}%"
    if name == "terms" and value in Order.Terms.values:
        return Order.Terms(value).label
    if name == "order_date":
        return when(value)
    if name == "ready_to_push":
        return "yes" if value else "no"
    if name == "exchange_rate":
        return plain(value)
    if name == "qbo_class_id":
        return f"“{known_class_name(value)}”"
    return _describe(value)


def _header_changes(order: Order, fields: dict) -> dict[str, tuple]:
    """The header fields the edit changes: name → (old, new), as values."""
    changes = {}
    for name in HEADER_FIELDS:
        if name not in fields:
            continue
        old, new = getattr(order, name), fields[name]
        if name == "number" and not new:
            continue
        if old != new:
            changes[name] = (old, new)
    return changes


def _lock_for_edit(order_id: int, expected_version: int | None) -> Order:
    # No select_related("updated_by"): PostgreSQL refuses FOR UPDATE on the nullable side of an outer join.
    order = Order.objects.select_for_update().get(pk=order_id)
    if expected_version is not None and order.version != expected_version:
        who = user_display_name(order.updated_by) if order.updated_by_id else "QuickBooks sync"
        raise OrderConflict(
            f"This order was changed by {who} at {when(order.updated_at)}; reload it to see their changes, then edit "
            "again."
        )
    return order


def order_refuse_unless_editable(order: Order) -> None:
    if not order.is_editable:
        raise OrderError(
            f"Order {order.number} is {order.get_status_display().lower()} and read-only in Kadouri. "
            + (
                "Make changes in QuickBooks instead."
                if order.status == Order.Status.PAID
                else "Create a new order instead."
            )
        )


@transaction.atomic
def order_update(
    *,
    order_id: int,
    fields: dict,
    lines: list[LineInput] | None,
    by,
    ip: str | None = None,
    expected_version: int | None = None,
) -> Order:
    order = _lock_for_edit(order_id, expected_version)
    order_refuse_unless_editable(order)
    merged = {name: getattr(order, name) for name in HEADER_FIELDS} | fields
    # A rate stored before this rule (or before another company was connected) doesn't block other edits
    _check_header(merged, check_rate="exchange_rate" in fields or "buyer" in fields)
    if lines is not None:
        _check_lines(lines, merged["buyer"])
        order_refuse_total_below_paid(order, _lines_total(lines))
    if fields.get("number") and fields["number"] != order.number:
        if order.is_in_quickbooks:
            raise OrderError("The order number cannot change once the order is in QuickBooks (it is the DocNumber).")
        if Order.objects.filter(number=fields["number"]).exclude(pk=order.pk).exists():
            raise OrderError(f"Order number {fields['number']} is already used.")
    changes = _header_changes(order, fields)
    if not changes and (lines is None or _same_lines(order, lines)):
        return order  # nothing changed: no version bump (it would give others a false conflict), no log entry
    before_lines = _line_summary(order)
    for name, value in fields.items():
        if name in HEADER_FIELDS and not (name == "number" and not value):
            setattr(order, name, value)
    order.version += 1
    order.updated_by = by
    order.save()
    if lines is not None:
        _write_lines(order, lines)
    after_lines = _line_summary(order)
    if before_lines != after_lines:
        changes["lines"] = (before_lines, after_lines)
    _refresh_fingerprint(order)
    order_activity_log(
        order=order,
        activity_type=OrderActivity.Type.ORDER_EDITED,
        description=_edit_description(order, changes, by),
        user=by,
        ip=ip,
        details={
            "changes": {
                name: list(values) if name == "lines" else [_describe(v) for v in values]
                for name, values in changes.items()
            }
        },
    )
    return order


def _same_lines(order: Order, lines: list[LineInput]) -> bool:
    def key(product_id, quantity, unit_price, size, grade):
        return (product_id, Decimal(quantity).normalize(), to_cents(unit_price), size, grade)

    stored = [key(ln.product_id, ln.quantity, ln.unit_price, ln.size, ln.grade) for ln in order.lines.all()]
    wanted = [
        key(
            ln.product.pk,
            ln.quantity,
            ln.product.unit_price if ln.unit_price is None else ln.unit_price,
            ln.size,
            ln.grade,
        )
        for ln in lines
    ]
    return stored == wanted


def _edit_description(order: Order, changes: dict, by) -> str:
    if not changes:
        return f"Order {order.number} saved by {user_display_name(by)} with no changes."
    parts = []
    for name, (old, new) in changes.items():
        if name == "lines":
            parts.append(f"lines changed (total now {money(order.total, order)})")
        else:
            label = CHANGE_LABELS.get(name, name.replace("_", " "))
            parts.append(f"{label}: {_shown(name, old)} → {_shown(name, new)}")
    suffix = " QuickBooks is now out of date until the invoice is updated." if order.changed_since_push else ""
    return f"Order {order.number} edited by {user_display_name(by)}: " + "; ".join(parts) + "." + suffix


@transaction.atomic
def order_delete(*, order_id: int, by, ip: str | None = None) -> str:
    order = Order.objects.select_for_update().get(pk=order_id)
    if not order.is_deletable:
        raise OrderError(
            f"Order {order.number} is {order.get_status_display().lower()}; it cannot be deleted. "
            + (
                "Void the invoice first."
                if order.status == Order.Status.POSTED_TO_QB
                else "Paid orders are kept for the books."
            )
        )
    # A queued or running QuickBooks job may be creating the invoice right now: deleting the order would leave
    # that invoice in QuickBooks with no order in Kadouri. (qbo_jobs: QboSyncJob's related name.)
    if order.qbo_jobs.filter(state__in=[QboSyncJob.State.PENDING, QboSyncJob.State.RUNNING]).exists():
        raise OrderError(
            f"Order {order.number} cannot be deleted while QuickBooks is working on it (a sync is queued or running). "
            "Wait for it to finish, then delete the order (void its invoice first if one was created)."
        )
    number = order.number
    # The activity log outlives the order (its entries keep the number); this entry says who deleted it.
    order_activity_log(
        order=order,
        activity_type=OrderActivity.Type.ORDER_DELETED,
        description=f"Order {number} ({order.get_status_display().lower()}, total {money(order.total, order)}) "
        f"deleted by {user_display_name(by)}.",
        user=by,
        ip=ip,
        details={"status": order.status, "lines": _line_summary(order)},
    )
    order.delete()
    return number


@transaction.atomic
def order_set_status(
    *, order: Order, status: str, by=None, user_name: str | None = None, ip: str | None = None, reason: str = ""
) -> Order:
    """Moves an order to a new status (QuickBooks sync and admins use this); logs the change."""
    if status not in Order.Status.values:
        raise OrderError(f"Unknown status {status!r}.")
    locked = Order.objects.select_for_update().get(pk=order.pk)  # the caller's copy may be stale
    old = locked.status
    if old == status:
        return order
    locked.status = status
    locked.version += 1
    locked.updated_by = by if by is not None and by.is_authenticated else None
    if old == Order.Status.DRAFT and status == Order.Status.POSTED_TO_QB:
        # Posting sends the current content: QuickBooks matches until the next edit.
        locked.pushed_fingerprint = locked.content_fingerprint
    locked.save(update_fields=["status", "version", "pushed_fingerprint", "updated_by", "updated_at"])
    order.status, order.version, order.pushed_fingerprint = locked.status, locked.version, locked.pushed_fingerprint
    order_activity_log(
        order=locked,
        activity_type=OrderActivity.Type.STATUS_CHANGED,
        description=f"Status changed from {Order.Status(old).label} to {Order.Status(status).label}"
        + (f": {reason}" if reason else "."),
        user=by,
        user_name=user_name,
        ip=ip,
        details={"from": old, "to": status},
    )
    return order
