"""Foreign currency (docs/quickbooks/next.md#multicurrency): a buyer pays in its account's currency (blank: the
company's home currency).

- Before anything is sent: a foreign-currency buyer needs a multi-currency company that uses that currency, and a
  customer QuickBooks already holds in another currency with transactions can't change (`currency_problem`).
- Payloads: the customer carries `CurrencyRef` (multi-currency on); a document carries `CurrencyRef` and, when
  foreign, ALWAYS an `ExchangeRate` — the order's own, else QuickBooks' rate for the order date — because a rate
  left out is booked at 1 (`document_currency`).
- Answers: the document's currency, rate and home total are kept on the order (`store_currency`); every amount
  Kadouri compares with its own is the document's (`TotalAmt`, `Balance`), never the home one.
- Orders: an order's own exchange rate only for a foreign-currency buyer (`exchange_rate_problem`, the one rule of
  the order form, the JSON API and orders/services.py); product prices are in the home currency, so every line of
  a foreign-currency order has its own unit price (`unit_price_problem`); an account's currency is kept once it has
  orders (accounts/models.py).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.cache import cache

from accounts.models import Account
from kadouri.display import money as display_money
from kadouri.display import plain, when
from orders.models import Order, read_cents, to_cents

from ..client.errors import QboError, QboValidationError
from ..connection import calls
from ..connection.profile import connected_profile
from ..models import CompanyProfile

CACHE_SECONDS = 15 * 60  # company currencies and QuickBooks' rates: read at most every 15 minutes per key
RATE_PLACES = Decimal("0.00000001")  # Order.exchange_rate and qbo_exchange_rate keep 8 decimals
MAX_RATE = Decimal("10000000000")  # and 10 digits before the point
CURRENCY_FAULT_WORDS = ("currency of a customer", "currency of the transaction", "multicurrency is not turned on")


def company_profile() -> CompanyProfile:
    """The company's profile: the live connection's, else the last one's (after a disconnect its amounts are
    still in its home currency); the idealised USD company before any."""
    return connected_profile(after_disconnect=True) or CompanyProfile()


def buyer_currency(account: Account, profile: CompanyProfile | None = None) -> str:
    """The ISO code the buyer pays in: the account's currency, else the company's home currency."""
    return (account.currency or (profile or company_profile()).home_currency or "USD").upper()


def exchange_rate_problem(rate: Decimal | None, buyer: Account | None, profile: CompanyProfile | None = None) -> str:
    """The one rule for an order's own exchange rate (the order form, the JSON API and orders/services.py): blank,
    or above 0 with at most 8 decimals and 10 digits before the point, for a buyer who pays in another currency
    than the home currency (else it would be stored and never sent). "" when the rate may be kept."""
    if rate is None:
        return ""
    if not rate.is_finite() or rate <= 0:
        return "The exchange rate must be more than 0."
    if rate >= MAX_RATE or rate.normalize().as_tuple().exponent < -8:  # no quantize: 1e30 would raise
        return "Enter the exchange rate with at most 8 decimals and 10 digits before the point."
    profile = profile or company_profile()
    if buyer is not None and buyer_currency(buyer, profile) == profile.home_currency:
        return (
            f"{buyer.name} pays in the QuickBooks company's home currency ({profile.home_currency}): leave the "
            "exchange rate blank."
        )
    return ""


def unit_price_problem(buyer: Account | None, profile: CompanyProfile | None = None) -> str:
    """Why a line of this buyer's order needs its own unit price: product prices are in the home currency, so they
    can't stand for a price in another ("" when the buyer pays in the home currency)."""
    if buyer is None:
        return ""
    profile = profile or company_profile()
    code, home = buyer_currency(buyer, profile), profile.home_currency
    return "" if code == home else f"Enter the unit price in {code}: product prices are in {home}."


def customer_currency_code(account: Account) -> str | None:
    """The customer's CurrencyRef to send: only in a multi-currency company (one currency: nothing is sent)."""
    profile = company_profile()
    return buyer_currency(account, profile) if profile.multi_currency else None


# --- what QuickBooks knows ---------------------------------------------------------------------------------


