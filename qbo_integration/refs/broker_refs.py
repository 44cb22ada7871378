"""What the broker's documents point at in QuickBooks (docs/quickbooks/beyond.md#the-brokers-own-books): the seller
as a Vendor (a bill) or as a Customer (a commission invoice), the "Commission" service item, and the company's
expense accounts and service items the Settings card offers.

The seller's Vendor is made exactly once: a look-up by name before every create (an earlier try whose answer was
lost, or a vendor the bookkeeper made), and a `requestid` fixed per seller and name, so two jobs racing for one
seller get the same answer. A name a customer or an employee already has (every Kadouri account may be a customer)
is settled by the company's shared-name rule, as a buyer's is (adapt/names.py): a suffix kept on the account
(`Account.qbo_vendor_name_suffix`) or a refusal in plain words.
"""

from __future__ import annotations

import uuid

from django.core.cache import cache

from accounts.models import Account

from ..adapt import RULES_PLACE
from ..adapt.currency import company_profile
from ..adapt.names import CompanyRuleRefused, Holder, reactivation, reactivation_request_id
from ..client.errors import QboDuplicateError, QboError, batch_fault
from ..connection import calls
from ..connection.vault import current_connection, log_event, usable_connection
from ..documents.broker import vendor_name, vendor_payload, vendor_suffix
from ..models import InactiveRule, IntegrationLog, QboConnection, SharedNameRule
from ..reads import QUERY_MAX_RESULTS, quoted
from .accounts import income_account_id
from .ensure import ensure_refs

_REQUEST_IDS = uuid.UUID("8d3c6f0a-2b9e-4c71-a5d4-7e1f0b3c9a62")
LISTS_CACHE_SECONDS = 5 * 60  # the company's expense accounts and service items: read at most every 5 minutes
EXPENSE_TYPES = ("Expense", "Cost of Goods Sold", "Other Expense")
COMMISSION_ITEM = "Commission"
BROKER_PLACE = "Settings → QuickBooks → The broker's own books"


# --- the lists the Settings card offers ----------------------------------------------------------------------------


def _account_label(row: dict) -> str:
    return f"{row.get('Name')} ({row.get('AccountType')})"


LISTS = {  # what the Settings card offers: (entity, query, label)
    "accounts": (
        "Account",
        f"select * from Account where AccountType in ({', '.join(quoted(t) for t in EXPENSE_TYPES)}) "
        f"MAXRESULTS {QUERY_MAX_RESULTS}",
        _account_label,
    ),
    "items": ("Item", f"select * from Item where Type = 'Service' MAXRESULTS {QUERY_MAX_RESULTS}", lambda r: r["Name"]),
}


def _lists(realm_id: str) -> dict[str, list[tuple[str, str]]]:
    """Both lists, read together in one batch request and kept five minutes per company."""
    key = f"qbo:broker-lists:{realm_id}"
    lists = cache.get(key)
    if lists is None:
        items = [{"bId": kind, "Query": sql} for kind, (_, sql, _) in LISTS.items()]
        answers = {a.get("bId"): a for a in calls.batch(items, realm_id=realm_id)}
        lists = {}
        for kind, (entity, _, label) in LISTS.items():
            answer = answers.get(kind) or {}
            if "Fault" in answer:
                raise batch_fault(answer["Fault"], f"reading the company's {kind}")
            rows = (answer.get("QueryResponse") or {}).get(entity, [])
            found = ((str(r["Id"]), str(label(r))) for r in rows if r.get("Active", True))
            lists[kind] = sorted(found, key=lambda r: r[1].lower())
        cache.set(key, lists, LISTS_CACHE_SECONDS)
    return lists


def expense_accounts(realm_id: str) -> list[tuple[str, str]]:
    """(Id, "Name (type)") of the company's expense and cost of goods sold accounts, a bill line's choices."""
    return _lists(realm_id)["accounts"]


def service_items(realm_id: str) -> list[tuple[str, str]]:
    """(Id, Name) of the company's service items, a commission line's choices."""
    return _lists(realm_id)["items"]


def forget_lists(realm_id: str) -> None:
    cache.delete(f"qbo:broker-lists:{realm_id}")


# --- the seller as a vendor ----------------------------------------------------------------------------------------


def _vendor_named(name: str) -> dict | None:
    sql = f"select * from Vendor where Active IN (true, false) and DisplayName = {quoted(name)}"
    rows = calls.query(sql).get("Vendor", [])
    return rows[0] if rows else None


def _link_vendor(account: Account, row: dict) -> str:
    account.qbo_vendor_id, account.qbo_vendor_sync_token = str(row["Id"]), str(row.get("SyncToken") or "")
    account.qbo_vendor_create_request = ""
    Account.objects.filter(pk=account.pk).update(
        qbo_vendor_id=account.qbo_vendor_id,
        qbo_vendor_sync_token=account.qbo_vendor_sync_token,
        qbo_vendor_create_request="",
    )
    return account.qbo_vendor_id


