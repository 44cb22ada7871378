"""The Accounting API of the QBO emulator: companies, entities, queries, batch, CDC.

A separate system: pure Python, no Django, no network. ``AccountingApi.handle`` takes
what follows ``/v3/company/<realm>/`` and answers ``(http_status, json_dict)`` the way
QuickBooks Online does (``/work/shared/reference/qbo-api.md`` is the source for every
behaviour; section numbers are cited in comments as ``§n``). Authentication, rate
limits, fault injection, webhooks and HTTP live in sibling modules; they observe
changes through the ``on_change`` listener.

Money is ``Decimal`` internally (quantized to cents where QBO rounds) and JSON numbers
on the way out. Every timestamp comes from the shared ``Clock``.

The behaviours chosen where the fact sheet is UNVERIFIED or silent are listed once, in this
package's README.md ("Decisions where the fact sheet is unsure").
"""

from __future__ import annotations

import copy
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, NamedTuple, TypeVar
from urllib.parse import parse_qsl

from . import query as qlang
from .clock import Clock

logger = logging.getLogger(__name__)

ChangeListener = Callable[[str, str, str, str, datetime, dict], None]
T = TypeVar("T")
Obj = dict[str, Any]

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
BATCH_LIMIT = 30  # §3.7
CDC_LOOKBACK = timedelta(days=30)  # §3.8
CDC_LIMIT = 1000  # §3.8
DOC_NUMBER_MAX = 21  # §2.3
REQUEST_ID_MAX = 50  # §3.9
REQUEST_CACHE_LIMIT = 10_000
FIRST_DOC_NUMBER = 1001

ENTITY_PATHS = {
    "customer": "Customer",
    "item": "Item",
    "invoice": "Invoice",
    "estimate": "Estimate",
    "payment": "Payment",
    "account": "Account",
    "term": "Term",
    "companyinfo": "CompanyInfo",
}
ENTITIES = tuple(ENTITY_PATHS.values())
NAME_LISTS = frozenset({"Customer", "Item", "Account", "Term"})
TRANSACTIONS = frozenset({"Invoice", "Estimate", "Payment"})
SALES_FORMS = frozenset({"Invoice", "Estimate"})


def _names(text: str) -> frozenset[str]:
    """Names written as one space-separated string, to keep the tables short."""
    return frozenset(text.split())


# Real QBO entities this emulator does not model: queries and CDC answer empty.
UNMODELLED = _names(
    "Vendor Employee Bill BillPayment CreditMemo SalesReceipt RefundReceipt Deposit "
    "Purchase PurchaseOrder JournalEntry TimeActivity Class Department PaymentMethod "
    "TaxCode TaxRate TaxAgency Transfer VendorCredit Preferences Budget Currency "
    "JournalCode Attachable"
)

_KNOWN_BY_FOLDED_NAME = {name.lower(): name for name in (*ENTITIES, *UNMODELLED)}


def entity_named(name: str) -> str | None:
    """The entity a client means by ``name`` in any letter case (``customer``, ``CUSTOMER``), modelled or not;
    None when QBO has no such entity. QBO reads entity names case-insensitively wherever a client writes one:
    a query's FROM (node-quickbooks sends ``select * from customer``), CDC's ``entities`` and the resource path.
    Answers always use the proper name (``QueryResponse.Customer``)."""
    return _KNOWN_BY_FOLDED_NAME.get(name.lower()) if name.isascii() else None


ENVELOPE = frozenset({"Id", "SyncToken", "sparse", "domain", "MetaData"})
_SALES_WRITABLE = _names(
    "CustomerRef Line TxnDate DueDate DocNumber SalesTermRef PrivateNote CustomerMemo "
    "BillAddr ShipAddr ShipFromAddr BillEmail BillEmailCc BillEmailBcc ShipDate "
    "ShipMethodRef TrackingNum ClassRef DepartmentRef CurrencyRef ExchangeRate "
    "CustomField LinkedTxn PrintStatus EmailStatus ApplyTaxAfterDiscount "
    "GlobalTaxCalculation TaxExemptionRef ProjectRef TransactionLocationType TxnSource "
    "RecurDataRef FreeFormAddress"
)
WRITABLE: dict[str, frozenset[str]] = {
    "Customer": _names(
        "Title GivenName MiddleName FamilyName Suffix DisplayName CompanyName "
        "PrintOnCheckName Active PrimaryPhone AlternatePhone Mobile Fax PrimaryEmailAddr "
        "WebAddr BillAddr ShipAddr OtherAddr Notes Taxable Job BillWithParent ParentRef "
        "SalesTermRef PaymentMethodRef CurrencyRef DefaultTaxCodeRef "
        "PreferredDeliveryMethod ResaleNum PrimaryTaxIdentifier SecondaryTaxIdentifier "
        "ARAccountRef TaxExemptionReasonId OpenBalanceDate CustomerTypeRef "
        "BusinessNumber GSTIN GSTRegistrationType"
    ),
    "Item": _names(
        "Name Description Active SubItem ParentRef UnitPrice Type IncomeAccountRef "
        "ExpenseAccountRef AssetAccountRef PurchaseDesc PurchaseCost Taxable "
        "SalesTaxIncluded PurchaseTaxIncluded SalesTaxCodeRef PurchaseTaxCodeRef "
        "TrackQtyOnHand QtyOnHand InvStartDate Sku ServiceType AbatementRate "
        "ReverseChargeRate ItemCategoryType ReorderPoint PrefVendorRef ClassRef "
        "TaxClassificationRef"
    ),
    "Invoice": _SALES_WRITABLE
    | _names(
        "AllowIPNPayment AllowOnlinePayment AllowOnlineCreditCardPayment "
        "AllowOnlineACHPayment DepositToAccountRef"
    ),
    "Estimate": _SALES_WRITABLE
    | _names("TxnStatus ExpirationDate AcceptedBy AcceptedDate"),
    "Payment": _names(
        "CustomerRef TotalAmt Line TxnDate PaymentRefNum PaymentMethodRef "
        "DepositToAccountRef ARAccountRef PrivateNote CurrencyRef ExchangeRate "
        "CreditCardPayment TxnSource TransactionLocationType TaxExemptionRef "
        "ProcessPayment ProjectRef"
    ),
    "Account": _names(
        "Name AcctNum Description Active SubAccount ParentRef AccountType "
        "AccountSubType CurrencyRef TaxCodeRef AccountAlias TxnLocationType"
    ),
    "Term": _names(
        "Name Active DueDays DiscountPercent DiscountDays DayOfMonthDue "
        "DueNextMonthDays DiscountDayOfMonth"
    ),
    "CompanyInfo": _names(
        "CompanyName LegalName CompanyAddr CustomerCommunicationAddr LegalAddr "
        "CustomerCommunicationEmailAddr PrimaryPhone CompanyStartDate "
        "FiscalYearStartMonth Country Email WebAddr SupportedLanguages NameValue"
    ),
}
# Accepted on input and ignored (§2.9: python-quickbooks sends them).
READ_ONLY: dict[str, frozenset[str]] = {
    "Customer": _names("FullyQualifiedName Balance BalanceWithJobs Level IsProject"),
    "Item": _names("FullyQualifiedName Level"),
    "Invoice": _names(
        "TotalAmt Balance HomeBalance HomeTotalAmt TxnTaxDetail InvoiceLink "
        "DeliveryInfo EInvoiceStatus Deposit"
    ),
    "Estimate": _names("TotalAmt HomeTotalAmt TxnTaxDetail DeliveryInfo"),
    "Payment": _names("UnappliedAmt TxnStatus"),
    "Account": _names(
        "FullyQualifiedName Classification CurrentBalance CurrentBalanceWithSubAccounts"
    ),
    "Term": frozenset({"Type"}),
    "CompanyInfo": frozenset(),
}
DECIMAL_KEYS = _names(
    "Amount UnitPrice Qty TotalAmt Balance PurchaseCost QtyOnHand DiscountPercent "
    "ExchangeRate TaxInclusiveAmt"
)
REF_TARGETS = {
    "CustomerRef": "Customer",
    "ItemRef": "Item",
    "SalesTermRef": "Term",
    "IncomeAccountRef": "Account",
    "ExpenseAccountRef": "Account",
    "AssetAccountRef": "Account",
    "DepositToAccountRef": "Account",
    "ARAccountRef": "Account",
    "DiscountAccountRef": "Account",
}
NAME_FIELD = {"Customer": "DisplayName"}  # other name lists use "Name"