def company_currencies(realm_id: str) -> list[str]:
    """The company's active foreign currencies (CompanyCurrency codes), read at most every CACHE_SECONDS."""
    key = f"qbo:currencies:{realm_id}"
    codes = cache.get(key)
    if codes is None:
        rows = calls.query("select * from CompanyCurrency maxresults 1000", realm_id=realm_id).get(
            "CompanyCurrency", []
        )
        codes = sorted({str(r.get("Code") or "").upper() for r in rows if r.get("Active", True) and r.get("Code")})
        cache.set(key, codes, CACHE_SECONDS)
    return codes


def known_company_currencies(realm_id: str) -> list[str] | None:
    """The company's currencies if Kadouri read them lately (None: not known; nothing is asked of QuickBooks)."""
    return cache.get(f"qbo:currencies:{realm_id}")


def quickbooks_rate(realm_id: str, code: str, day: date) -> Decimal:
    """QuickBooks' own rate for `code` on `day` (home units per unit), read once per currency and date."""
    key = f"qbo:rate:{realm_id}:{code}:{day.isoformat()}"
    rate = cache.get(key)
    if rate is None:
        answer = calls.api_call(
            "GET",
            "exchangerate",
            params={"sourcecurrencycode": code, "asofdate": day.isoformat()},
            realm_id=realm_id,
        )
        rate = _decimal((answer.get("ExchangeRate") or {}).get("Rate"))
        if rate is None or rate <= 0:
            raise QboValidationError(
                f"QuickBooks gave no exchange rate for {code} on {when(day)}. Enter the rate on the order, "
                "then try again.",
                code="currency",
            )
        cache.set(key, rate, CACHE_SECONDS)
    return rate


# --- before sending ----------------------------------------------------------------------------------------


def currency_problem(order: Order) -> str:
    """Why this order can't go to QuickBooks in its buyer's currency, in plain words; "" when it can. May read the
    company's currencies (a GET), never writes."""
    return account_currency_problem(order.buyer) if order.buyer_id else ""


def account_currency_problem(buyer: Account) -> str:
    """Why this account can't be a QuickBooks customer in its currency, in plain words; "" when it can."""
    profile = company_profile()
    code, home = buyer_currency(buyer, profile), profile.home_currency
    if code != home and not profile.multi_currency:
        return _one_currency_company(buyer.name, code, home)
    if code != home and code not in company_currencies(profile.realm_id):
        return (
            f"{buyer.name} pays in {code}, which is not one of the QuickBooks company's currencies. Add {code} in "
            f"QuickBooks (Settings → Currencies) or change the account's currency."
        )
    theirs = customer_currency_in_quickbooks(buyer)
    if theirs and theirs != code:
        return _customer_mismatch(buyer.name, theirs, code)
    return ""


def customer_currency_in_quickbooks(account: Account) -> str:
    """The currency of the buyer's QuickBooks customer as its documents showed it ("" when none is known): a
    customer with transactions keeps its currency."""
    found = (
        Order.objects.filter(buyer=account, qbo_doc_id__isnull=False)
        .exclude(qbo_currency="")
        .order_by("-updated_at")
        .values_list("qbo_currency", flat=True)
        .first()
    )
    return found or ""


def _one_currency_company(name: str, code: str, home: str) -> str:
    return (
        f"{name} pays in {code} but the QuickBooks company works only in {home}: turn on multi-currency in "
        f"QuickBooks or set the account's currency to {home}."
    )


def _customer_mismatch(name: str, theirs: str, code: str) -> str:
    return (
        f"{name} is a {theirs} customer in QuickBooks and already has transactions there, so QuickBooks can't "
        f"change its currency to {code}. Set the account's currency back to {theirs}, or make a new account for "
        f"the {code} business."
    )


def plain_currency_fault(error: QboError, account: Account | None) -> QboError:
    """QuickBooks' currency refusals (a changed customer currency, a document in another currency) in plain words;
    any other error as it is."""
    text = f"{error.detail} {error.message}".lower()
    if account is None or error.kind != "validation" or not any(w in text for w in CURRENCY_FAULT_WORDS):
        return error
    profile = company_profile()
    code = buyer_currency(account, profile)
    if "multicurrency is not turned on" in text:
        message = _one_currency_company(account.name, code, profile.home_currency)
    elif theirs := customer_currency_in_quickbooks(account):
        message = _customer_mismatch(account.name, theirs, code)
    else:
        message = (
            f"{account.name} already has transactions in QuickBooks in another currency, so QuickBooks can't change "
            f"its currency to {code}. Set the account's currency back to the customer's currency in QuickBooks, or "
            f"make a new account for the {code} business."
        )
    return QboValidationError(message, code=error.code, detail=error.detail, status=error.status)


