"""The connected company's profile (docs/quickbooks/next.md#company-preferences): country, home currency,
multi-currency, sales-tax mode, numbering, closing date and class tracking, from its CompanyInfo and Preferences.

Read on connect, when QuickBooks says Preferences or CompanyInfo changed (webhook or catch-up), and by every
catch-up; everything that depends on the kind of company asks `connected_profile` (or `profile_for` a realm).
Inside `one_profile_read()` — a bulk push, where every order passes the same company checks — the profile is read
from the database once, not once per check and order.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date

from django.db import transaction
from django.utils import timezone

from kadouri.display import when
from kadouri.text import clean_inbound_line

from ..models import CompanyProfile, IntegrationLog, QboConnection
from . import calls
from .vault import current_connection, latest_connection, log_event

PROFILE_FIELDS = (
    "country",
    "home_currency",
    "multi_currency",
    "sales_tax",
    "custom_txn_numbers",
    "book_close_date",
    "class_tracking",
    "online_payments",
    "inventory_tracking",
    "custom_fields",
)
COUNTRY_CODES = {"USA": "US", "CAN": "CA", "GBR": "GB", "UK": "GB", "AUS": "AU"}
COUNTRY_NAMES = {"US": "United States", "CA": "Canada", "GB": "United Kingdom", "AU": "Australia"}


_memo: ContextVar[dict | None] = ContextVar("qbo_profile_memo", default=None)


@contextmanager
def one_profile_read() -> Iterator[None]:
    """Within the block, the connection's realm and each profile are read once (a refresh updates them)."""
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def _remembered(key, read):
    memo = _memo.get()
    if memo is None:
        return read()
    if key not in memo:
        memo[key] = read()
    return memo[key]


def profile_for(realm_id: str) -> CompanyProfile:
    """The company's stored profile; before it was ever read, the idealised US company Kadouri began with."""

    def read() -> CompanyProfile:
        return CompanyProfile.objects.filter(realm_id=realm_id).first() or CompanyProfile(realm_id=realm_id)

    return _remembered(("profile", realm_id), read)


def company_settings() -> QboConnection | None:
    """The live connection, for the company rules an admin chose on it (default tax code, class, name rules);
    read once within `one_profile_read()`. Never for its tokens: `connection/calls.py` reads those itself."""
    return _remembered(("connection",), current_connection)


def connected_profile(*, after_disconnect: bool = False) -> CompanyProfile | None:
    """The connected company's profile, None when none is connected. `after_disconnect`: the last connection's
    (its amounts stay in its home currency after a disconnect)."""

    def realm() -> str | None:
        conn = latest_connection() if after_disconnect else company_settings()
        return conn.realm_id if conn else None

    realm_id = _remembered(("realm", after_disconnect), realm)
    return profile_for(realm_id) if realm_id else None


def refresh_profile(realm_id: str, *, company_info: dict | None = None) -> tuple[CompanyProfile, list[str]]:
    """Reads CompanyInfo (unless given) and Preferences and stores the profile; returns it and the changes in
    plain words (empty when nothing changed). QboError when QuickBooks could not be read."""
    info = company_info if company_info is not None else calls.company_info(realm_id)
    prefs = calls.preferences(realm_id)
    values = profile_values(info, prefs)
    # Under the row's lock: the callback, a webhook and a catch-up may read the profile at the same moment.
    with transaction.atomic():
        profile, first_read = CompanyProfile.objects.select_for_update().get_or_create(realm_id=realm_id)
        changes = [] if first_read else describe_changes(profile, values)
        for field, value in values.items():
            setattr(profile, field, value)
        profile.company_name = clean_inbound_line(info.get("CompanyName") or "")[:255]
        profile.preferences = prefs
        profile.read_at = timezone.now()
        profile.save()
    memo = _memo.get()
    if memo is not None:
        memo[("profile", realm_id)] = profile
    if first_read or changes:
        log_event(
            realm_id=realm_id,
            event=IntegrationLog.Event.PROFILE_READ,
            message=_log_message(profile, changes)[:500],
        )
    return profile, changes


