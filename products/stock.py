"""What QuickBooks' quantities on hand mean for an order (docs/quickbooks/beyond.md#stock): a warning, never a
refusal, when the order's lines together ask for more of a product than QuickBooks last said it has. QuickBooks
itself lets stock go below zero.

Once an order's invoice or cash sale is in QuickBooks, the quantity QuickBooks shows already has the order's goods
taken off: then the warning is for a quantity below zero.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from kadouri.display import plain, when

from .models import Product


@dataclass(frozen=True)
class StockLine:
    """One product's stock beside an order: what the order asks for (all its lines of that product) and what
    QuickBooks has."""

    product: Product
    asked: Decimal
    taken: bool  # the order's goods are off QuickBooks' quantity already (its invoice or cash sale is there)

    @property
    def on_hand(self) -> Decimal | None:
        return self.product.qbo_qty_on_hand

    @property
    def read_at(self) -> datetime | None:
        return self.product.qbo_qty_read_at

    @property
    def short(self) -> bool:
        if self.on_hand is None:
            return False
        return self.on_hand < 0 if self.taken else self.asked > self.on_hand

    @property
    def on_hand_text(self) -> str:
        if self.on_hand is None:
            return "On hand in QuickBooks: not read yet"
        return f"On hand in QuickBooks: {plain(self.on_hand)} {self.product.unit} (as of {when(self.read_at)})"

    @property
    def line_warning(self) -> str:
        """The warning beside a line (the product's name and the time are beside it already)."""
        if not self.short:
            return ""
        if self.taken:
            return "Below zero: more was sold than QuickBooks had."
        return f"This order asks for {plain(self.asked)} {self.product.unit} in all: more than on hand."

    @property
    def warning(self) -> str:
        if not self.short:
            return ""
        name, unit = self.product.name, self.product.unit
        if self.taken:
            return (
                f"{name}: QuickBooks shows {plain(self.on_hand)} {unit} on hand — more was sold than it had "
                f"(as of {when(self.read_at)})."
            )
        return (
            f"{name}: this order asks for {plain(self.asked)} {unit}, but QuickBooks has {plain(self.on_hand)} on "
            f"hand (as of {when(self.read_at)})."
        )


def stock_lines(lines: Iterable[tuple[Product, Decimal]], *, taken: bool = False) -> dict[int, StockLine]:
    """Per product that tracks stock (by pk): the order's lines of it added up, beside QuickBooks' quantity."""
    asked: dict[int, Decimal] = {}
    products: dict[int, Product] = {}
    for product, quantity in lines:
        if product is not None and product.tracks_inventory:
            products[product.pk] = product
            asked[product.pk] = asked.get(product.pk, Decimal(0)) + (quantity or Decimal(0))
    return {pk: StockLine(products[pk], asked[pk], taken) for pk in products}


def stock_warnings(lines: Iterable[tuple[Product, Decimal]], *, taken: bool = False) -> list[str]:
    return [line.warning for line in stock_lines(lines, taken=taken).values() if line.short]
