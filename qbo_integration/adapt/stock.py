"""Stock (docs/quickbooks/beyond.md#stock): a product that tracks stock is an Inventory item in QuickBooks, whose
quantity on hand QuickBooks keeps. Here: whether the connected company can have Inventory items (its
`ProductAndServicesPrefs.QuantityOnHand`, read into the profile), the three accounts such an item needs (chosen in
Settings from QuickBooks' own lists, read at most every few minutes), what an item payload carries for a product
that tracks stock, and why one cannot be created — in words a person can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.core.cache import cache
from django.utils import timezone

from products.models import Product

from ..client.errors import QboError, QboValidationError
from ..connection import calls
from ..connection.profile import company_settings, profile_for

SETTINGS_PLACE = "Settings → QuickBooks → Stock"
LISTS_SECONDS = 5 * 60  # the company's accounts, per type: read at most every 5 minutes
FAILED_SECONDS = 60  # a failed read is remembered this long, so a page does not wait on QuickBooks each time
START_KEYS = ("QtyOnHand", "InvStartDate")  # sent when the item is created, never again (an update would adjust)


class StockRefused(QboValidationError):
    """Nothing was sent: the product's Inventory item cannot be created (or linked) as things are. The API answers
    422 with the message."""

    kind = "company_rule"


@dataclass(frozen=True)
class AccountKind:
    field: str  # on QboConnection
    account_type: str  # QuickBooks' AccountType listed for it
    subtype: str  # the usual one, suggested first
    payload_key: str  # on the Item
    label: str


ACCOUNT_KINDS = {
    "asset": AccountKind(
        "inventory_asset_account_id", "Other Current Asset", "Inventory", "AssetAccountRef", "Inventory asset account"
    ),
    "income": AccountKind(
        "inventory_income_account_id", "Income", "SalesOfProductIncome", "IncomeAccountRef", "Income account"
    ),
    "cogs": AccountKind(
        "inventory_cogs_account_id",
        "Cost of Goods Sold",
        "SuppliesMaterialsCogs",
        "ExpenseAccountRef",
        "Cost of goods sold account",
    ),
}


@dataclass(frozen=True)
class StockSettings:
    connected: bool = False
    tracking: bool = False  # the company tracks quantity on hand (QuickBooks Plus and Advanced)
    accounts: tuple[tuple[str, str], ...] = ()  # (kind, account id) as chosen in Settings
    realm_id: str = ""

    def account(self, kind: str) -> str:
        return dict(self.accounts).get(kind, "")

    @property
    def accounts_chosen(self) -> bool:
        return all(self.account(kind) for kind in ACCOUNT_KINDS)


def stock_settings() -> StockSettings:
    conn = company_settings()
    if conn is None:
        return StockSettings()
    chosen = tuple((kind, getattr(conn, spec.field) or "") for kind, spec in ACCOUNT_KINDS.items())
    return StockSettings(True, profile_for(conn.realm_id).inventory_tracking, chosen, conn.realm_id)


def untracked_reason() -> str:
    return (
        "This QuickBooks company does not track quantity on hand, so it cannot have Inventory items: QuickBooks "
        "Simple Start and Essentials do not, and Plus and Advanced only with “Track quantity and price/rate” turned on "
        "(Account and settings → Sales → Products and services)."
    )


def unavailable_reason(settings: StockSettings | None = None) -> str:
    """Why a product cannot start tracking stock now ("" when it can)."""
    settings = settings or stock_settings()
    if not settings.connected:
        return "QuickBooks is not connected: stock is kept in QuickBooks, so connect it first."
    if not settings.tracking:
        return untracked_reason()
    if not settings.accounts_chosen:
        return (
            "Choose the inventory asset, income and cost of goods sold accounts in "
            f"{SETTINGS_PLACE} first: QuickBooks needs them for every Inventory item."
        )
    return ""


def create_problem(product: Product) -> str:
    """Why the Inventory item of `product` cannot be created in QuickBooks now ("" when it can, or when it is
    not to be created as one)."""
    if not product.tracks_inventory or product.qbo_item_id:
        return ""
    return unavailable_reason()


def type_clash(product: Product, item: dict) -> StockRefused | None:
    """A same-name QuickBooks item of the other kind: QuickBooks does not change an item's type."""
    theirs = str(item.get("Type") or "")
    if product.tracks_inventory == (theirs == "Inventory"):
        return None
    if product.tracks_inventory:
        return StockRefused(
            f"QuickBooks already has “{item.get('Name')}” as a {theirs or 'non-stock'} item, and QuickBooks does not "
            f"change an item's type: rename product “{product.name}” in Kadouri to create it as an Inventory item, "
            "or turn off “Track stock in QuickBooks” to use that item."
        )
    return StockRefused(
        f"QuickBooks already has “{item.get('Name')}” as an Inventory item, and QuickBooks does not change an item's "
        f"type: turn on “Track stock in QuickBooks” on product “{product.name}”, or rename it in Kadouri."
    )


