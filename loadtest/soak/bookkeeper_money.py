"""The bookkeeper's money in QuickBooks itself (issue 12): credit memos for the soak's buyers, some applied to one of
their open invoices, some refunded from the Checking account, a few deleted; sales receipts made and some voided —
through the emulator's bookkeeper actions, while Kadouri records its own money on the same customers."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from decimal import Decimal

from loadtest.soak.common import Seeded, cashiers_order, money, order_key

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

    def step(self, books: dict, done: Counter, touched: set[str]) -> None:
        """One money step the plan still wants and the books allow now (a credit memo applied needs one of the
        bookkeeper's with credit left and an open invoice of its customer that no other step touched)."""
        numbers = self.seeded.numbers
        ours = [
            i
            for i in books["Invoice"]
            if order_key(i, numbers) in numbers and not cashiers_order(numbers[order_key(i, numbers)])
        ]
        customers = sorted({i["CustomerRef"]["value"] for i in ours})
        if not customers:
            return
        memos = {m["Id"]: m for m in books.get("CreditMemo", [])}
        usable = [m for m in self.memos if m in memos and money(memos[m].get("RemainingCredit", 0)) > 0]
        open_for = {
            m: [
                i
                for i in ours
                if i["CustomerRef"]["value"] == memos[m]["CustomerRef"]["value"]
                and i["Id"] not in touched
                and money(i["Balance"]) > 0
            ]
            for m in usable
        }
        possible = {
            "credit_memo": True,
            "apply_credit_memo": any(open_for.values()),
            "refund_credit_memo": bool(usable),
            "delete_credit_memo": bool(usable),
            "sales_receipt": True,
            "void_sales_receipt": bool(self.receipts),
        }
        wanted = [p for p in MONEY_PLANS if done[p] < self.plan[p] and possible[p]]
        if not wanted:
            return
        plan = self.rng.choice(wanted)
        done[plan] += 1
        if plan in ("credit_memo", "sales_receipt"):
            args = {"customer_id": self.rng.choice(customers), "amount": self._amount()}
            action = "issue_credit_memo" if plan == "credit_memo" else "create_sales_receipt"
            made = self.act(plan, {"action": action, **args}, final=True)
            (self.memos if plan == "credit_memo" else self.receipts).extend([made["Id"]] if made else [])
        elif plan == "apply_credit_memo":
            memo_id = self.rng.choice([m for m, invoices in open_for.items() if invoices])
            invoice = self.rng.choice(open_for[memo_id])
            touched.add(invoice["Id"])  # the bookkeeper's other plans leave it alone from now on
            self.memos.remove(memo_id)
            amount = min(money(memos[memo_id]["RemainingCredit"]), money(invoice["Balance"]))
            args = {"credit_memo_id": memo_id, "invoice_id": invoice["Id"], "amount": str(amount)}
            self.act(plan, {"action": "apply_credit_memo", **args}, final=True)
        elif plan == "refund_credit_memo":
            memo_id = self.rng.choice(usable)
            self.memos.remove(memo_id)
            checking = next(a["Id"] for a in books["Account"] if a.get("Name") == "Checking")
            amount = money(memos[memo_id]["RemainingCredit"])
            args = {"credit_memo_id": memo_id, "account_id": checking, "amount": str(amount)}
            self.act(plan, {"action": "refund_credit_memo", **args}, final=True)
        elif plan == "delete_credit_memo":
            memo_id = self.rng.choice(usable)
            self.memos.remove(memo_id)
            self.act(plan, {"action": "delete_credit_memo", "credit_memo_id": memo_id}, final=True)
        else:
            receipt_id = self.receipts.pop(0)
            self.act(plan, {"action": "void_sales_receipt", "sales_receipt_id": receipt_id}, final=True)

    def _amount(self) -> str:
        return str(money(Decimal(self.rng.randrange(500, 9000)) / 100))