def profile_values(info: dict, prefs: dict) -> dict:
    """The profile's fields from QuickBooks' CompanyInfo and Preferences (pure)."""
    currency = prefs.get("CurrencyPrefs") or {}
    tax = prefs.get("TaxPrefs") or {}
    sales = prefs.get("SalesFormsPrefs") or {}
    accounting = prefs.get("AccountingInfoPrefs") or {}
    country = _country(info.get("Country") or (info.get("CompanyAddr") or {}).get("Country") or "US")
    return {
        "country": country,
        "home_currency": str((currency.get("HomeCurrency") or {}).get("value") or "USD")[:3].upper(),
        "multi_currency": currency.get("MultiCurrencyEnabled") is True,
        "sales_tax": _sales_tax(country, tax),
        # Absent: QuickBooks numbers documents (docs/quickbooks/next.md#docnumber-and-custom-transaction-numbers)
        "custom_txn_numbers": sales.get("CustomTxnNumbers") is True,
        "book_close_date": _date(accounting.get("BookCloseDate")),
        "class_tracking": accounting.get("ClassTrackingPerTxn") is True,
        # docs/quickbooks/beyond.md: online payments, Inventory items, the sales-form custom fields
        "online_payments": sales.get("ETransactionPaymentEnabled") is True,
        "inventory_tracking": (prefs.get("ProductAndServicesPrefs") or {}).get("QuantityOnHand") is True,
        "custom_fields": custom_fields(sales.get("CustomField")),
    }


def custom_fields(definitions) -> list[dict]:
    """The sales-form custom fields turned on, as [{"id": "1", "name": "Account code"}]: QuickBooks lists one group
    of `UseSalesCustomN` booleans and one of `SalesCustomNameN` names
    (docs/quickbooks/beyond.md#the-account-code-in-quickbooks)."""
    flags, labels = {}, {}
    for group in definitions if isinstance(definitions, list) else []:
        for item in (group or {}).get("CustomField") or [] if isinstance(group, dict) else []:
            name = str(item.get("Name") or "") if isinstance(item, dict) else ""
            if name[:-1] == "SalesFormsPrefs.UseSalesCustom":
                flags[name[-1]] = item.get("BooleanValue") is True
            elif name[:-1] == "SalesFormsPrefs.SalesCustomName":
                labels[name[-1]] = clean_inbound_line(str(item.get("StringValue") or ""))[:31]
    return [{"id": n, "name": labels.get(n) or f"Custom field {n}"} for n in sorted(flags) if flags[n]]


def _country(value: str) -> str:
    code = str(value).strip().upper()
    return COUNTRY_CODES.get(code, code[:3] or "US")


def _sales_tax(country: str, tax: dict) -> str:
    # docs/quickbooks/next.md#tax-and-currency-preferences
    if not tax.get("UsingSalesTax"):
        return CompanyProfile.SalesTax.NONE
    return CompanyProfile.SalesTax.AUTOMATED if country == "US" else CompanyProfile.SalesTax.GLOBAL


def _date(value) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def country_name(code: str) -> str:
    return COUNTRY_NAMES.get(code, code)


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


# Each field as the Settings card words it (selectors/profile.py): its name and its value in plain words.
_PLAIN = {
    "country": ("country", country_name),
    "home_currency": ("home currency", str),
    "multi_currency": ("multi-currency", lambda on: "on" if on else "off"),
    "sales_tax": ("sales tax", lambda mode: str(CompanyProfile.SalesTax(mode).label)),
    "custom_txn_numbers": ("QuickBooks numbers documents", lambda custom: _yes_no(not custom)),
    "book_close_date": ("closing date", lambda closed: when(closed) if closed else "none"),
    "class_tracking": ("classes tracked", _yes_no),
    "online_payments": ("online payments", _yes_no),
    "inventory_tracking": ("stock tracked", _yes_no),
    "custom_fields": ("custom fields", lambda found: ", ".join(f["name"] for f in found) or "none"),
}


def describe_changes(profile: CompanyProfile, values: dict) -> list[str]:
    """The changed fields in the Settings card's words, e.g. "closing date: Jun 30, 2026 → Nov 30, 2026"."""
    changes = []
    for field in PROFILE_FIELDS:
        if getattr(profile, field) != values[field]:
            label, plain = _PLAIN[field]
            changes.append(f"{label}: {plain(getattr(profile, field))} → {plain(values[field])}")
    return changes


def _log_message(profile: CompanyProfile, changes: list[str]) -> str:
    if changes:
        return "QuickBooks company settings changed: " + "; ".join(changes) + "."
    closed = f"closing date {when(profile.book_close_date)}" if profile.book_close_date else "no closing date"
    return (
        f"Read the company's settings: {country_name(profile.country)}, home currency {profile.home_currency}, "
        f"multi-currency {'on' if profile.multi_currency else 'off'}, "
        f"sales tax: {profile.get_sales_tax_display().lower()}, "
        f"{'Kadouri' if profile.custom_txn_numbers else 'QuickBooks'} numbers documents, {closed}, "
        f"classes {'tracked' if profile.class_tracking else 'not tracked'}."
    )
