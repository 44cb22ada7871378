"""Names QuickBooks already uses: a buyer's name held by a vendor, an employee or an inactive customer, a product's
name held by an inactive item, and a linked customer or item made inactive in QuickBooks since
(docs/quickbooks/next.md#shared-names-and-sub-customers). What Kadouri does is the admin's choice in Settings →
QuickBooks → Company rules (`QboConnection.shared_name_rule`, `inactive_rule`).

QuickBooks' 6240 does not always say who has the name, and its 2500 not which reference is inactive, so Kadouri
looks (`find_holders`, `settle_inactive_refs`) instead of reading the fault's Detail. `refs/ensure.py` runs the
creates and links; this module decides, names, and words the refusals.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from accounts.models import Account
from orders.models import Order
from products.models import Product

from ..client.errors import QboError, QboValidationError, batch_fault
from ..connection import calls
from ..connection.vault import current_connection, log_event
from ..mapping import clean_name
from ..models import InactiveRule, IntegrationLog, QboConnection, SharedNameRule
from ..reads import QUERY_IN_CHUNK, QUERY_MAX_RESULTS, inactive_rows, quoted
from . import RULES_PLACE

ROLE_SUFFIX = " (customer)"  # Intuit's advice on 6240 (docs/quickbooks/next.md#shared-names-and-sub-customers)
CODE_SUFFIX_MAX = 30
BATCH_QUERIES = 30  # queries in one batch request (docs/quickbooks/api.md#batch)
REACTIVATE_CHOICE = "“Make it active again”"
_REQUEST_IDS = uuid.UUID("5b0f8d0e-6c1a-4f43-9d7e-2a8c0b7f4e15")

# Who may hold a name Kadouri wants, searched after a 6240. Active customers and items are not searched: the
# look-up before the create links them. Inactive names still clash
# (docs/quickbooks/next.md#shared-names-and-sub-customers), so vendors and employees are searched active or not.
HOLDER_SEARCH = {
    "account": (
        ("Customer", "DisplayName", "Active = false"),
        ("Vendor", "DisplayName", "Active IN (true, false)"),
        ("Employee", "DisplayName", "Active IN (true, false)"),
    ),
    "product": (("Item", "Name", "Active = false"),),
}
ROLES = {"Vendor": "vendor", "Employee": "employee"}


class CompanyRuleRefused(QboValidationError):
    """Refused by a company rule the admin chose (or would have to choose): nothing was sent for the order's
    document. The API answers 422 with the message."""

    kind = "company_rule"


@dataclass(frozen=True)
class Holder:
    """The QuickBooks record that has a name: an inactive customer or item, a vendor or an employee."""

    entity: str
    row: dict

    @property
    def inactive(self) -> bool:
        return self.entity in ("Customer", "Item")

    @property
    def role(self) -> str:
        return ROLES.get(self.entity, "")


@dataclass(frozen=True)
class Decision:
    action: str  # reactivate | suffix | refuse
    holder: Holder | None = None
    suffix: str = ""
    error: QboError | None = None


def company_rules() -> QboConnection:
    """The connected company's rules (an unsaved connection's defaults when none is connected)."""
    return current_connection() or QboConnection()


def find_holders(
    wanted: dict[str, list[str]], run_batch: Callable[[list[dict]], dict]
) -> dict[tuple[str, str], Holder]:
    """Who has each name: `wanted` is {"account": [DisplayName, …], "product": [Name, …]}; `run_batch` sends one
    batch request and answers by bId. Returns {(kind, casefolded name): Holder}."""
    items, owners = [], {}
    for kind, names in wanted.items():
        for entity, field, active in HOLDER_SEARCH[kind]:
            for start in range(0, len(names), QUERY_IN_CHUNK):
                values = ", ".join(map(quoted, names[start : start + QUERY_IN_CHUNK]))
                owners[f"h{len(items)}"] = (kind, entity, field)
                items.append(
                    {
                        "bId": f"h{len(items)}",
                        "Query": f"select * from {entity} where {active} and {field} in ({values}) "
                        f"MAXRESULTS {QUERY_MAX_RESULTS}",
                    }
                )
    found: dict[tuple[str, str], Holder] = {}
    for start in range(0, len(items), BATCH_QUERIES):
        for bid, answer in run_batch(items[start : start + BATCH_QUERIES]).items():
            kind, entity, field = owners[bid]
            if "Fault" in answer:
                raise batch_fault(answer["Fault"], f"looking up who has a {entity.lower()} name")
            for row in (answer.get("QueryResponse") or {}).get(entity, []):
                found.setdefault((kind, str(row.get(field, "")).casefold()), Holder(entity, row))
    return found


def suffix_for(rule: str, account: Account) -> str:
    if rule == SharedNameRule.CODE:
        return f" ({clean_name(account.code, CODE_SUFFIX_MAX)})"
    return ROLE_SUFFIX


def decide(kind: str, obj: Account | Product, name: str, holder: Holder | None, error: QboError) -> Decision:
    """What to do with a name QuickBooks refused (6240) that no active customer or item has."""
    rules = company_rules()
    if holder is None:
        return Decision("refuse", error=unseen_holder(kind, name, error))
    if holder.inactive:
        if rules.inactive_rule == InactiveRule.REACTIVATE:
            return Decision("reactivate", holder)
        return Decision("refuse", holder, error=inactive_refused(holder, obj))
    if kind == "account" and not obj.qbo_name_suffix and rules.shared_name_rule != SharedNameRule.REFUSE:
        return Decision("suffix", holder, suffix=suffix_for(rules.shared_name_rule, obj))
    return Decision("refuse", holder, error=shared_refused(holder, name))


def remember_suffix(account: Account, decision: Decision, name: str) -> None:
    """The account keeps its suffix (committed before the create leaves, like the in-flight marker): every later
    push sends the same DisplayName, its fingerprint stays stable, and a retry after a lost answer looks up and
    replays the suffixed name."""
    holder = decision.holder.role if decision.holder else ""
    account.qbo_name_suffix, account.qbo_name_holder = decision.suffix, holder
    Account.objects.filter(pk=account.pk).update(qbo_name_suffix=decision.suffix, qbo_name_holder=holder)
    rule = company_rules().get_shared_name_rule_display()
    _log(
        f"Account {account.code}: QuickBooks already has {_article(holder)} {holder} named “{name}”, so the "
        f"customer is created as “{name}{decision.suffix}” (company rule: {rule})."
    )


def forget_suffix(account: Account) -> list[str]:
    """After a real rename in QuickBooks the account's name is QuickBooks' DisplayName as it is: no suffix."""
    if not account.qbo_name_suffix and not account.qbo_name_holder:
        return []
    account.qbo_name_suffix = account.qbo_name_holder = ""
    return ["qbo_name_suffix", "qbo_name_holder"]


def reactivation(holder: Holder) -> dict:
    """A sparse update that makes the record active and changes nothing else."""
    return {
        "Id": holder.row["Id"],
        "SyncToken": str(holder.row.get("SyncToken") or "0"),
        "sparse": True,
        "Active": True,
    }


def reactivation_request_id(bodies: list[tuple[str, dict]]) -> str:
    """Stable per record and version: a retry of the same reactivation is answered from QuickBooks' cache."""
    key = "reactivate:" + "|".join(f"{entity}:{b['Id']}:{b['SyncToken']}" for entity, b in bodies)
    return str(uuid.uuid5(_REQUEST_IDS, key))