def _reactivated(account: Account, row: dict, name: str) -> dict:
    """An inactive vendor with the seller's name: made active again, or refused, by the company's inactive rule."""
    rules = current_connection() or QboConnection()
    if rules.inactive_rule != InactiveRule.REACTIVATE:
        raise CompanyRuleRefused(
            f"“{name}” is an inactive vendor in QuickBooks. Make it active there, or choose “Make it active again” "
            f"in {RULES_PLACE}."
        )
    body = reactivation(Holder("Vendor", row))
    updated = calls.update("Vendor", body, request_id=reactivation_request_id([("Vendor", body)]))
    _log(f"Vendor “{name}” was inactive in QuickBooks; Kadouri made it active again for account {account.code}.")
    return updated


def seller_vendor_id(account: Account) -> str:
    """The seller's Vendor Id: stored, found by name, or created once (see the module's docstring)."""
    if account.qbo_vendor_id:
        return account.qbo_vendor_id
    name = vendor_name(account)
    found = _vendor_named(name)
    if found is not None:
        return _link_vendor(account, found if found.get("Active", True) else _reactivated(account, found, name))
    rid = str(uuid.uuid5(_REQUEST_IDS, f"vendor:{usable_connection().realm_id}:{account.pk}:{name}"))
    account.qbo_vendor_create_request = rid
    Account.objects.filter(pk=account.pk).update(qbo_vendor_create_request=rid)  # committed before it leaves
    profile = company_profile()
    payload = vendor_payload(account, name=name, currency=profile.home_currency if profile.multi_currency else None)
    try:
        row = calls.create("Vendor", payload, request_id=rid)
    except QboDuplicateError as e:
        if e.code != "6240":
            raise
        _settle_shared_name(account, name, e)
        return seller_vendor_id(account)  # once more, under the suffixed name (a new look-up and requestid)
    return _link_vendor(account, row)


def _name_holder(name: str) -> tuple[str, dict] | None:
    """Who has the name instead: a customer or an employee, active or not (inactive names still clash,
    docs/quickbooks/next.md#shared-names-and-sub-customers)."""
    for entity in ("Customer", "Employee"):
        sql = f"select * from {entity} where Active IN (true, false) and DisplayName = {quoted(name)}"
        rows = calls.query(sql).get(entity, [])
        if rows:
            return entity.lower(), rows[0]
    return None


def _settle_shared_name(account: Account, name: str, error: QboError) -> None:
    """6240 on the vendor: the company's shared-name rule gives the seller's vendor a suffix, or refuses."""
    rules = current_connection() or QboConnection()
    holder = _name_holder(name)
    if holder is None or account.qbo_vendor_name_suffix:
        raise CompanyRuleRefused(
            f"QuickBooks already uses the name “{name}” (QuickBooks error {error.code}) and Kadouri finds no customer "
            "or employee with it that a company rule could settle. Look for it in QuickBooks, or rename the account "
            "in Kadouri, then try again."
        )
    role = holder[0]
    if rules.shared_name_rule == SharedNameRule.REFUSE:
        raise CompanyRuleRefused(
            f"QuickBooks already has a {role} named “{name}”, so the seller cannot be its vendor under that name. "
            f"Choose a rule in {RULES_PLACE}, or rename the account."
        )
    suffix = vendor_suffix(rules.shared_name_rule == SharedNameRule.CODE, account)
    account.qbo_vendor_name_suffix = suffix
    Account.objects.filter(pk=account.pk).update(qbo_vendor_name_suffix=suffix)
    _log(
        f"Account {account.code}: QuickBooks already has a {role} named “{name}”, so the seller's vendor is created "
        f"as “{name}{suffix}” (company rule: {rules.get_shared_name_rule_display()})."
    )


def _log(message: str) -> None:
    conn = current_connection()
    log_event(realm_id=conn.realm_id if conn else "", event=IntegrationLog.Event.NAME_RULE, message=message)


# --- the seller as a customer, and the commission item -------------------------------------------------------------


def seller_customer_id(account: Account) -> str:
    """The seller's Customer Id, linked or created like a buyer's (refs/ensure.py, the same company rules)."""
    refs = ensure_refs(accounts=[account], products=[])
    if ("account", account.pk) in refs.errors:
        raise refs.errors[("account", account.pk)]
    return refs.customers[account.pk]


def commission_item_id() -> str:
    """The commission invoice's item: the one chosen in Settings, else the company's "Commission" service item,
    found by name or created once (kept on the connection)."""
    conn = usable_connection()
    if conn.commission_item_id:
        return conn.commission_item_id
    rows = calls.query(f"select * from Item where Name = {quoted(COMMISSION_ITEM)}").get("Item", [])
    if rows:
        item_id = str(rows[0]["Id"])
    else:
        payload = {"Name": COMMISSION_ITEM, "Type": "Service", "IncomeAccountRef": {"value": income_account_id()}}
        rid = str(uuid.uuid5(_REQUEST_IDS, f"commission-item:{conn.realm_id}"))
        try:
            item_id = str(calls.create("Item", payload, request_id=rid)["Id"])
        except QboDuplicateError:
            raise CompanyRuleRefused(
                f"QuickBooks has an inactive product or service named “{COMMISSION_ITEM}”. Make it active there, or "
                f"choose the commission item in {BROKER_PLACE}."
            ) from None
    QboConnection.objects.filter(pk=conn.pk).update(commission_item_id=item_id)
    forget_lists(conn.realm_id)
    return item_id
