"""The broker's own books in the soak (docs/quickbooks/beyond.md#the-brokers-own-books), run inside the soak's
environment after it settled (phases.check): the admin chose "a bill to the seller" before the run, so every order
invoiced in the company's home currency whose invoice (or cash sale) stands has exactly one bill to its seller —
found by its marker `[kadouri-broker:<order id>]` in the emulator's dump — for the order's total less its commission;
an order cancelled has none left (its bill deleted with its invoice), unless the seller was already paid on it (kept
on purpose, said on the order); the bills the bookkeeper paid show paid on Kadouri's rows; no bill is anybody else's.
"""

from __future__ import annotations

import re
from collections import defaultdict

from loadtest.soak.common import money
from orders.models import Order
from qbo_integration.models import BrokerDocument, CompanyProfile

BROKER_MARKER = re.compile(r"\[kadouri-broker:(\d+)\]")
INVOICED = (Order.DocType.INVOICE, Order.DocType.SALES_RECEIPT)


def _home(order: Order, home: str) -> bool:
    return (order.qbo_currency or order.buyer.currency or home) == home


def _should_have(order: Order, home: str) -> bool:
    proceeds = order.total - order.commission_amount
    return (
        order.qbo_doc_type in INVOICED
        and order.status != Order.Status.CANCELLED
        and _home(order, home)
        and proceeds > 0
    )


def check_broker(dump: dict, orders: dict[int, Order]) -> tuple[dict[str, str], list[str]]:
    bills: dict[int, list[dict]] = defaultdict(list)
    orphans = []
    for bill in dump["entities"].get("Bill", []):
        found = BROKER_MARKER.findall(str(bill.get("PrivateNote") or ""))
        if found and int(found[-1]) in orders:
            bills[int(found[-1])].append(bill)
        else:
            orphans.append(bill["Id"])
    profile = CompanyProfile.objects.first()
    home = profile.home_currency if profile else "USD"
    rows = {row.order_id: row for row in BrokerDocument.objects.filter(kind=BrokerDocument.Kind.SELLER_BILL)}
    problems, counts = [], defaultdict(int)
    for order in orders.values():
        mine = bills.get(order.pk, [])
        paid = [b for b in mine if money(b.get("Balance", 0)) < money(b.get("TotalAmt", 0))]
        if _should_have(order, home):
            counts["should"] += 1
            problems += _one_right_bill(order, mine, rows.get(order.pk), counts)
        elif order.status == Order.Status.CANCELLED and order.qbo_doc_type in INVOICED and _home(order, home):
            counts["cancelled"] += 1
            if len(mine) > len(paid):
                problems.append(f"{order.number}: cancelled but its unpaid bill {mine[0]['Id']} is still there")
            counts["kept, seller paid"] += len(paid)
            counts["deleted with the invoice"] += 1 if not mine else 0
        elif mine:
            problems.append(f"{order.number} ({order.status}, {order.qbo_doc_type or 'draft'}) has {len(mine)} bills")
    figures = {
        "Broker bills": (
            f"{counts['once']}/{counts['should']} orders that should have one have exactly one bill for their total "
            f"less commission; {counts['paid']} paid by the bookkeeper ({counts['paid reflected']} shown paid in "
            f"Kadouri); {counts['deleted with the invoice']}/{counts['cancelled']} cancelled orders' bills deleted "
            f"with the invoice, {counts['kept, seller paid']} kept (the seller was paid); bills of no order "
            f"{len(orphans)}"
        )
    }
    violations = []
    if problems:
        violations.append(f"{len(problems)} orders' broker bills are not as they should be: {problems[:8]}")
    if orphans:
        violations.append(f"{len(orphans)} bills belong to no Kadouri order: {orphans[:5]}")
    return figures, violations


def _one_right_bill(order: Order, mine: list[dict], row: BrokerDocument | None, counts: defaultdict) -> list[str]:
    expected = order.total - order.commission_amount
    if len(mine) != 1:
        return [f"{order.number}: {len(mine)} bills (expected one of {expected})"]
    bill = mine[0]
    total, balance = money(bill.get("TotalAmt", 0)), money(bill.get("Balance", 0))
    problems = []
    if total != expected:
        problems.append(f"{order.number}: bill {bill['Id']} is {total}, the order's total less commission {expected}")
    if row is None or row.qbo_id != bill["Id"]:
        problems.append(f"{order.number}: bill {bill['Id']} is not the one Kadouri follows ({row and row.qbo_id})")
    elif row.balance != balance:
        problems.append(f"{order.number}: bill {bill['Id']} balance {balance} in QuickBooks, {row.balance} in Kadouri")
    if balance < total:
        counts["paid"] += 1
        counts["paid reflected"] += 1 if row is not None and row.balance == balance else 0
    counts["once"] += 0 if problems else 1
    return problems