def reactivated(holder: Holder, obj: Account | Product) -> None:
    """Logs a record made active again. A Kadouri row made inactive because its record was (the item handler
    does that) is active again too: the reason is gone, and the rule says the admin wants it used."""
    what = "Customer" if holder.entity == "Customer" else "Item"
    name = holder.row.get("DisplayName") or holder.row.get("Name") or holder.row["Id"]
    mine = f"account {obj.code}" if isinstance(obj, Account) else f"product “{obj.name}”"
    also = ""
    if not obj.active:
        obj.active = True
        type(obj).objects.filter(pk=obj.pk).update(active=True)
        also = f"; {mine} is active in Kadouri again"
    _log(
        f"{what} “{name}” was inactive in QuickBooks; Kadouri made it active again for {mine} "
        f"(company rule: {InactiveRule.REACTIVATE.label.lower()}){also}."
    )


def _log(message: str) -> None:
    conn = current_connection()
    log_event(realm_id=conn.realm_id if conn else "", event=IntegrationLog.Event.NAME_RULE, message=message)


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


# --- refusals, in plain words --------------------------------------------------------------------------


def inactive_refused(holder: Holder, obj: Account | Product) -> CompanyRuleRefused:
    if holder.entity == "Customer":
        text = f"“{holder.row.get('DisplayName') or obj.name}” is an inactive customer in QuickBooks."
    else:
        name = holder.row.get("Name") or obj.name
        text = f"“{name}” is an inactive product or service in QuickBooks" + (
            "." if name == obj.name else f" (product “{obj.name}” in Kadouri)."
        )
    return CompanyRuleRefused(f"{text} Make it active there, or choose {REACTIVATE_CHOICE} in {RULES_PLACE}.")