CUSTOMER_NAME_PARTS = ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")
CUSTOMER_LIMITS = {  # §2.1
    "DisplayName": 500,
    "Title": 16,
    "GivenName": 100,
    "MiddleName": 100,
    "FamilyName": 100,
    "Suffix": 16,
    "CompanyName": 100,
    "PrintOnCheckName": 110,
    "Notes": 2000,
}
ITEM_LIMITS = {"Name": 100, "Description": 4000, "Sku": 100}  # §2.2
ACCOUNT_LIMITS = {"Name": 100}  # §2.6
ACCOUNT_CLASSIFICATION = {  # §2.6
    "Bank": "Asset",
    "Other Current Asset": "Asset",
    "Fixed Asset": "Asset",
    "Other Asset": "Asset",
    "Accounts Receivable": "Asset",
    "Equity": "Equity",
    "Expense": "Expense",
    "Other Expense": "Expense",
    "Cost of Goods Sold": "Expense",
    "Accounts Payable": "Liability",
    "Credit Card": "Liability",
    "Long Term Liability": "Liability",
    "Other Current Liability": "Liability",
    "Income": "Revenue",
    "Other Income": "Revenue",
}
ACCOUNT_SUBTYPES = {
    "AccountsReceivable": "Accounts Receivable",
    "UndepositedFunds": "Other Current Asset",
    "SalesOfProductIncome": "Income",
    "ServiceFeeIncome": "Income",
    "OtherPrimaryIncome": "Income",
    "DiscountsRefundsGiven": "Income",
    "Checking": "Bank",
    "Savings": "Bank",
    "SuppliesMaterialsCogs": "Cost of Goods Sold",
    "AccountsPayable": "Accounts Payable",
}
ESTIMATE_STATUSES = frozenset({"Pending", "Accepted", "Closed", "Rejected"})  # §2.4
SEED_ACCOUNTS = (  # "Undeposited Funds" is id 4 as in Intuit's Payment sample (§2.5)
    ("Services", "Income", "ServiceFeeIncome"),
    ("Sales of Product Income", "Income", "SalesOfProductIncome"),
    ("Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable"),
    ("Undeposited Funds", "Other Current Asset", "UndepositedFunds"),
    ("Checking", "Bank", "Checking"),
)
SEED_TERMS = (("Due on receipt", 0), ("Net 15", 15), ("Net 30", 30), ("Net 60", 60))


# ---------------------------------------------------------------------------
# Faults
# ---------------------------------------------------------------------------