# --- payloads and answers ----------------------------------------------------------------------------------


def document_currency(order: Order) -> dict:
    """CurrencyRef and ExchangeRate for the order's document: nothing in a one-currency company; the rate always
    for a foreign currency (the order's own, else QuickBooks' for the order date)."""
    profile = company_profile()
    if not profile.multi_currency or not order.buyer_id:
        return {}
    code = buyer_currency(order.buyer, profile)
    if code == profile.home_currency:
        return {"CurrencyRef": {"value": code}}
    rate = order.exchange_rate or quickbooks_rate(profile.realm_id, code, order.order_date)
    return {"CurrencyRef": {"value": code}, "ExchangeRate": float(rate.quantize(RATE_PLACES).normalize())}


def store_currency(order: Order, doc: dict) -> list[str]:
    """The document's currency, rate and home total on the order (unsaved); the fields changed."""
    code = str((doc.get("CurrencyRef") or {}).get("value") or "")[:3].upper()
    if not code:
        return []
    rate = _decimal(doc.get("ExchangeRate"))
    order.qbo_currency = code
    order.qbo_exchange_rate = rate.quantize(RATE_PLACES) if rate is not None and 0 < rate < MAX_RATE else None
    order.qbo_home_total = read_cents(doc.get("HomeTotalAmt"))
    return ["qbo_currency", "qbo_exchange_rate", "qbo_home_total"]


def _decimal(value) -> Decimal | None:
    try:
        number = None if value in (None, "") else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number is not None and number.is_finite() else None


# --- showing amounts ---------------------------------------------------------------------------------------
# Every amount is written by kadouri.display.money: `money(amount, order)` in the order's currency
# (Order.currency_code), `money(amount)` in the home currency, read from here (registered in qbo_integration/apps.py).


def home_currency_code() -> str:
    """The company's home currency, the last connected one's after a disconnect (USD before any was read)."""
    return company_profile().home_currency or "USD"


def order_currency_view(order: Order, amount=None, profile: CompanyProfile | None = None) -> dict:
    """What the order page and list show: the total (`amount`, else the order's) in the order's currency, and the
    home equivalent. Once QuickBooks has the document, its own pair: its total (tax included) and HomeTotalAmt;
    else Kadouri's total at the order's own rate."""
    profile = profile or company_profile()
    home = profile.home_currency
    code = order.currency_code or home
    foreign = code != home
    rate = order.qbo_exchange_rate or order.exchange_rate
    if amount is None and order.qbo_home_total is not None and order.qbo_total is not None:
        total, home_total = order.qbo_total, order.qbo_home_total
    else:
        total = order.total if amount is None else Decimal(str(amount))
        home_total = to_cents(total * rate) if rate and foreign else None
    return {
        "code": code,
        "home": home,
        "foreign": foreign,
        "total": display_money(total, code),
        "home_total": display_money(home_total, home) if home_total else "",
        "rate": plain(rate) if rate else "",
        "rate_from": "as QuickBooks booked it"
        if order.qbo_exchange_rate
        else ("the rate entered on the order" if order.exchange_rate else ""),
        "date": when(order.order_date),
    }


# --- forms -------------------------------------------------------------------------------------------------


def currency_choices(current: str = "") -> tuple[list[tuple[str, str]], str]:
    """The account form's currency: (choices, help text); no choices when the company's currencies are not known
    (a three-letter code is typed then). Reads them from QuickBooks at most every CACHE_SECONDS."""
    profile = company_profile()
    home = profile.home_currency
    known: list[str] | None = None
    if profile.pk and not profile.multi_currency:
        known = []  # a one-currency company: the home currency only
    elif profile.pk:
        known = known_company_currencies(profile.realm_id)
        try:
            known = company_currencies(profile.realm_id) if known is None else known
        except QboError:
            known = None
    help_text = f"The currency this buyer pays in. Blank: {home}, the QuickBooks company's home currency." + (
        "" if profile.multi_currency else " The QuickBooks company works only in that currency."
    )
    if known is None:
        return [], help_text + " Type a three-letter code, e.g. CAD."
    codes = [c for c in dict.fromkeys([*known, current]) if c and c != home]
    return [("", f"{home} (home currency)"), *[(c, c) for c in codes]], help_text