def item_stock_fields(product: Product, settings: StockSettings | None = None) -> dict:
    """What the item payload of a product that tracks stock carries: the Inventory type, its three accounts and —
    on create only — the starting quantity and its date (docs/quickbooks/beyond.md#stock)."""
    if not product.tracks_inventory:
        return {}
    settings = settings or stock_settings()
    fields: dict = {"Type": "Inventory", "TrackQtyOnHand": True}
    for kind, spec in ACCOUNT_KINDS.items():
        if settings.account(kind):
            fields[spec.payload_key] = {"value": settings.account(kind)}
    if not product.qbo_item_id:
        fields["QtyOnHand"] = product.starting_quantity or Decimal(0)
        fields["InvStartDate"] = (product.inventory_start_date or timezone.localdate()).isoformat()
    return fields


# --- the company's accounts, for the Settings card -----------------------------------------------------------


@dataclass(frozen=True)
class AccountChoices:
    choices: list[tuple[str, str]]  # (id, name), the usual subtype first
    suggested: str = ""  # the account of the usual subtype, when there is one
    problem: str = ""  # why the list is empty, in plain words


def _key(realm_id: str, what: str) -> str:
    return f"qbo:stock-accounts:{realm_id}:{what}"


def _account_rows(realm_id: str) -> tuple[list[dict], str]:
    """The company's accounts of the three types, read in one query and kept a few minutes; or why they can't be."""
    rows = cache.get(_key(realm_id, "rows"))
    if rows is not None:
        return rows, ""
    failed = cache.get(_key(realm_id, "failed"))
    if failed is None:
        types = ", ".join(f"'{spec.account_type}'" for spec in ACCOUNT_KINDS.values())
        try:
            rows = calls.query(
                f"select * from Account where AccountType in ({types}) MAXRESULTS 1000", realm_id=realm_id
            )
        except QboError as e:
            failed = e.message
            cache.set(_key(realm_id, "failed"), failed, FAILED_SECONDS)
        else:
            rows = rows.get("Account", [])
            cache.set(_key(realm_id, "rows"), rows, LISTS_SECONDS)
            return rows, ""
    return [], f"QuickBooks' accounts cannot be listed right now ({failed})."


def account_choices(kind: str, realm_id: str) -> AccountChoices:
    """The company's active accounts of the type an Inventory item needs for `kind`, the usual sub-type first."""
    spec = ACCOUNT_KINDS[kind]
    rows, problem = _account_rows(realm_id)
    if problem:
        return AccountChoices([], problem=problem)
    active = sorted(
        (r for r in rows if r.get("Active", True) and r.get("AccountType") == spec.account_type),
        key=lambda r: (r.get("AccountSubType") != spec.subtype, str(r.get("Name") or "").casefold()),
    )
    choices = [(str(r["Id"]), str(r.get("FullyQualifiedName") or r.get("Name") or r["Id"])) for r in active]
    usual = next((str(r["Id"]) for r in active if r.get("AccountSubType") == spec.subtype), "")
    problem = "" if choices else f"QuickBooks has no active {spec.account_type} account: create one there first."
    return AccountChoices(choices, usual, problem)
