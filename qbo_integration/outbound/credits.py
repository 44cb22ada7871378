"""Credits and refunds from Kadouri (docs/quickbooks/money.md#credits): what a click or an API call asks — issue a
credit on an order, apply a credit to another open order of the buyer, refund a credit — checked before anything
is sent and recorded as the order's money job. The runners are in `credit_runners.py`."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from kadouri.display import money as display_money
from orders.models import Order, to_cents

from ..adapt.money_input import (
    MoneyInputError,
    bank_account_id,
    check_currency,
    check_reference,
    method_name,
    parse_amount,
    parse_txn_date,
)
from ..connection.vault import usable_connection
from ..models import QboMoney, QboSyncJob
from ..outbox.jobs import SyncRefused
from ..selectors.money import ZERO, credited_by_line
from . import credit_runners  # noqa: F401  (registers the credit runners)
from .money_jobs import attempt_once, earlier_submit, enqueue_money_job, submit_stamp
from .rules import check_credit_allowed

Action = QboSyncJob.Action
QUANTITY_PLACES = Decimal("0.001")
NOTE_MAX = 300


# --- issue a credit ----------------------------------------------------------------------------------------------


def creditable(order: Order) -> Decimal:
    """What can still be credited on the order, before tax: what was sold, minus the credits already issued for it.
    Like with like: a credit is asked as lines (or an amount) before tax and QuickBooks adds the lines' tax to the
    memo, so it is compared with Kadouri's subtotal (order.total, the lines before tax) less the earlier credits'
    lines before tax — never with QuickBooks' total or the memos' totals, which include tax."""
    credits = order.qbo_money.filter(entity=QboMoney.Entity.CREDIT_MEMO, state=QboMoney.State.ACTIVE)
    credited = sum((Decimal(str(line.get("amount") or 0)) for row in credits for line in row.lines or []), ZERO)
    return max(order.total - credited, ZERO)


def _quantity(value, line_id) -> Decimal | None:
    text = "" if value is None or isinstance(value, bool) else str(value).strip()
    if not text:
        return None
    try:
        quantity = Decimal(text)
    except InvalidOperation:
        quantity = None
    if quantity is None or not quantity.is_finite():
        raise MoneyInputError(f"Enter the quantity of line {line_id} as a number.", field="lines")
    if quantity <= 0:
        raise MoneyInputError(f"The quantity of line {line_id} must be more than zero.", field="lines")
    if quantity != quantity.quantize(QUANTITY_PLACES):
        raise MoneyInputError(f"The quantity of line {line_id} can have at most three decimals.", field="lines")
    return quantity


def credit_lines(order: Order, asked: list) -> list[dict]:
    """The credit's lines from [{line_id, quantity}]: each no more than the line's quantity minus what earlier
    credits of the line took. A blank quantity credits nothing of that line."""
    if not isinstance(asked, list):
        raise MoneyInputError("Lines must be a list of {lineId, quantity}.", field="lines")
    own = {line.pk: line for line in order.lines.select_related("product")}
    taken = credited_by_line(order)
    chosen: dict[int, Decimal] = {}
    for item in asked:
        if not isinstance(item, dict):
            raise MoneyInputError("Lines must be a list of {lineId, quantity}.", field="lines")
        raw_id = item.get("line_id", item.get("lineId"))
        line = own.get(int(raw_id)) if str(raw_id).isascii() and str(raw_id).isdigit() else None
        if line is None:
            raise MoneyInputError(f"Line {raw_id} is not a line of order {order.number}.", field="lines")
        quantity = _quantity(item.get("quantity"), line.pk)
        if quantity is not None:
            chosen[line.pk] = chosen.get(line.pk, Decimal(0)) + quantity
    if not chosen:
        raise MoneyInputError("Choose at least one line and a quantity to credit, or enter an amount.", field="lines")
    lines = []
    for line_id, quantity in chosen.items():
        line = own[line_id]
        left = line.quantity - taken.get(line_id, Decimal(0))
        if quantity > left:
            raise MoneyInputError(
                f"Only {left.normalize():f} of {line.description} can still be credited "
                f"({line.quantity.normalize():f} sold).",
                field="lines",
            )
        lines.append(
            {
                "lineId": line.pk,
                "productId": line.product_id,
                "description": line.description,
                "quantity": f"{quantity.normalize():f}",
                "unitPrice": str(line.unit_price),
                "amount": str(to_cents(quantity * line.unit_price)),  # as the order line rounds it
            }
        )
    return lines


def amount_line(order: Order, amount: Decimal, reason_label: str) -> list[dict]:
    """An amount credit: one line on the order's first product."""
    first = order.lines.select_related("product").order_by("position", "pk").first()
    if first is None:
        raise SyncRefused(f"Order {order.number} has no lines to credit.", status=409)
    return [
        {
            "lineId": None,
            "productId": first.product_id,
            "description": f"{reason_label}: order {order.number}",
            "quantity": None,
            "unitPrice": None,
            "amount": str(amount),
        }
    ]