class QboFault(Exception):
    """A QBO fault: ``status`` is the HTTP status; ``errors`` is a list of
    ``(code, message, detail, element)``; ``fault_type`` e.g. ``ValidationFault``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        detail: str = "",
        element: str | None = None,
        fault_type: str = "ValidationFault",
    ) -> None:
        super().__init__(f"{code} {message}: {detail}")
        self.status = status
        self.fault_type = fault_type
        self.errors: list[tuple[str, str, str, str | None]] = [
            (code, message, detail, element)
        ]

    @property
    def code(self) -> str:
        return self.errors[0][0]

    def fault(self) -> Obj:
        """The ``Fault`` object (§4.1), as it appears inside batch items too."""
        return {
            "Error": [
                {"Message": m, "Detail": d, "code": c, "element": e or ""}
                for c, m, d, e in self.errors
            ],
            "type": self.fault_type,
        }

    def body(self, now: datetime) -> Obj:
        return {"Fault": self.fault(), "time": _envelope_time(now)}


def _required(element: str) -> QboFault:
    return QboFault(
        400,
        "2020",
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {element} is missing in the request",
        element,
    )


def _invalid_property(element: str, detail: str | None = None) -> QboFault:
    return QboFault(
        400,
        "2010",
        "Request has invalid or unsupported property",
        detail or f"Property Name:{element} specified is unsupported or invalid",
        element,
    )


def _invalid_value(element: str) -> QboFault:
    return _invalid_property(element, f"Property Name:{element} has an invalid value")


def _invalid_ref(element: str, value: str) -> QboFault:
    return QboFault(
        400,
        "2500",
        "Invalid Reference Id",
        f"Invalid Reference Id : {element} {value} does not exist or is inactive. "
        "Check the fields with accounts, customers, items, vendors or employees.",
        element,
    )


def _not_found(entity: str, entity_id: str, deleted: bool = False) -> QboFault:
    reason = (
        "Another user has deleted this transaction."
        if deleted
        else "Something you're trying to use has been made inactive or deleted. "
        "Check the fields with accounts, customers, items, vendors or employees."
    )
    return QboFault(
        400, "610", "Object Not Found", f"Object Not Found : {reason}", f"{entity}.Id"
    )


def _too_long(element: str, maximum: int, supplied: int) -> QboFault:
    return QboFault(
        400,
        "2050",
        "String length is either shorter or longer than supported by specification",
        "String length specified does not match the supported length. "
        f"Min:0 Max:{maximum} supported. Supplied length:{supplied}",
        element,
    )


def _business(detail: str, element: str | None = None) -> QboFault:
    return QboFault(
        400,
        "6000",
        "A business validation error has occurred while processing your request",
        f"Business Validation Error: {detail}",
        element,
    )


def _unsupported(detail: str, status: int = 400) -> QboFault:
    return QboFault(status, "500", "Unsupported Operation", detail)


def _invalid_enum(element: str, value: Any) -> QboFault:
    return QboFault(
        400, "2170", "Invalid Enumeration", f"Invalid Enumeration : {value}", element
    )


def _stale() -> QboFault:  # §3.3
    return QboFault(
        400,
        "5010",
        "Stale Object Error",
        "Stale Object Error : You and Emulator were working on this at the same time. "
        "Emulator finished before you did, so your work was not saved.",
    )


def _duplicate_name(kind: str, existing_id: str) -> QboFault:  # §2.1, §2.2
    return QboFault(
        400,
        "6240",
        "Duplicate Name Exists Error",
        f"The name supplied already exists. : Another {kind} is already using this "
        f"name. Please use a different name. Id={existing_id}",
    )


# ---------------------------------------------------------------------------
# Value helpers
# ---------------------------------------------------------------------------


def _envelope_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _stored_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _public_time(stored: str) -> str:
    return datetime.fromisoformat(stored).isoformat(timespec="seconds")


def _parse_instant(text: str) -> datetime | None:
    # An unencoded "+" in a query string arrives as a space before the offset.
    text = re.sub(r" (\d{2}:?\d{2})$", r"+\1", text.strip())
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _decimal(value: Any, element: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise _invalid_value(element)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise _invalid_value(element) from None
    if not number.is_finite():
        raise _invalid_value(element)
    return number


def _bool(value: Any, element: str, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _invalid_value(element)


def _date(value: Any, element: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise _invalid_value(element) from None


def _int(value: Any, element: str) -> int | None:
    number = _decimal(value, element)
    if number is None:
        return None
    if number != number.to_integral_value() or number < 0:
        raise _invalid_value(element)
    return int(number)


def _clean(value: Any) -> Any:
    """Drop ``None``, ``""`` and emptied objects: python-quickbooks sends them for
    unset fields and refs (§2.9), and QBO treats them as absent."""
    if isinstance(value, dict):
        cleaned = {k: _clean(v) for k, v in value.items()}
        return {
            k: v for k, v in cleaned.items() if v is not None and v != "" and v != {}
        }
    if isinstance(value, list):
        return [item for item in (_clean(v) for v in value) if item != {}]
    return value


def _with_decimals(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _with_decimals(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_decimals(v, key) for v in value]
    if key in DECIMAL_KEYS and value is not None:
        return _decimal(value, key)
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _encode_state(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, dict):
        return {k: _encode_state(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode_state(v) for v in value]
    return value


def _decode_state(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$decimal"}:
            return Decimal(value["$decimal"])
        return {k: _decode_state(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode_state(v) for v in value]
    return value


def _ref_value(obj: Obj | None, key: str) -> str | None:
    ref = (obj or {}).get(key)
    return str(ref["value"]) if isinstance(ref, dict) and "value" in ref else None


def _fields_of(obj: Obj) -> Obj:
    """An entity without its envelope (Id, SyncToken, MetaData, ...)."""
    return {k: v for k, v in obj.items() if k not in ENVELOPE}


def _hidden_of(obj: Obj | None) -> Obj:
    return {k: v for k, v in (obj or {}).items() if k.startswith("_")}


def _check_lengths(obj: Obj, limits: dict[str, int]) -> None:
    for field, maximum in limits.items():
        value = obj.get(field)
        if isinstance(value, str) and len(value) > maximum:
            raise _too_long(field, maximum, len(value))


def _check_separators(
    obj: Obj, fields: Iterable[str], forbidden: str = ":\t\n"
) -> None:
    # §2.1/§2.2: ':' is the hierarchy separator; tab and newline are refused too.
    for field in fields:
        value = obj.get(field)
        if isinstance(value, str) and any(ch in value for ch in forbidden):
            shown = ", ".join(repr(ch) for ch in forbidden)
            raise _business(f"{field} cannot contain {shown}.", field)


def _parse_json_body(body: bytes) -> Obj:
    try:
        data = json.loads(body.decode("utf-8") or "null")
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _invalid_property(
            "body", f"Error parsing JSON request body: {error}"
        ) from None
    if not isinstance(data, dict):
        raise _invalid_property("body", "The request body must be a JSON object")
    return data


def _check_properties(entity: str, body: Obj) -> None:
    allowed = WRITABLE[entity] | READ_ONLY[entity] | ENVELOPE
    for key in body:
        if key not in allowed:
            raise _invalid_property(key)


class _Event(NamedTuple):
    entity: str
    entity_id: str
    operation: str
    when: datetime
    extra: dict[str, str]


# ---------------------------------------------------------------------------
# Company state
# ---------------------------------------------------------------------------


class Company:
    """One QBO company (realm): entities per type, id and DocNumber sequences, the
    deletion log CDC reads, and the requestid cache. Guard mutations with ``lock``."""

    def __init__(self, realm_id: str, name: str, clock: Clock) -> None:
        self.realm_id = realm_id
        self.name = name
        self.clock = clock
        self.lock = threading.RLock()
        self.entities: dict[str, dict[str, Obj]] = {e: {} for e in ENTITIES}
        self.next_ids: dict[str, int] = {e: 1 for e in ENTITIES}
        self.next_doc_numbers: dict[str, int] = {
            e: FIRST_DOC_NUMBER for e in SALES_FORMS
        }
        self.deleted: list[dict[str, str]] = []  # {"entity", "Id", "time"}
        self.responses: dict[str, list[Any]] = {}  # requestid -> [status, body]

    def remember(self, request_id: str, status: int, body: Obj) -> None:
        self.responses[request_id] = [status, copy.deepcopy(body)]
        while len(self.responses) > REQUEST_CACHE_LIMIT:
            del self.responses[next(iter(self.responses))]

    def to_state(self) -> Obj:
        return {
            "realmId": self.realm_id,
            "name": self.name,
            "entities": _encode_state(self.entities),
            "nextIds": dict(self.next_ids),
            "nextDocNumbers": dict(self.next_doc_numbers),
            "deleted": copy.deepcopy(self.deleted),
            "responses": copy.deepcopy(self.responses),
        }

    @classmethod
    def from_state(cls, data: Obj, clock: Clock) -> Company:
        try:
            company = cls(str(data["realmId"]), str(data["name"]), clock)
            entities = _decode_state(data["entities"])
            for entity in ENTITIES:
                company.entities[entity] = dict(entities.get(entity, {}))
                company.next_ids[entity] = int(data["nextIds"].get(entity, 1))
            for entity in SALES_FORMS:
                stored = data["nextDocNumbers"].get(entity, FIRST_DOC_NUMBER)
                company.next_doc_numbers[entity] = int(stored)
            company.deleted = [dict(d) for d in data["deleted"]]
            company.responses = {str(k): list(v) for k, v in data["responses"].items()}
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ValueError(f"invalid company state: {error!r}") from None
        return company


# ---------------------------------------------------------------------------
# The books: one request's validation, mutation, derived values and events
# ---------------------------------------------------------------------------


class _Books:
    def __init__(self, company: Company, now: datetime, events: list[_Event]) -> None:
        self.company = company
        self.now = now
        self.stamp_time = _stored_time(now)
        self.events = events
        self._touched: set[tuple[str, str]] = set()

    # --- lookups ----------------------------------------------------------

    def table(self, entity: str) -> dict[str, Obj]:
        return self.company.entities[entity]

    def rows(self, entity: str) -> list[Obj]:
        return sorted(self.table(entity).values(), key=lambda o: int(o["Id"]))

    def find(self, entity: str, entity_id: Any) -> Obj:
        key = str(entity_id)
        obj = self.table(entity).get(key)
        if obj is None:
            deleted = any(
                d["entity"] == entity and d["Id"] == key for d in self.company.deleted
            )
            raise _not_found(entity, key, deleted)
        return obj

    def resolve_ref(
        self, entity: str, ref: Any, element: str, keep: Iterable[str | None] = ()
    ) -> Obj:
        """A clean ``{"value": id}`` to an existing, active object (2500 otherwise);
        ids in ``keep`` (already on the object being updated) may be inactive."""
        if not isinstance(ref, dict) or "value" not in ref:
            raise (
                _required(f"{element}.value")
                if ref is None
                else _invalid_ref(element, str(ref))
            )
        value = str(ref["value"])
        target = self.table(entity).get(value)
        if target is None or (target.get("Active") is False and value not in set(keep)):
            raise _invalid_ref(element, value)
        return {"value": value}

    def versioned(self, entity: str, body: Obj) -> Obj:
        """The object named by ``body`` after the Id/SyncToken checks (§3.3)."""
        if body.get("Id") in (None, ""):
            raise _required("Id")
        obj = self.find(entity, body["Id"])
        if body.get("SyncToken") in (None, ""):
            raise _required("SyncToken")
        if str(body["SyncToken"]) != obj["SyncToken"]:
            raise _stale()
        return obj

    def name_of(self, entity: str, entity_id: str) -> str | None:
        obj = self.table(entity).get(entity_id)
        return None if obj is None else obj.get(NAME_FIELD.get(entity, "Name"))

    # --- writes ---------------------------------------------------------------

    def emit(self, entity: str, entity_id: str, operation: str, **extra: str) -> None:
        self.events.append(_Event(entity, entity_id, operation, self.now, extra))

    def insert(self, entity: str, fields: Obj) -> Obj:
        entity_id = str(self.company.next_ids[entity])
        self.company.next_ids[entity] += 1
        stored = {
            "Id": entity_id,
            "SyncToken": "0",
            "domain": "QBO",
            "sparse": False,
            **fields,
            "MetaData": {
                "CreateTime": self.stamp_time,
                "LastUpdatedTime": self.stamp_time,
            },
        }
        self.table(entity)[entity_id] = stored
        self._touched.add((entity, entity_id))
        self.emit(entity, entity_id, "Create")
        return stored

    def replace(
        self,
        entity: str,
        old: Obj,
        fields: Obj,
        operation: str | None = "Update",
        **extra: str,
    ) -> Obj:
        """Store a new version of ``old``: SyncToken +1 and one event per request
        (``operation=None`` bumps without an event)."""
        stored = {
            "Id": old["Id"],
            "SyncToken": old["SyncToken"],
            "domain": "QBO",
            "sparse": False,
            **fields,
            "MetaData": dict(old["MetaData"]),
        }
        key = (entity, old["Id"])
        if key not in self._touched:
            self._touched.add(key)
            stored["SyncToken"] = str(int(old["SyncToken"]) + 1)
            stored["MetaData"]["LastUpdatedTime"] = self.stamp_time
            if operation:
                self.emit(entity, old["Id"], operation, **extra)
        self.table(entity)[old["Id"]] = stored
        return stored

    def create(
        self, entity: str, body: Obj, include: frozenset[str] = frozenset()
    ) -> Obj:
        if entity == "CompanyInfo":
            raise _unsupported("CompanyInfo cannot be created; update it instead")
        prepared = _with_decimals(_clean(body))
        fields = {k: v for k, v in prepared.items() if k in WRITABLE[entity]}
        built = self.build(entity, fields, None, prepared, include)
        stored = self.insert(entity, built)
        self.after_write(entity, None, stored)
        return self.render(entity, stored)

    def update(
        self, entity: str, body: Obj, include: frozenset[str] = frozenset()
    ) -> Obj:
        old = self.versioned(entity, body)
        if old.get("_voided"):
            raise _business(
                "This transaction has been voided and can no longer be changed."
            )
        prepared = _with_decimals(_clean(body))
        fields = {k: v for k, v in prepared.items() if k in WRITABLE[entity]}
        if _bool(body.get("sparse"), "sparse", False):  # §3.3: only the sent fields
            kept = {k: v for k, v in old.items() if k in WRITABLE[entity]}
            fields = {**copy.deepcopy(kept), **fields}
        built = self.build(entity, fields, old, prepared, include)
        stored = self.replace(entity, old, {**_hidden_of(old), **built})
        self.after_write(entity, old, stored)
        return self.render(entity, stored)

    def delete(self, entity: str, body: Obj) -> Obj:
        if entity not in TRANSACTIONS:  # §3.4: names are only made inactive
            raise _unsupported(f"Operation delete is not supported for {entity}")
        obj = self.versioned(entity, body)
        self.check_unlinked(entity, obj, "delete")
        del self.table(entity)[obj["Id"]]
        self.company.deleted.append(
            {"entity": entity, "Id": obj["Id"], "time": self.stamp_time}
        )
        self.emit(entity, obj["Id"], "Delete")
        self.after_write(entity, obj, None)
        return {"status": "Deleted", "domain": "QBO", "Id": obj["Id"]}

    def void(self, entity: str, body: Obj) -> Obj:
        if entity not in ("Invoice", "Payment"):
            raise _unsupported(f"Operation void is not supported for {entity}")
        old = self.versioned(entity, body)
        if old.get("_voided"):
            raise _business("This transaction has already been voided.")
        self.check_unlinked(entity, old, "void")
        fields = _voided_fields(entity, old)
        stored = self.replace(entity, old, fields, "Void")
        self.after_write(entity, old, stored)
        return self.render(entity, stored)

    def check_unlinked(self, entity: str, obj: Obj, verb: str) -> None:
        # §3.4: "Invoice: unlink linked transactions first".
        if entity == "Invoice" and self.applied_to_invoice(obj["Id"]):
            raise _business(
                f"You can't {verb} this invoice because payments are applied to it. "
                "Delete or void the payments first."
            )
        if entity == "Estimate" and any(
            link.get("TxnType") == "Invoice" for link in obj.get("LinkedTxn", [])
        ):
            raise _business(
                f"You can't {verb} this estimate because an invoice is linked to it."
            )

    # --- builders -------------------------------------------------------------

    def build(
        self,
        entity: str,
        fields: Obj,
        old: Obj | None,
        body: Obj,
        include: frozenset[str],
    ) -> Obj:
        builders: dict[str, Callable[[Obj, Obj | None], Obj]] = {
            "Customer": lambda f, o: self.build_customer(f, o, body),
            "Item": self.build_item,
            "Account": self.build_account,
            "Term": self.build_term,
            "CompanyInfo": self.build_company_info,
            "Invoice": lambda f, o: self.build_sales_form("Invoice", f, o, include),
            "Estimate": lambda f, o: self.build_sales_form("Estimate", f, o, include),
            "Payment": self.build_payment,
        }
        return builders[entity](fields, old)

    def check_unique_name(
        self, entity: str, name: str, own_id: str | None, kind: str
    ) -> None:
        field = NAME_FIELD.get(entity, "Name")
        folded = name.casefold()
        for other in self.table(entity).values():
            if other["Id"] == own_id or other.get("_merged_into"):
                continue
            if str(other.get(field, "")).casefold() == folded:
                raise _duplicate_name(kind, other["Id"])

    def check_parent(self, entity: str, obj: Obj, old: Obj | None) -> bool:
        """Validate ``ParentRef`` (sub-customers, sub-items, sub-accounts)."""
        if "ParentRef" not in obj:
            return False
        own_id = old["Id"] if old else None
        ref = self.resolve_ref(
            entity, obj["ParentRef"], "ParentRef", [_ref_value(old, "ParentRef")]
        )
        depth, cursor = 1, self.table(entity)[ref["value"]]
        while True:
            if cursor["Id"] == own_id:
                raise _business("An object cannot be its own parent.", "ParentRef")
            parent_id = _ref_value(cursor, "ParentRef")
            if parent_id is None or parent_id not in self.table(entity):
                break
            depth, cursor = depth + 1, self.table(entity)[parent_id]
        if depth > 4:  # §2.1: up to 4 levels below the top
            raise _business("Sub-levels are limited to 4 below the top.", "ParentRef")
        obj["ParentRef"] = ref
        return True

    def build_customer(self, fields: Obj, old: Obj | None, body: Obj) -> Obj:
        obj = dict(fields)
        _check_lengths(obj, CUSTOMER_LIMITS)
        _check_separators(
            obj, ("DisplayName", *CUSTOMER_NAME_PARTS, "PrintOnCheckName")
        )
        if not obj.get("DisplayName"):  # §2.1: built from the name parts
            parts = [str(obj[p]) for p in CUSTOMER_NAME_PARTS if obj.get(p)]
            if not parts:
                raise QboFault(
                    400,
                    "6080",
                    "No name provided",
                    "Business Validation Error: Please supply a DisplayName or at "
                    "least one of Title, GivenName, MiddleName, FamilyName, Suffix.",
                    "DisplayName",
                )
            obj["DisplayName"] = " ".join(parts)
            _check_lengths(obj, {"DisplayName": CUSTOMER_LIMITS["DisplayName"]})
        own_id = old["Id"] if old else None
        self.check_unique_name(
            "Customer", obj["DisplayName"], own_id, "customer, vendor or employee"
        )
        obj["Active"] = _bool(obj.get("Active"), "Active", True)
        obj["Job"] = self.check_parent("Customer", obj, old)
        if "SalesTermRef" in obj:
            obj["SalesTermRef"] = self.resolve_ref(
                "Term",
                obj["SalesTermRef"],
                "SalesTermRef",
                [_ref_value(old, "SalesTermRef")],
            )
        if old is None:  # §2.1: Balance is an opening balance, write-on-create
            opening = _decimal(body.get("Balance"), "Balance") or ZERO
            obj["_opening_balance"] = _cents(opening)
        return obj

    def build_item(self, fields: Obj, old: Obj | None) -> Obj:
        obj = dict(fields)
        if not obj.get("Name"):
            raise _required("Name")
        obj["Name"] = str(obj["Name"])
        _check_lengths(obj, ITEM_LIMITS)
        _check_separators(obj, ("Name",))
        self.check_unique_name(
            "Item", obj["Name"], old["Id"] if old else None, "product or service"
        )
        item_type = obj.get("Type")
        if not item_type:  # §2.2: Type must be explicit since minorversion 4
            raise _required("Type")
        if item_type in ("Inventory", "Category", "Group"):
            raise _unsupported(f"The emulator does not support Item Type {item_type}")
        if item_type not in ("Service", "NonInventory"):
            raise _invalid_enum("Type", item_type)
        for key in ("IncomeAccountRef", "ExpenseAccountRef", "AssetAccountRef"):
            if key in obj:
                obj[key] = self.resolve_ref(
                    "Account", obj[key], key, [_ref_value(old, key)]
                )
        if item_type == "Service" and "IncomeAccountRef" not in obj:  # §2.2
            raise _required("IncomeAccountRef")
        obj["UnitPrice"] = _decimal(obj.get("UnitPrice"), "UnitPrice") or Decimal(0)
        obj["Active"] = _bool(obj.get("Active"), "Active", True)
        obj["Taxable"] = _bool(obj.get("Taxable"), "Taxable", False)
        obj["TrackQtyOnHand"] = _bool(
            obj.get("TrackQtyOnHand"), "TrackQtyOnHand", False
        )
        obj["SubItem"] = self.check_parent("Item", obj, old)
        return obj

    def build_account(self, fields: Obj, old: Obj | None) -> Obj:
        obj = dict(fields)
        if not obj.get("Name"):
            raise _required("Name")
        _check_lengths(obj, ACCOUNT_LIMITS)
        _check_separators(obj, ("Name",), ':"\t\n')  # §2.6: no '"' or ':'
        _check_separators(obj, ("AcctNum",), ":")
        self.check_unique_name(
            "Account", obj["Name"], old["Id"] if old else None, "account"
        )
        account_type = obj.get("AccountType")
        if account_type is None:
            account_type = ACCOUNT_SUBTYPES.get(str(obj.get("AccountSubType")))
        if account_type is None:  # §2.6
            raise QboFault(
                400,
                "6010",
                "Invalid account type",
                "Invalid Account.AccountType && Account.SubType",
                "AccountType",
            )
        if account_type not in ACCOUNT_CLASSIFICATION:
            raise _invalid_enum("AccountType", account_type)
        obj["AccountType"] = account_type
        obj["Active"] = _bool(obj.get("Active"), "Active", True)
        obj["SubAccount"] = self.check_parent("Account", obj, old)
        return obj

    def build_term(self, fields: Obj, old: Obj | None) -> Obj:
        obj = dict(fields)
        if not obj.get("Name"):
            raise _required("Name")
        self.check_unique_name(
            "Term", str(obj["Name"]), old["Id"] if old else None, "term"
        )
        for key in ("DueDays", "DiscountDays", "DayOfMonthDue", "DueNextMonthDays"):
            if key in obj:
                obj[key] = _int(obj[key], key)
        obj["Active"] = _bool(obj.get("Active"), "Active", True)
        obj["Type"] = "DATE_DRIVEN" if "DayOfMonthDue" in obj else "STANDARD"
        return obj

    def build_company_info(self, fields: Obj, old: Obj | None) -> Obj:
        if not fields.get("CompanyName"):
            raise _required("CompanyName")
        return dict(fields)

    # --- sales forms (Invoice, Estimate) --------------------------------------

    def build_sales_form(
        self, entity: str, fields: Obj, old: Obj | None, include: frozenset[str]
    ) -> Obj:
        obj = dict(fields)
        if "CustomerRef" not in obj:
            raise _required("CustomerRef")
        obj["CustomerRef"] = self.resolve_ref(
            "Customer",
            obj["CustomerRef"],
            "CustomerRef",
            [_ref_value(old, "CustomerRef")],
        )
        customer = self.table("Customer")[obj["CustomerRef"]["value"]]
        obj["Line"], obj["TotalAmt"] = self.build_lines(obj.get("Line"), old)
        txn_date = _date(obj.get("TxnDate"), "TxnDate") or self.now.date()
        obj["TxnDate"] = txn_date.isoformat()
        obj["DueDate"] = self.due_date(obj, customer, txn_date, old)
        obj["DocNumber"] = self.doc_number(entity, obj.get("DocNumber"), old, include)
        obj.setdefault("PrintStatus", "NotSet")
        obj.setdefault("EmailStatus", "NotSet")
        obj["ApplyTaxAfterDiscount"] = _bool(
            obj.get("ApplyTaxAfterDiscount"), "ApplyTaxAfterDiscount", False
        )
        obj["TxnTaxDetail"] = {"TotalTax": ZERO}
        for address in ("BillAddr", "ShipAddr"):  # §2.3: copied from the customer
            if address not in obj and address in customer:
                obj[address] = copy.deepcopy(customer[address])
        if entity == "Invoice":
            self.finish_invoice(obj, old)
        else:
            self.finish_estimate(obj, old)
        return obj

    def due_date(self, obj: Obj, customer: Obj, txn_date: date, old: Obj | None) -> str:
        given = _date(obj.get("DueDate"), "DueDate")
        if "SalesTermRef" in obj:
            obj["SalesTermRef"] = self.resolve_ref(
                "Term",
                obj["SalesTermRef"],
                "SalesTermRef",
                [_ref_value(old, "SalesTermRef")],
            )
        if given is not None:
            return given.isoformat()
        term_id = _ref_value(obj, "SalesTermRef") or _ref_value(
            customer, "SalesTermRef"
        )
        term = self.table("Term").get(term_id or "")
        days = int(term.get("DueDays") or 0) if term else 0  # §2.3: TxnDate + term days
        return (txn_date + timedelta(days=days)).isoformat()

    def doc_number(
        self, entity: str, given: Any, old: Obj | None, include: frozenset[str]
    ) -> str:
        if given is None and old is not None and old.get("DocNumber"):
            return str(old["DocNumber"])
        text = "AUTO_GENERATE" if given is None else str(given)
        numbers = {
            str(o["DocNumber"]): o["Id"]
            for o in self.table(entity).values()
            if o.get("DocNumber") and (old is None or o["Id"] != old["Id"])
        }
        if text == "AUTO_GENERATE":  # §2.3
            candidate = self.company.next_doc_numbers[entity]
            while str(candidate) in numbers:
                candidate += 1
            return str(candidate)
        if len(text) > DOC_NUMBER_MAX:
            raise _too_long("DocNumber", DOC_NUMBER_MAX, len(text))
        if text in numbers and "allowduplicatedocnum" not in include:
            raise QboFault(
                400,
                "6140",
                "Duplicate Doc Num",
                "Duplicate Document Number Error : You must specify a different number. "
                f"This number has already been used. DocNumber={text} is assigned to "
                f"TxnType={entity} with TxnId={numbers[text]}",
                "DocNumber",
            )
        return text

    def build_lines(self, lines: Any, old: Obj | None) -> tuple[list[Obj], Decimal]:
        if not isinstance(lines, list):
            lines = []
        old_items = {
            _ref_value(line.get("SalesItemLineDetail"), "ItemRef")
            for line in (old or {}).get("Line", [])
        }
        built: list[Obj] = []
        for raw in lines:
            if not isinstance(raw, dict):
                raise _invalid_value("Line")
            detail_type = raw.get("DetailType")
            if detail_type == "SubTotalLineDetail":
                continue  # §2.3: QBO computes the subtotal line itself
            line = {k: v for k, v in raw.items() if k not in ("Id", "LineNum")}
            if detail_type == "SalesItemLineDetail":
                self.sales_line(line, old_items)
            elif detail_type == "DescriptionOnly":
                line["Amount"] = _cents(
                    _decimal(line.get("Amount"), "Line.Amount") or ZERO
                )
            elif detail_type == "DiscountLineDetail":
                pass  # needs the subtotal, computed below
            elif detail_type is None:
                raise _required("Line.DetailType")
            elif detail_type == "GroupLineDetail":
                raise _unsupported(f"The emulator does not support {detail_type} lines")
            else:
                raise _invalid_enum("Line.DetailType", detail_type)
            built.append(line)
        if not any(line["DetailType"] != "DiscountLineDetail" for line in built):
            raise _required("Line")  # §2.3: at least one line
        subtotal = _subtotal(built)
        discount = sum(
            (
                self.discount_line(line, subtotal)
                for line in built
                if line["DetailType"] == "DiscountLineDetail"
            ),
            ZERO,
        )
        for number, line in enumerate(built, start=1):
            line["Id"], line["LineNum"] = str(number), number
        return built, _cents(subtotal - discount)

    def sales_line(self, line: Obj, old_items: set[str | None]) -> None:
        detail = line.get("SalesItemLineDetail")
        if not isinstance(detail, dict) or "ItemRef" not in detail:
            raise _required("Line.SalesItemLineDetail.ItemRef")
        detail = dict(detail)
        detail["ItemRef"] = self.resolve_ref(
            "Item", detail["ItemRef"], "ItemRef", old_items
        )
        amount = _decimal(line.get("Amount"), "Line.Amount")
        if amount is None:
            raise _required("Line.Amount")
        qty = _decimal(detail.get("Qty"), "Qty")
        price = _decimal(detail.get("UnitPrice"), "UnitPrice")
        if qty == 0 and price == 0:  # python-quickbooks' defaults (§2.9): not given
            del detail["Qty"], detail["UnitPrice"]
        elif (
            qty is not None
            and price is not None
            and _cents(qty * price) != _cents(amount)
        ):
            raise QboFault(  # §2.3
                400,
                "6070",
                "Amount calculation incorrect in the request",
                f"Amount is not equal to UnitPrice * Qty. Supplied value:{amount}",
                "Line.Amount",
            )
        line["Amount"] = _cents(amount)
        line["SalesItemLineDetail"] = detail

    def discount_line(self, line: Obj, subtotal: Decimal) -> Decimal:
        detail = dict(line.get("DiscountLineDetail") or {})
        if "DiscountAccountRef" in detail:
            detail["DiscountAccountRef"] = self.resolve_ref(
                "Account", detail["DiscountAccountRef"], "DiscountAccountRef"
            )
        if _bool(detail.get("PercentBased"), "PercentBased", False):
            percent = _decimal(detail.get("DiscountPercent"), "DiscountPercent") or ZERO
            amount = _cents(subtotal * percent / 100)
        else:
            amount = _cents(_decimal(line.get("Amount"), "Line.Amount") or ZERO)
        line["Amount"], line["DiscountLineDetail"] = amount, detail
        return amount

    def finish_invoice(self, obj: Obj, old: Obj | None) -> None:
        estimates = self.estimate_links(obj.get("LinkedTxn", []))
        applied = self.applied_to_invoice(old["Id"]) if old else {}
        paid = sum(applied.values(), ZERO)
        if paid > obj["TotalAmt"]:
            raise _business(
                f"The invoice total can't be less than the payments applied ({paid})."
            )
        obj["Balance"] = _cents(obj["TotalAmt"] - paid)
        obj["Deposit"] = ZERO
        obj["LinkedTxn"] = estimates + _payment_links(applied)

    def estimate_links(self, links: Any) -> list[Obj]:
        result: list[Obj] = []
        for link in links if isinstance(links, list) else []:
            txn_type = link.get("TxnType") if isinstance(link, dict) else None
            if txn_type == "Payment":
                continue  # §2.3: payment links are read-only, set by payments
            if txn_type != "Estimate":
                raise _unsupported(f"Linking an Invoice to {txn_type} is not supported")
            txn_id = str(link.get("TxnId", ""))
            if txn_id not in self.table("Estimate"):
                raise _invalid_ref("LinkedTxn", txn_id)
            if not any(r["TxnId"] == txn_id for r in result):
                result.append({"TxnId": txn_id, "TxnType": "Estimate"})
        if len(result) > 1:  # §2.3: only one Estimate link per invoice
            raise _business(
                "An invoice can be linked to only one estimate.", "LinkedTxn"
            )
        return result

    def finish_estimate(self, obj: Obj, old: Obj | None) -> None:
        status = obj.get("TxnStatus", "Pending")
        if status not in ESTIMATE_STATUSES:
            raise _invalid_enum("TxnStatus", status)
        obj["TxnStatus"] = status
        for key in ("ExpirationDate", "AcceptedDate"):
            day = _date(obj.get(key), key)
            if day is not None:
                obj[key] = day.isoformat()
        # Links to invoices are made by the invoices (§2.4), never by the client.
        obj["LinkedTxn"] = copy.deepcopy((old or {}).get("LinkedTxn", []))

    # --- payments ---------------------------------------------------------------

    def build_payment(self, fields: Obj, old: Obj | None) -> Obj:
        obj = dict(fields)
        if "CustomerRef" not in obj:
            raise _required("CustomerRef")
        obj["CustomerRef"] = self.resolve_ref(
            "Customer",
            obj["CustomerRef"],
            "CustomerRef",
            [_ref_value(old, "CustomerRef")],
        )
        total = _decimal(obj.get("TotalAmt"), "TotalAmt")
        if total is None:  # §2.5: TotalAmt and CustomerRef are required
            raise _required("TotalAmt")
        if total < 0:
            raise _business("The payment amount can't be negative.", "TotalAmt")
        lines, applied = self.payment_lines(obj.get("Line", []), obj, old)
        if sum(applied.values(), ZERO) > total:
            raise _business(
                "The amounts applied to invoices exceed the payment's TotalAmt.", "Line"
            )
        obj["TotalAmt"] = _cents(total)
        obj["UnappliedAmt"] = _cents(total - sum(applied.values(), ZERO))  # §2.5
        obj["Line"] = lines
        txn_date = _date(obj.get("TxnDate"), "TxnDate") or self.now.date()
        obj["TxnDate"] = txn_date.isoformat()
        obj["ProcessPayment"] = _bool(
            obj.get("ProcessPayment"), "ProcessPayment", False
        )
        self.deposit_account(obj, old)
        return obj

    def payment_lines(
        self, lines: Any, payment: Obj, old: Obj | None
    ) -> tuple[list[Obj], dict[str, Decimal]]:
        customer_id = payment["CustomerRef"]["value"]
        applied: dict[str, Decimal] = {}
        built: list[Obj] = []
        for raw in lines if isinstance(lines, list) else []:
            if not isinstance(raw, dict):
                raise _invalid_value("Line")
            amount = _decimal(raw.get("Amount"), "Line.Amount")
            if amount is None:
                raise _required("Line.Amount")
            if amount < 0:  # §2.5: line amounts are non-negative
                raise _business(
                    "A payment line amount can't be negative.", "Line.Amount"
                )
            links = raw.get("LinkedTxn") or []
            if (
                not isinstance(links, list)
                or len(links) != 1
                or not isinstance(links[0], dict)
            ):
                raise _required("Line.LinkedTxn")
            if links[0].get("TxnType") != "Invoice":
                raise _unsupported(
                    f"The emulator applies payments to Invoices only, not "
                    f"{links[0].get('TxnType')}"
                )
            invoice_id = str(links[0].get("TxnId", ""))
            invoice = self.table("Invoice").get(invoice_id)
            if invoice is None:
                raise _invalid_ref("Line.LinkedTxn.TxnId", invoice_id)
            if _ref_value(invoice, "CustomerRef") != customer_id:
                raise _business(
                    f"Invoice {invoice_id} belongs to another customer.",
                    "Line.LinkedTxn",
                )
            applied[invoice_id] = applied.get(invoice_id, ZERO) + _cents(amount)
            built.append(
                {
                    "Amount": _cents(amount),
                    "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}],
                }
            )
        for invoice_id, amount in applied.items():
            self.check_open_balance(invoice_id, amount, old)
        return built, applied

    def check_open_balance(
        self, invoice_id: str, amount: Decimal, old: Obj | None
    ) -> None:
        invoice = self.table("Invoice")[invoice_id]
        others = self.applied_to_invoice(invoice_id, exclude=old["Id"] if old else None)
        open_balance = invoice["TotalAmt"] - sum(others.values(), ZERO)
        if invoice.get("_voided"):
            open_balance = ZERO
        if amount > open_balance:
            raise _business(
                f"The amount applied to invoice {invoice_id} ({amount}) exceeds its "
                f"open balance ({_cents(open_balance)}).",
                "Line.Amount",
            )

    def deposit_account(self, obj: Obj, old: Obj | None) -> None:
        if "DepositToAccountRef" in obj:
            obj["DepositToAccountRef"] = self.resolve_ref(
                "Account",
                obj["DepositToAccountRef"],
                "DepositToAccountRef",
                [_ref_value(old, "DepositToAccountRef")],
            )
            return
        for account in self.rows("Account"):  # §2.5: defaults to Undeposited Funds
            if (
                account.get("AccountSubType") == "UndepositedFunds"
                and account["Active"]
            ):
                obj["DepositToAccountRef"] = {"value": account["Id"]}
                return

    def applied_to_invoice(
        self, invoice_id: str, exclude: str | None = None
    ) -> dict[str, Decimal]:
        """Payment id -> amount currently applied to the invoice (non-zero only)."""
        applied: dict[str, Decimal] = {}
        for payment in self.rows("Payment"):
            if payment["Id"] == exclude:
                continue
            for line in payment.get("Line", []):
                for link in line.get("LinkedTxn", []):
                    if (
                        link.get("TxnType") == "Invoice"
                        and link.get("TxnId") == invoice_id
                    ):
                        applied[payment["Id"]] = (
                            applied.get(payment["Id"], ZERO) + line["Amount"]
                        )
        return {k: v for k, v in applied.items() if v != 0}

    # --- side effects -----------------------------------------------------------

    def after_write(self, entity: str, old: Obj | None, new: Obj | None) -> None:
        """Propagate a committed change to linked transactions (each stamped once)."""
        if entity in SALES_FORMS and new is not None:
            self.advance_doc_number(entity, str(new.get("DocNumber", "")))
        if entity == "Invoice":
            invoice_id = (new or old or {})["Id"]
            before = _linked_ids(old, "Estimate")
            after = _linked_ids(new, "Estimate")
            for estimate_id in sorted(after - before):
                self.link_estimate(estimate_id, invoice_id)
            for estimate_id in sorted(before - after):
                self.unlink_estimate(estimate_id, invoice_id)
        elif entity == "Payment":
            touched = _linked_ids_in_lines(old) | _linked_ids_in_lines(new)
            for invoice_id in sorted(touched, key=int):
                self.refresh_invoice(invoice_id)

    def advance_doc_number(self, entity: str, doc_number: str) -> None:
        # Auto-numbering continues after the highest number used (§2.3).
        if doc_number.isdigit():
            counters = self.company.next_doc_numbers
            counters[entity] = max(counters[entity], int(doc_number) + 1)

    def link_estimate(self, estimate_id: str, invoice_id: str) -> None:
        estimate = self.table("Estimate")[estimate_id]
        fields = copy.deepcopy(_fields_of(estimate))
        fields["LinkedTxn"] = [
            *fields.get("LinkedTxn", []),
            {"TxnId": invoice_id, "TxnType": "Invoice"},
        ]
        fields["TxnStatus"] = "Closed"  # §2.4 (UNVERIFIED): conversion closes it
        self.replace("Estimate", estimate, fields)

    def unlink_estimate(self, estimate_id: str, invoice_id: str) -> None:
        estimate = self.table("Estimate").get(estimate_id)
        if estimate is None:
            return
        fields = copy.deepcopy(_fields_of(estimate))
        fields["LinkedTxn"] = [
            link
            for link in fields.get("LinkedTxn", [])
            if not (link["TxnType"] == "Invoice" and link["TxnId"] == invoice_id)
        ]
        if not any(link["TxnType"] == "Invoice" for link in fields["LinkedTxn"]):
            fields["TxnStatus"] = "Pending"
        self.replace("Estimate", estimate, fields)

    def refresh_invoice(self, invoice_id: str) -> None:
        invoice = self.table("Invoice").get(invoice_id)
        if invoice is None:
            return
        applied = self.applied_to_invoice(invoice_id)
        balance = (
            ZERO
            if invoice.get("_voided")
            else _cents(invoice["TotalAmt"] - sum(applied.values(), ZERO))
        )
        links = [
            link
            for link in invoice.get("LinkedTxn", [])
            if link["TxnType"] != "Payment"
        ] + _payment_links(applied)
        if balance != invoice["Balance"] or links != invoice.get("LinkedTxn", []):
            fields = copy.deepcopy(_fields_of(invoice))
            fields["Balance"], fields["LinkedTxn"] = balance, links
            self.replace("Invoice", invoice, fields)

    def merge_customers(self, from_id: str, into_id: str) -> Obj:
        source, target = self.find("Customer", from_id), self.find("Customer", into_id)
        if source["Id"] == target["Id"]:
            raise _business("A customer can't be merged into itself.")
        if source.get("_merged_into"):
            raise _business(f"Customer {from_id} has already been merged.")
        if not target["Active"]:
            raise _invalid_ref("CustomerRef", into_id)
        target_fields = copy.deepcopy(_fields_of(target))
        target_fields["_opening_balance"] = target.get(
            "_opening_balance", ZERO
        ) + source.get("_opening_balance", ZERO)
        self.replace("Customer", target, target_fields, "Merge", deletedId=source["Id"])
        source_fields = copy.deepcopy(_fields_of(source))
        source_fields.update(
            Active=False, _merged_into=target["Id"], _opening_balance=ZERO
        )
        self.replace("Customer", source, source_fields, operation=None)
        for entity in ("Invoice", "Estimate", "Payment"):
            for obj in self.rows(entity):
                if _ref_value(obj, "CustomerRef") == source["Id"]:
                    fields = copy.deepcopy(_fields_of(obj))
                    fields["CustomerRef"] = {"value": target["Id"]}
                    self.replace(entity, obj, fields)
        return self.render("Customer", self.table("Customer")[target["Id"]])

    # --- reads --------------------------------------------------------------------

    def read(self, entity: str, entity_id: str) -> Obj:
        if entity == "CompanyInfo" and entity_id == self.company.realm_id:
            entity_id = "1"  # §1.2: /companyinfo/<realmId>
        return self.render(entity, self.find(entity, entity_id))

    def customer_balances(self) -> dict[str, Decimal]:
        balances = {
            c["Id"]: c.get("_opening_balance", ZERO)
            for c in self.table("Customer").values()
        }
        for invoice in self.table("Invoice").values():
            customer_id = _ref_value(invoice, "CustomerRef") or ""
            balances[customer_id] = balances.get(customer_id, ZERO) + invoice["Balance"]
        for payment in self.table("Payment").values():
            customer_id = _ref_value(payment, "CustomerRef") or ""
            balances[customer_id] = (
                balances.get(customer_id, ZERO) - payment["UnappliedAmt"]
            )
        return balances

    def render(
        self,
        entity: str,
        obj: Obj,
        precise: bool = False,
        balances: dict[str, Decimal] | None = None,
    ) -> Obj:
        """The object as QBO answers it: derived fields, ref names, JSON numbers."""
        out = copy.deepcopy({k: v for k, v in obj.items() if not k.startswith("_")})
        if entity in SALES_FORMS:  # §2.3: subtotal line appended in responses
            out["Line"].append(
                {
                    "Amount": _subtotal(out["Line"]),
                    "DetailType": "SubTotalLineDetail",
                    "SubTotalLineDetail": {},
                }
            )
        if entity in ("Customer", "Item", "Account"):
            out["FullyQualifiedName"], level = self.qualified_name(entity, obj)
            if level:
                out["Level"] = level
        if entity == "Customer":
            balance = (balances or self.customer_balances()).get(obj["Id"], ZERO)
            out["Balance"] = out["BalanceWithJobs"] = _cents(balance)
        if entity == "Account":
            out["Classification"] = ACCOUNT_CLASSIFICATION[obj["AccountType"]]
            out["CurrentBalance"] = out["CurrentBalanceWithSubAccounts"] = ZERO
        self.name_refs(out, entity)
        if not precise:
            out["MetaData"] = {k: _public_time(v) for k, v in out["MetaData"].items()}
        return _jsonable(out)

    def qualified_name(self, entity: str, obj: Obj) -> tuple[str, int]:
        field = NAME_FIELD.get(entity, "Name")
        names, cursor = [str(obj[field])], obj
        for _ in range(10):
            parent = self.table(entity).get(_ref_value(cursor, "ParentRef") or "")
            if parent is None:
                break
            names.insert(0, str(parent[field]))
            cursor = parent
        return ":".join(names), len(names) - 1

    def name_refs(self, value: Any, owner: str) -> None:
        """Fill ``name`` in refs from the current target (renames show at once)."""
        if isinstance(value, list):
            for item in value:
                self.name_refs(item, owner)
        elif isinstance(value, dict):
            for key, item in value.items():
                target = owner if key == "ParentRef" else REF_TARGETS.get(key)
                if target and isinstance(item, dict) and "value" in item:
                    name = self.name_of(target, str(item["value"]))
                    if name is not None:
                        item["name"] = name
                else:
                    self.name_refs(item, owner)

    # --- query and CDC --------------------------------------------------------------

    def query(self, text: str) -> Obj:
        try:
            parsed = qlang.parse(text)
        except qlang.QueryError as error:
            raise QboFault(400, error.code, error.message, error.detail) from None
        entity = entity_named(parsed.entity)
        if entity is None:
            raise QboFault(
                400,
                "4000",
                "Error parsing query",
                f"QueryParserError: Invalid entity name: {parsed.entity}",
            )
        if entity in UNMODELLED:
            return {"QueryResponse": {"totalCount": 0} if parsed.count else {}}
        _check_query_fields(entity, parsed)
        balances = self.customer_balances()
        rows = [self.render(entity, o, True, balances) for o in self.rows(entity)]
        if entity in NAME_LISTS and not any(
            c.field == "Active" for c in parsed.conditions
        ):
            rows = [r for r in rows if r.get("Active", True)]  # inactive names hidden
        page, total = qlang.run(parsed, rows)
        if parsed.count:
            return {"QueryResponse": {"totalCount": total}}
        if not page:
            return {"QueryResponse": {}}
        for row in page:
            row["MetaData"] = {k: _public_time(v) for k, v in row["MetaData"].items()}
        return {
            "QueryResponse": {
                entity: page,
                "startPosition": parsed.start_position,
                "maxResults": len(page),
            }
        }

    def cdc(self, params: dict[str, str]) -> Obj:
        names = [n.strip() for n in params.get("entities", "").split(",") if n.strip()]
        if not names:
            raise _required("entities")
        raw_since = params.get("changedSince", "").strip()
        if not raw_since:
            raise _required("changedSince")
        since = _parse_instant(raw_since)
        if since is None:
            raise _invalid_value("changedSince")
        if since < self.now - CDC_LOOKBACK:  # §3.8: 30-day look-back
            raise _unsupported(
                f"Operation cdc with changedSince date {raw_since} which is older than "
                "fixed days is not supported."
            )
        known = [entity_named(name) for name in names]
        for name, entity in zip(names, known):
            if entity is None:
                raise _invalid_enum("entities", name)
        wanted = [e for e in dict.fromkeys(known) if e in ENTITIES]
        changes = sorted(self.changes_since(wanted, since), key=lambda c: c[0])
        changes = changes[:CDC_LIMIT]  # §3.8: at most 1,000 objects
        groups = []
        for entity in wanted:
            found = [row for _, name, row in changes if name == entity]
            if found:
                groups.append(
                    {entity: found, "startPosition": 1, "maxResults": len(found)}
                )
        return {"CDCResponse": [{"QueryResponse": groups or [{}]}]}

    def changes_since(
        self, entities: list[str], since: datetime
    ) -> Iterable[tuple[datetime, str, Obj]]:
        balances = self.customer_balances()
        for entity in entities:
            for obj in self.rows(entity):
                changed = datetime.fromisoformat(obj["MetaData"]["LastUpdatedTime"])
                if changed >= since:
                    yield changed, entity, self.render(entity, obj, balances=balances)
        for tombstone in self.company.deleted:
            changed = datetime.fromisoformat(tombstone["time"])
            if tombstone["entity"] in entities and changed >= since:
                yield (
                    changed,
                    tombstone["entity"],
                    {  # §3.8: deleted objects
                        "Id": tombstone["Id"],
                        "status": "Deleted",
                        "domain": "QBO",
                        "MetaData": {
                            "LastUpdatedTime": _public_time(tombstone["time"])
                        },
                    },
                )

    # --- seed -------------------------------------------------------------------------

    def seed(self, name: str) -> None:
        today = self.now.date().isoformat()
        info = {
            "CompanyName": name,
            "LegalName": name,
            "Country": "US",
            "CompanyStartDate": today,
            "FiscalYearStartMonth": "January",
            "SupportedLanguages": "en",
            "CompanyAddr": {
                "Line1": "1 Emulator Way",
                "City": "Mountain View",
                "CountrySubDivisionCode": "CA",
                "PostalCode": "94043",
            },
        }
        self.insert("CompanyInfo", info)
        for account_name, account_type, subtype in SEED_ACCOUNTS:
            self.create(
                "Account",
                {
                    "Name": account_name,
                    "AccountType": account_type,
                    "AccountSubType": subtype,
                },
            )
        for term_name, days in SEED_TERMS:
            self.create("Term", {"Name": term_name, "DueDays": days})


def _subtotal(lines: list[Obj]) -> Decimal:
    return sum(
        (
            Decimal(str(line["Amount"]))
            for line in lines
            if line.get("DetailType") == "SalesItemLineDetail"
        ),
        ZERO,
    )


def _payment_links(applied: dict[str, Decimal]) -> list[Obj]:
    return [{"TxnId": pid, "TxnType": "Payment"} for pid in sorted(applied, key=int)]


def _linked_ids(obj: Obj | None, txn_type: str) -> set[str]:
    return {
        link["TxnId"]
        for link in (obj or {}).get("LinkedTxn", [])
        if link.get("TxnType") == txn_type
    }


def _linked_ids_in_lines(payment: Obj | None) -> set[str]:
    return {
        link["TxnId"]
        for line in (payment or {}).get("Line", [])
        for link in line.get("LinkedTxn", [])
        if link.get("TxnType") == "Invoice"
    }


def _voided_fields(entity: str, old: Obj) -> Obj:
    """§3.5: amounts and quantities to zero, "Voided" before the private note."""
    fields = copy.deepcopy(_fields_of(old))
    fields["_voided"] = True
    for line in fields.get("Line", []):
        line["Amount"] = ZERO
        detail = line.get("SalesItemLineDetail")
        if isinstance(detail, dict) and "Qty" in detail:
            detail["Qty"] = Decimal(0)
    fields["TotalAmt"] = ZERO
    fields["Balance" if entity == "Invoice" else "UnappliedAmt"] = ZERO
    note = fields.get("PrivateNote")
    fields["PrivateNote"] = f"Voided - {note}" if note else "Voided"
    return fields


def _check_query_fields(entity: str, parsed: qlang.Query) -> None:
    allowed = WRITABLE[entity] | READ_ONLY[entity] | {"Id", "SyncToken", "MetaData"}
    for field in parsed.fields:
        root, _, rest = field.partition(".")
        bad_meta = root == "MetaData" and rest not in ("CreateTime", "LastUpdatedTime")
        if root not in allowed or bad_meta:
            raise QboFault(
                400,
                "4001",
                "Invalid query",
                f"QueryValidationError: property '{field}' is not queryable",
            )


# ---------------------------------------------------------------------------
# The API
# ---------------------------------------------------------------------------


class AccountingApi:
    """Every company of the emulator and the ``/v3/company/<realm>/...`` surface."""

    def __init__(self, clock: Clock, on_change: ChangeListener | None = None) -> None:
        self.clock = clock
        self.on_change = on_change
        self.companies: dict[str, Company] = {}
        self._lock = threading.RLock()

    # --- companies and state -------------------------------------------------

    def add_company(self, realm_id: str, name: str) -> Company:
        """A new, seeded company: CompanyInfo, a small chart of accounts, Terms."""
        with self._lock:
            if realm_id in self.companies:
                raise ValueError(f"company {realm_id} already exists")
            company = Company(realm_id, name, self.clock)
            _Books(company, self.clock.now(), []).seed(name)
            self.companies[realm_id] = company
        return company

    def to_state(self) -> Obj:
        with self._lock:
            companies = dict(self.companies)
        states = {}
        for realm_id, company in companies.items():
            with company.lock:
                states[realm_id] = company.to_state()
        return {"version": 1, "companies": states}

    def load_state(self, data: Obj) -> None:
        """Replace every company with ``data`` (from ``to_state``); ValueError if bad."""
        if not isinstance(data, dict) or not isinstance(data.get("companies"), dict):
            raise ValueError("invalid accounting state: no 'companies' mapping")  # noqa: TRY004
        loaded = {
            str(realm): Company.from_state(state, self.clock)
            for realm, state in data["companies"].items()
        }
        with self._lock:
            self.companies = loaded

    def dump(self, realm_id: str) -> Obj:
        """Every entity of a company (inactive and voided included) and deletions."""
        company = self._company(realm_id)
        with company.lock:
            books = _Books(company, self.clock.now(), [])
            balances = books.customer_balances()
            return {
                "realmId": company.realm_id,
                "name": company.name,
                "entities": {
                    entity: [
                        books.render(entity, o, balances=balances)
                        for o in books.rows(entity)
                    ]
                    for entity in ENTITIES
                },
                "deleted": [
                    {
                        "entity": d["entity"],
                        "Id": d["Id"],
                        "time": _public_time(d["time"]),
                    }
                    for d in company.deleted
                ],
            }

    # --- HTTP surface ----------------------------------------------------------

    def handle(
        self,
        realm_id: str,
        method: str,
        subpath: str,
        params: dict[str, str],
        body: bytes,
        content_type: str = "application/json",
    ) -> tuple[int, Obj]:
        """Answer one Accounting API request; faults are returned, never raised."""
        now = self.clock.now()
        path, _, query_string = subpath.partition("?")
        params = {**dict(parse_qsl(query_string)), **(params or {})}
        company = self.companies.get(realm_id)
        if company is None:  # §4.2: wrong realm for the token
            fault = QboFault(
                403,
                "3100",
                "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
                f"Company {realm_id} is not known to this emulator",
                fault_type="SERVICE",
            )
            return fault.status, fault.body(now)
        request_id = params.get("requestid") or None
        if request_id is not None and len(request_id) > REQUEST_ID_MAX:  # §3.9
            fault = _too_long("requestid", REQUEST_ID_MAX, len(request_id))
            return fault.status, fault.body(now)
        events: list[_Event] = []
        with company.lock:
            if request_id is not None and request_id in company.responses:
                status, payload = company.responses[request_id]  # §3.9: replay
                return status, copy.deepcopy(payload)
            status, payload = self._answer(
                company, method, path, params, body, now, events
            )
            if request_id is not None and status < 500:
                company.remember(request_id, status, payload)
        self._notify(realm_id, events)
        return status, copy.deepcopy(payload)

    def _answer(
        self,
        company: Company,
        method: str,
        path: str,
        params: dict[str, str],
        body: bytes,
        now: datetime,
        events: list[_Event],
    ) -> tuple[int, Obj]:
        pending: list[_Event] = []
        try:
            payload = self._route(
                company, method.upper(), path, params, body, now, pending
            )
        except QboFault as fault:
            return fault.status, fault.body(now)
        except Exception:  # never a traceback or HTML to the client (§9.8)
            logger.exception("QBO emulator failed on %s %s", method, path)
            fault = QboFault(
                500,
                "10000",
                "An application error has occurred while processing your request",
                "System Failure Error: the emulator failed unexpectedly",
                fault_type="SystemFault",
            )
            return fault.status, fault.body(now)
        events.extend(pending)
        return 200, {**payload, "time": _envelope_time(now)}

    def _route(
        self,
        company: Company,
        method: str,
        path: str,
        params: dict[str, str],
        body: bytes,
        now: datetime,
        events: list[_Event],
    ) -> Obj:
        segments = [s for s in path.split("/") if s]
        head = segments[0] if segments else ""
        books = _Books(company, now, events)
        if segments == ["query"]:
            _allow(method, "GET", "POST")
            text = (
                params.get("query", "")
                if method == "GET"
                else body.decode("utf-8", "replace")
            )
            return books.query(text)
        if segments == ["batch"]:
            _allow(method, "POST")
            return self._batch(company, body, now, events)
        if segments == ["cdc"]:
            _allow(method, "GET")
            return books.cdc(params)
        entity = entity_named(head)
        if entity is not None and entity in ENTITIES:
            if len(segments) == 1:
                _allow(method, "POST")
                return {
                    entity: self._write(books, entity, params, _parse_json_body(body))
                }
            if len(segments) == 2:
                _allow(method, "GET")
                return {entity: books.read(entity, segments[1])}
            if len(segments) == 3 and segments[2] in ("pdf", "send"):
                raise _unsupported(f"The emulator does not implement /{segments[2]}")
        raise _unsupported(
            f"Operation Could not find resource for relative : /{path} of full path: "
            f"/v3/company/{company.realm_id}/{path}",
            status=404,
        )

    def _write(
        self, books: _Books, entity: str, params: dict[str, str], body: Obj
    ) -> Obj:
        _check_properties(entity, body)
        operation = params.get("operation", "").lower()
        include = frozenset(
            p.strip().lower() for p in params.get("include", "").split(",")
        )
        if operation == "delete":
            return books.delete(entity, body)
        if operation == "void":  # §3.5: invoices void with ?operation=void
            if entity != "Invoice":
                raise _unsupported(f"Operation void is not supported for {entity}")
            return books.void(entity, body)
        if operation == "update" and "void" in include:  # §3.5: payments
            if entity != "Payment":
                raise _unsupported(f"include=void is not supported for {entity}")
            return books.void(entity, body)
        if operation not in ("", "update", "create"):
            raise _unsupported(f"Operation {operation} is not supported")
        if body.get("Id") not in (None, "", 0, "0") or entity == "CompanyInfo":
            return books.update(entity, body, include)  # §3.3: Id in body = update
        return books.create(entity, body, include)

    def _batch(
        self, company: Company, body: bytes, now: datetime, events: list[_Event]
    ) -> Obj:
        data = _parse_json_body(body)
        items = data.get("BatchItemRequest")
        if not isinstance(items, list):
            raise _required("BatchItemRequest")
        if len(items) > BATCH_LIMIT:  # §3.7
            raise QboFault(
                400,
                "1040",
                "Batch size exceeds allowed limit",
                f"Batch request has {len(items)} items; the limit is {BATCH_LIMIT}",
            )
        bids = [item.get("bId") if isinstance(item, dict) else None for item in items]
        if any(b in (None, "") for b in bids):
            raise _required("bId")
        if len(set(map(str, bids))) != len(bids):
            raise _business("Every bId in a batch request must be unique.", "bId")
        answers = []
        for item in items:
            item_events: list[_Event] = []
            try:
                result = self._batch_item(_Books(company, now, item_events), item)
            except QboFault as fault:
                result = {"Fault": fault.fault()}
            else:
                events.extend(item_events)
            answers.append({"bId": item["bId"], **result})
        return {"BatchItemResponse": answers}

    def _batch_item(self, books: _Books, item: Obj) -> Obj:
        if "Query" in item:
            return books.query(str(item["Query"]))
        keys = [k for k in item if k not in ("bId", "operation", "optionsData")]
        if (
            len(keys) != 1
            or keys[0] not in ENTITIES
            or not isinstance(item[keys[0]], dict)
        ):
            raise _invalid_property(keys[0] if keys else "BatchItemRequest")
        entity, body = keys[0], item[keys[0]]
        _check_properties(entity, body)
        operation = str(item.get("operation", "")).lower()
        if operation == "create":
            created = {k: v for k, v in body.items() if k != "Id"}
            return {entity: books.create(entity, created)}
        if operation == "update" and str(item.get("optionsData", "")).lower() == "void":
            return {entity: books.void(entity, body)}
        if operation == "update":
            return {entity: books.update(entity, body)}
        if operation == "delete":
            return {entity: books.delete(entity, body)}
        if not operation:
            raise _required("operation")
        raise _invalid_enum("operation", operation)

    # --- bookkeeper actions (human UI, control API) -------------------------------

    def record_payment(
        self, realm_id: str, invoice_id: str, amount: Decimal | None = None
    ) -> Obj:
        """Receive a payment for an invoice (its full balance when ``amount`` is None)."""

        def act(books: _Books) -> Obj:
            invoice = books.find("Invoice", invoice_id)
            paid = invoice["Balance"] if amount is None else _decimal(amount, "Amount")
            if not paid or paid <= 0:
                raise _business(f"Invoice {invoice_id} has no open balance to pay.")
            return books.create(
                "Payment",
                {
                    "CustomerRef": {"value": _ref_value(invoice, "CustomerRef")},
                    "TotalAmt": paid,
                    "Line": [
                        {
                            "Amount": paid,
                            "LinkedTxn": [
                                {"TxnId": invoice["Id"], "TxnType": "Invoice"}
                            ],
                        }
                    ],
                },
            )

        return self._act(realm_id, act)

    def void_invoice(self, realm_id: str, invoice_id: str) -> Obj:
        return self._act(
            realm_id, lambda b: b.void("Invoice", _current(b, "Invoice", invoice_id))
        )

    def void_payment(self, realm_id: str, payment_id: str) -> Obj:
        return self._act(
            realm_id, lambda b: b.void("Payment", _current(b, "Payment", payment_id))
        )

    def delete_invoice(self, realm_id: str, invoice_id: str) -> None:
        self._act(
            realm_id, lambda b: b.delete("Invoice", _current(b, "Invoice", invoice_id))
        )

    def delete_payment(self, realm_id: str, payment_id: str) -> None:
        self._act(
            realm_id, lambda b: b.delete("Payment", _current(b, "Payment", payment_id))
        )

    def rename_customer(
        self, realm_id: str, customer_id: str, display_name: str
    ) -> Obj:
        def act(books: _Books) -> Obj:
            body = {**_current(books, "Customer", customer_id), "sparse": True}
            return books.update("Customer", {**body, "DisplayName": display_name})

        return self._act(realm_id, act)

    def merge_customers(self, realm_id: str, from_id: str, into_id: str) -> Obj:
        return self._act(
            realm_id, lambda b: b.merge_customers(str(from_id), str(into_id))
        )

    def set_item_active(self, realm_id: str, item_id: str, active: bool) -> Obj:
        def act(books: _Books) -> Obj:
            body = {**_current(books, "Item", item_id), "sparse": True}
            return books.update("Item", {**body, "Active": bool(active)})

        return self._act(realm_id, act)

    # --- plumbing ---------------------------------------------------------------

    def _company(self, realm_id: str) -> Company:
        company = self.companies.get(realm_id)
        if company is None:
            raise QboFault(
                403,
                "3100",
                "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
                f"Company {realm_id} is not known to this emulator",
                fault_type="SERVICE",
            )
        return company

    def _act(self, realm_id: str, action: Callable[[_Books], T]) -> T:
        company = self._company(realm_id)
        events: list[_Event] = []
        with company.lock:
            result = action(_Books(company, self.clock.now(), events))
        self._notify(realm_id, events)
        return result

    def _notify(self, realm_id: str, events: list[_Event]) -> None:
        if self.on_change is None:
            return
        for event in events:
            try:
                self.on_change(realm_id, *event)
            except Exception:  # a listener must not break the API answer
                logger.exception("QBO emulator change listener failed for %s", event)


def _allow(method: str, *allowed: str) -> None:
    if method not in allowed:
        raise _unsupported(f"Method {method} is not allowed here", status=405)


def _current(books: _Books, entity: str, entity_id: str) -> Obj:
    obj = books.find(entity, entity_id)
    return {"Id": obj["Id"], "SyncToken": obj["SyncToken"]}