def shared_refused(holder: Holder, name: str) -> CompanyRuleRefused:
    return CompanyRuleRefused(
        f"QuickBooks already has {_article(holder.role)} {holder.role} named “{name}”; a customer cannot share its "
        f"name. Choose a rule in {RULES_PLACE}, or rename the account."
    )


def unseen_holder(kind: str, name: str, error: QboError) -> QboError:
    """6240 and nobody found with the name (a kind of record Kadouri does not search)."""
    if kind == "account":
        where, fix = "customers, vendors and employees, inactive ones too", "rename the account in Kadouri"
    else:
        where, fix = "products and services, inactive ones too", "rename the product in Kadouri"
    return type(error)(
        f"QuickBooks already uses the name “{name}” (QuickBooks error {error.code or '6240'}), but Kadouri finds it "
        f"among none of its {where}. Look for it in QuickBooks, or {fix}, then try again.",
        code=error.code,
        detail=error.detail,
        status=error.status,
    )


# --- a linked customer or item made inactive in QuickBooks (2500 on a document) ----------------------------


def settle_inactive_refs(order: Order, payload: dict, error: QboError) -> None:
    """A document create answered 2500 (an invalid or inactive reference, docs/quickbooks/errors.md#fault-codes):
    the order's customer or an item may have been made inactive in QuickBooks since Kadouri linked it. Kadouri
    looks which, then per the company rule makes them active again or refuses in plain words. `error` is raised
    again when it is not a 2500. The caller then sends the create once more under its second request id: also when
    nothing is inactive any more, as the 2500 may be QuickBooks' cached answer to the first request id, given
    before an earlier try made them active again (its second create then failed on a blip)."""
    if error.code != "2500":
        raise error
    customer_id = str((payload.get("CustomerRef") or {}).get("value") or "")
    item_ids = sorted(
        {
            str(line["SalesItemLineDetail"]["ItemRef"]["value"])
            for line in payload.get("Line", [])
            if (line.get("SalesItemLineDetail") or {}).get("ItemRef")
        }
    )
    products = {p.qbo_item_id: p for p in Product.objects.filter(qbo_item_id__in=item_ids)}
    found = [(Holder("Customer", row), order.buyer) for row in inactive_rows("Customer", [customer_id])]
    found += [
        (Holder("Item", row), products[str(row["Id"])])
        for row in inactive_rows("Item", item_ids)
        if str(row["Id"]) in products
    ]
    if not found:
        return
    if company_rules().inactive_rule != InactiveRule.REACTIVATE:
        refusals = [inactive_refused(holder, obj).message for holder, obj in found]
        raise CompanyRuleRefused(" ".join(refusals))
    bodies = [(holder.entity, reactivation(holder)) for holder, _ in found]
    for (holder, obj), (entity, body) in zip(found, bodies, strict=True):
        row = calls.update(entity, body, request_id=reactivation_request_id([(entity, body)]))
        type(obj).objects.filter(pk=obj.pk).update(qbo_sync_token=str(row.get("SyncToken") or ""))
        reactivated(holder, obj)