def _reason(value) -> str:
    reason = str(value or "").strip()
    if reason not in QboMoney.Reason.values:
        choices = ", ".join(QboMoney.Reason.values)
        raise MoneyInputError(f"Choose a reason for the credit ({choices}).", field="reason")
    return reason


def _check_within_sold(order: Order, total: Decimal) -> None:
    left = creditable(order)
    if total > left:
        raise MoneyInputError(
            f"A credit of {display_money(total, order)} is more than what can still be credited on order "
            f"{order.number} ({display_money(left, order)}).",
            field="amount",
        )


def credit_params(*, order: Order, reason, lines=None, amount=None, note="", date=None, currency=None) -> dict:
    """What the credit job is asked, validated (MoneyInputError 422 names the field)."""
    reason = _reason(reason)
    check_currency(order, currency)
    if lines and amount not in (None, ""):
        raise MoneyInputError("Credit either lines or an amount, not both.", field="amount")
    if lines:
        credit = credit_lines(order, lines)
    elif amount not in (None, ""):
        credit = amount_line(order, parse_amount(amount, field="amount"), QboMoney.Reason(reason).label)
    else:
        raise MoneyInputError("Choose the lines to credit or enter an amount.", field="lines")
    total = sum((Decimal(line["amount"]) for line in credit), ZERO)
    _check_within_sold(order, total)
    note = str(note or "").strip()
    if len(note) > NOTE_MAX:
        raise MoneyInputError(f"The note can be at most {NOTE_MAX} characters.", field="note")
    day = parse_txn_date(date, realm_id=usable_connection().realm_id)
    return {
        "reason": reason,
        "lines": credit,
        "amount": str(total),
        "note": note,
        "date": day.isoformat() if day else "",
    }


def credit_issue_request(
    *,
    order: Order,
    reason,
    lines=None,
    amount=None,
    note="",
    date=None,
    currency=None,
    token: str = "",
    by,
    ip: str | None,
) -> QboSyncJob:
    """Issue a credit on the order (whole lines, part of a quantity, or an amount); `currency`, when given, must be
    the order's. Refused before anything is sent: 409 (the order's state), 422 (bad input, MoneyInputError)."""
    asked = {"reason": reason, "lines": lines, "amount": amount, "note": note, "date": date, "currency": currency}
    joined = earlier_submit(token, asked, Action.ISSUE_CREDIT, order=order)
    if joined is not None:
        return joined
    check_credit_allowed(order)
    params = credit_params(
        order=order, reason=reason, lines=lines, amount=amount, note=note, date=date, currency=currency
    ) | submit_stamp(token, asked)

    def check(locked: Order) -> None:  # again under the order's lock: another credit may just have been stored
        check_credit_allowed(locked)
        if params["lines"][0]["lineId"] is not None:
            credit_lines(locked, [{"lineId": x["lineId"], "quantity": x["quantity"]} for x in params["lines"]])
        _check_within_sold(locked, Decimal(params["amount"]))

    job, _ = enqueue_money_job(
        order=order, action=Action.ISSUE_CREDIT, params=params, token=token, by=by, ip=ip, check=check
    )
    return attempt_once(job)


def open_credit(realm_id: str, qbo_id) -> QboMoney:
    """The credit memo with credit left (404 when Kadouri does not know it, 409 when nothing is left)."""
    credit = (
        QboMoney.objects.select_related("order", "account")
        .filter(realm_id=realm_id, entity=QboMoney.Entity.CREDIT_MEMO, qbo_id=str(qbo_id), state="active")
        .first()
    )
    if credit is None:
        raise SyncRefused(f"Credit memo {qbo_id} is not a credit Kadouri knows.", status=404)
    if credit.unapplied <= 0:
        raise SyncRefused(f"Credit memo {credit.number_label} has no credit left.", status=409)
    return credit


