"""The bookkeeper's money in QuickBooks itself (issue 12): credit memos for the soak's buyers, some applied to one of
their open invoices, some refunded from the Checking account, a few deleted; sales receipts made and some voided —
through the emulator's bookkeeper actions, while Kadouri records its own money on the same customers."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from decimal import Decimal

from loadtest.soak.common import Seeded, money, order_key

MONEY_PLANS = (
    "credit_memo",
    "apply_credit_memo",
    "refund_credit_memo",
    "delete_credit_memo",
    "sales_receipt",
    "void_sales_receipt",
)


def money_plan(orders: int) -> dict[str, int]:
    return {
        "credit_memo": max(3, round(orders * 0.04)),
        "apply_credit_memo": max(1, round(orders * 0.015)),
        "refund_credit_memo": max(1, round(orders * 0.01)),
        "delete_credit_memo": max(1, round(orders * 0.005)),
        "sales_receipt": max(2, round(orders * 0.02)),
        "void_sales_receipt": max(1, round(orders * 0.01)),
    }


class BookkeeperMoney:
    """One step per look, at human speed; `act(plan, args, final)` is the bookkeeper's own (it records)."""

    def __init__(self, seed: int, seeded: Seeded, plan: dict[str, int], act: Callable[..., dict | None]) -> None:
        self.rng = random.Random(seed + 13)
        self.seeded, self.plan, self.act = seeded, plan, act
        self.memos: list[str] = []  # credit memos it issued, not yet used
        self.receipts: list[str] = []  # sales receipts it made, not yet voided

    def step(self, books: dict, done: Counter) -> None:
        ours = [i for i in books["Invoice"] if order_key(i, self.seeded.numbers) in self.seeded.numbers]
        customers = sorted({i["CustomerRef"]["value"] for i in ours})
        if not customers:
            return
        wanted = [p for p in MONEY_PLANS if done[p] < self.plan[p]]
        if not wanted:
            return
        plan = self.rng.choice(wanted)
        done[plan] += 1  # attempted (a step with nothing to act on counts too: the plan must end)
        memos = books.get("CreditMemo", [])
        remaining = {m["Id"]: money(m.get("RemainingCredit", m.get("TotalAmt", 0))) for m in memos}
        usable = [m for m in self.memos if remaining.get(m, Decimal(0)) > 0]
        if plan == "credit_memo":
            args = {"customer_id": self.rng.choice(customers), "amount": self._amount()}
            memo = self.act(plan, {"action": "issue_credit_memo", **args}, final=True)
            self.memos += [memo["Id"]] if memo else []
        elif plan == "apply_credit_memo" and usable:
            memo_id = self.rng.choice(usable)
            customer = next(m["CustomerRef"]["value"] for m in books["CreditMemo"] if m["Id"] == memo_id)
            open_invoices = [i for i in ours if i["CustomerRef"]["value"] == customer and money(i["Balance"]) > 0]
            if open_invoices:
                invoice = self.rng.choice(open_invoices)
                amount = min(remaining[memo_id], money(invoice["Balance"]))
                self.memos.remove(memo_id)
                args = {"credit_memo_id": memo_id, "invoice_id": invoice["Id"], "amount": str(amount)}
                self.act(plan, {"action": "apply_credit_memo", **args}, final=True)
        elif plan == "refund_credit_memo" and usable:
            memo_id = self.rng.choice(usable)
            self.memos.remove(memo_id)
            checking = next(a["Id"] for a in books["Account"] if a.get("Name") == "Checking")
            args = {"credit_memo_id": memo_id, "account_id": checking, "amount": str(remaining[memo_id])}
            self.act(plan, {"action": "refund_credit_memo", **args}, final=True)
        elif plan == "delete_credit_memo" and usable:
            memo_id = self.rng.choice(usable)
            self.memos.remove(memo_id)
            self.act(plan, {"action": "delete_credit_memo", "credit_memo_id": memo_id}, final=True)
        elif plan == "sales_receipt":
            args = {"customer_id": self.rng.choice(customers), "amount": self._amount()}
            receipt = self.act(plan, {"action": "create_sales_receipt", **args}, final=True)
            self.receipts += [receipt["Id"]] if receipt else []
        elif plan == "void_sales_receipt" and self.receipts:
            receipt_id = self.receipts.pop(0)
            self.act(plan, {"action": "void_sales_receipt", "sales_receipt_id": receipt_id}, final=True)

    def _amount(self) -> str:
        return str(money(Decimal(self.rng.randrange(500, 9000)) / 100))
