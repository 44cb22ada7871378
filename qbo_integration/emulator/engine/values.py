"""Reading client values and shaping stored ones: money, booleans, dates, refs, JSON, state encoding.

Money is ``Decimal`` inside the engine (quantized to cents where QBO rounds) and JSON numbers on the way out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from .errors import business, invalid_property, invalid_value, too_long

Obj = dict[str, Any]

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
ENVELOPE = frozenset({"Id", "SyncToken", "sparse", "domain", "MetaData"})
DECIMAL_KEYS = frozenset(
    "Amount UnitPrice Qty TotalAmt Balance PurchaseCost QtyOnHand DiscountPercent ExchangeRate TaxInclusiveAmt".split()
)


def names(text: str) -> frozenset[str]:
    """Names written as one space-separated string, to keep the tables short."""
    return frozenset(text.split())


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def to_decimal(value: Any, element: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise invalid_value(element)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise invalid_value(element) from None
    if not number.is_finite():
        raise invalid_value(element)
    return number


def to_bool(value: Any, element: str, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise invalid_value(element)


def to_date(value: Any, element: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise invalid_value(element) from None


def to_int(value: Any, element: str) -> int | None:
    number = to_decimal(value, element)
    if number is None:
        return None
    if number != number.to_integral_value() or number < 0:
        raise invalid_value(element)
    return int(number)


def clean(value: Any) -> Any:
    """Drop ``None``, ``""`` and emptied objects: python-quickbooks sends them for
    unset fields and refs (docs/quickbooks/libraries.md#what-python-quickbooks-sends), and QBO treats them as absent."""
    if isinstance(value, dict):
        cleaned = {k: clean(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v is not None and v != "" and v != {}}
    if isinstance(value, list):
        return [item for item in (clean(v) for v in value) if item != {}]
    return value


def with_decimals(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: with_decimals(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [with_decimals(v, key) for v in value]
    if key in DECIMAL_KEYS and value is not None:
        return to_decimal(value, key)
    return value


def jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


def encode_state(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, dict):
        return {k: encode_state(v) for k, v in value.items()}
    if isinstance(value, list):
        return [encode_state(v) for v in value]
    return value


def decode_state(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$decimal"}:
            return Decimal(value["$decimal"])
        return {k: decode_state(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_state(v) for v in value]
    return value


def ref_value(obj: Obj | None, key: str) -> str | None:
    ref = (obj or {}).get(key)
    return str(ref["value"]) if isinstance(ref, dict) and "value" in ref else None


def fields_of(obj: Obj) -> Obj:
    """An entity without its envelope (Id, SyncToken, MetaData, ...)."""
    return {k: v for k, v in obj.items() if k not in ENVELOPE}


def hidden_of(obj: Obj | None) -> Obj:
    """The engine's own bookkeeping on an object (keys starting with ``_``), never shown to clients."""
    return {k: v for k, v in (obj or {}).items() if k.startswith("_")}


def check_lengths(obj: Obj, limits: dict[str, int]) -> None:
    for field, maximum in limits.items():
        value = obj.get(field)
        if isinstance(value, str) and len(value) > maximum:
            raise too_long(field, maximum, len(value))


def check_separators(obj: Obj, fields: Iterable[str], forbidden: str = ":\t\n") -> None:
    # docs/quickbooks/entities.md#customer, docs/quickbooks/entities.md#item: ':' is the hierarchy separator; tab and
    # newline are refused too.
    for field in fields:
        value = obj.get(field)
        if isinstance(value, str) and any(ch in value for ch in forbidden):
            shown = ", ".join(repr(ch) for ch in forbidden)
            raise business(f"{field} cannot contain {shown}.", field)


def parse_json_body(body: bytes) -> Obj:
    try:
        data = json.loads(body.decode("utf-8") or "null")
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise invalid_property("body", f"Error parsing JSON request body: {error}") from None
    if not isinstance(data, dict):
        raise invalid_property("body", "The request body must be a JSON object")
    return data