# --- apply a credit to another open order -----------------------------------------------------------------------


def check_open_invoice(order: Order) -> None:
    if (
        order.qbo_doc_type != Order.DocType.INVOICE
        or order.status != Order.Status.POSTED_TO_QB
        or not order.qbo_doc_id
        or (order.qbo_balance or ZERO) <= 0
    ):
        raise SyncRefused(f"Order {order.number} has no open invoice to apply a credit to.", status=409)


def credit_apply_request(
    *, credit_qbo_id, target_order: Order, amount=None, token: str = "", by, ip: str | None
) -> QboSyncJob:
    asked = {"amount": amount}
    joined = earlier_submit(token, asked, Action.APPLY_CREDIT, order=target_order, params__creditId=str(credit_qbo_id))
    if joined is not None:
        return joined
    credit = open_credit(usable_connection().realm_id, credit_qbo_id)
    buyer_id = credit.account_id or (credit.order.buyer_id if credit.order_id else None)
    if target_order.buyer_id != buyer_id:
        raise MoneyInputError(
            f"Order {target_order.number} is another buyer's; a credit is applied to its own buyer's orders only.",
            field="orderId",
        )
    check_open_invoice(target_order)
    balance = target_order.qbo_balance or ZERO
    if amount in (None, ""):
        wanted = min(credit.unapplied, balance)
    else:
        wanted = parse_amount(amount, field="amount")
        if wanted > credit.unapplied:
            raise MoneyInputError(
                f"The credit has {display_money(credit.unapplied, target_order)} left.", field="amount"
            )
        if wanted > balance:
            raise MoneyInputError(
                f"Order {target_order.number}'s open balance is {display_money(balance, target_order)}.",
                field="amount",
            )
    params = {"creditId": credit.qbo_id, "amount": str(wanted)} | submit_stamp(token, asked)

    def check(locked: Order) -> None:
        check_open_invoice(locked)
        if wanted > (locked.qbo_balance or ZERO):
            raise MoneyInputError(f"Order {locked.number}'s open balance changed; try again.", field="amount")

    job, _ = enqueue_money_job(
        order=target_order, action=Action.APPLY_CREDIT, params=params, token=token, by=by, ip=ip, check=check
    )
    return attempt_once(job)


# --- refund a credit ----------------------------------------------------------------------------------------------


def refund_params(*, credit: QboMoney, amount=None, account, method=None, reference="", date=None) -> dict:
    wanted = credit.unapplied if amount in (None, "") else parse_amount(amount, field="amount")
    if wanted > credit.unapplied:
        raise MoneyInputError(
            f"A refund of {display_money(wanted, credit.currency)} is more than the credit's remaining "
            f"{display_money(credit.unapplied, credit.currency)}.",
            field="amount",
        )
    reference = check_reference(reference)
    day = parse_txn_date(date, realm_id=credit.realm_id)
    method_id = str(method or "").strip()
    method_name(method_id)  # one of the company's, or none
    return {
        "creditId": credit.qbo_id,
        "amount": str(wanted),
        "account": bank_account_id(account),
        "method": method_id,
        "reference": reference,
        "date": day.isoformat() if day else "",
    }


def credit_refund_request(
    *, credit_qbo_id, amount=None, account, method=None, reference="", date=None, token: str = "", by, ip
) -> QboSyncJob:
    asked = {"amount": amount, "account": account, "method": method, "reference": reference, "date": date}
    joined = earlier_submit(token, asked, Action.REFUND_CREDIT, params__creditId=str(credit_qbo_id))
    if joined is not None:
        return joined
    credit = open_credit(usable_connection().realm_id, credit_qbo_id)
    if credit.order is None and credit.account is None:
        raise SyncRefused(
            f"Credit memo {credit.number_label} is for a customer Kadouri does not follow; refund it in QuickBooks.",
            status=409,
        )
    params = refund_params(
        credit=credit, amount=amount, account=account, method=method, reference=reference, date=date
    ) | submit_stamp(token, asked)
    # a credit issued in QuickBooks without a Kadouri order is refunded as the buyer's job (money_jobs.py)
    job, _ = enqueue_money_job(
        order=credit.order,
        account=credit.account,
        action=Action.REFUND_CREDIT,
        params=params,
        token=token,
        by=by,
        ip=ip,
    )
    return attempt_once(job)
