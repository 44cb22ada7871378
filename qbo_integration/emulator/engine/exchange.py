"""Exchange rates (docs/quickbooks/next.md#multicurrency): ``GET /exchangerate?sourcecurrencycode=EUR&asofdate=...``
answers the rate of a company currency to the home currency on a date; ``POST /exchangerate`` sets one.

Rates follow a deterministic table, so tests know the number: a base rate per currency (US dollars per unit)
times a small variation by date, rounded to 6 decimals (``table_rate``). A rate set with ``POST`` wins for its
currency and date. Answers have the shape of Intuit's ExchangeRate object.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from .books import Books
from .entities.currency import company_currency
from .entities.preferences import home_currency
from .errors import QboFault, invalid_value, required, unsupported
from .times import public_time
from .values import Obj, jsonable, parse_json_body, to_date, to_decimal

RATE_PLACES = Decimal("0.000001")
USD_PER_UNIT = {  # base rates, US dollars per unit of each currency
    "USD": Decimal("1"),
    "CAD": Decimal("0.73"),
    "MXN": Decimal("0.055"),
    "EUR": Decimal("1.08"),
    "GBP": Decimal("1.27"),
    "AUD": Decimal("0.66"),
    "NZD": Decimal("0.60"),
    "JPY": Decimal("0.0067"),
    "CNY": Decimal("0.14"),
    "INR": Decimal("0.012"),
    "CHF": Decimal("1.13"),
    "SEK": Decimal("0.095"),
    "NOK": Decimal("0.092"),
    "DKK": Decimal("0.145"),
    "BRL": Decimal("0.18"),
    "ZAR": Decimal("0.055"),
    "SGD": Decimal("0.74"),
    "HKD": Decimal("0.128"),
}


def table_rate(source: str, home: str, day: date) -> Decimal:
    """Home units per unit of ``source`` on ``day``: base(source) / base(home) × (1 + (ordinal mod 21 − 10) / 10000),
    rounded half-up to 6 decimals; 1 for the home currency itself."""
    if source == home:
        return Decimal(1)
    variation = 1 + Decimal((day.toordinal() % 21) - 10) / 10000
    return (USD_PER_UNIT[source] / USD_PER_UNIT[home] * variation).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


def exchange_rate_resource(books: Books, method: str, params: dict[str, str], body: bytes) -> Obj:
    if method == "GET":
        source = (params.get("sourcecurrencycode") or "").upper()
        if not source:
            raise required("sourcecurrencycode")
        day = to_date(params.get("asofdate"), "asofdate") or books.now.date()
        return {"ExchangeRate": _answer(books, source, day, _rate(books, source, day))}
    if method == "POST":
        data = parse_json_body(body)
        source = str(data.get("SourceCurrencyCode") or "").upper()
        if not source:
            raise required("SourceCurrencyCode")
        target = str(data.get("TargetCurrencyCode") or home_currency(books)).upper()
        if target != home_currency(books):
            raise invalid_value("TargetCurrencyCode")
        rate = to_decimal(data.get("Rate"), "Rate")
        if rate is None:
            raise required("Rate")
        if rate <= 0:
            raise invalid_value("Rate")
        day = to_date(data.get("AsOfDate"), "AsOfDate") or books.now.date()
        row = _currency_row(books, source)
        row.setdefault("_rates", {})[day.isoformat()] = rate
        return {"ExchangeRate": _answer(books, source, day, rate)}
    raise unsupported(f"Method {method} is not allowed here", status=405)


def _currency_row(books: Books, source: str) -> Obj:
    row = company_currency(books, source)
    if row is None:
        raise QboFault(
            400,
            "610",
            "Object Not Found",
            f"Object Not Found : {source} is not one of this company's currencies.",
            "SourceCurrencyCode",
        )
    return row


def _rate(books: Books, source: str, day: date) -> Decimal:
    home = home_currency(books)
    if source == home:
        return Decimal(1)
    row = _currency_row(books, source)
    stored = row.get("_rates", {}).get(day.isoformat())
    return stored if stored is not None else table_rate(source, home, day)


def _answer(books: Books, source: str, day: date, rate: Decimal) -> Obj:
    now = public_time(books.stamp_time)
    return jsonable(
        {
            "SourceCurrencyCode": source,
            "TargetCurrencyCode": home_currency(books),
            "Rate": rate,
            "AsOfDate": day.isoformat(),
            "SyncToken": "0",
            "domain": "QBO",
            "sparse": False,
            "MetaData": {"LastUpdatedTime": now},
        }
    )
