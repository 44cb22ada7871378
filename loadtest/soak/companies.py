"""What the seed phase gives buyers, products and orders so each company's own rules are exercised: buyers in
several states, exempt buyers and untaxed products under Automated Sales Tax; buyers paying CAD, MXN or EUR (some
orders with their own exchange rate) under multi-currency. The idealised and automatic-numbering companies need
nothing more."""

from __future__ import annotations

import random
from decimal import Decimal

STATES = (
    ("CA", "Los Angeles", "90021"),
    ("NY", "New York", "10001"),
    ("TX", "Dallas", "75201"),
    ("WA", "Seattle", "98101"),
    ("IL", "Chicago", "60601"),
    ("FL", "Miami", "33101"),
)
FOREIGN = ("", "CAD", "MXN", "EUR")
ENTERED_RATES = {"CAD": Decimal("0.72"), "MXN": Decimal("0.055"), "EUR": Decimal("1.10")}


def buyer_extras(company: str, n: int) -> dict:
    if company == "automated_tax":
        region, city, postal = STATES[n % len(STATES)]
        extras = {"region": region, "city": city, "postal_code": postal}
        if n % 5 == 4:
            extras |= {"tax_exempt": True, "tax_exemption_reason": "9"}
        return extras
    if company == "multi_currency":
        return {"currency": FOREIGN[n % len(FOREIGN)]}
    return {}


def product_extras(company: str, n: int) -> dict:
    return {"taxable": n % 4 != 3} if company == "automated_tax" else {}


def order_extras(company: str, buyer, rng: random.Random) -> dict:
    if company == "multi_currency" and buyer.currency and rng.random() < 0.3:
        return {"exchange_rate": ENTERED_RATES[buyer.currency]}
    return {}
