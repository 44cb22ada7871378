"""Customers for accounts and items for products: stored ids are used as they are, rows without an id are linked
to a same-name QuickBooks record or created (30 per batch request), linked rows whose content changed since the
last push are updated. A create whose answer was lost is replayed by its batch's requestid, never sent blind."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from orders.models import Order
from products.models import Product

from .. import mapping
from ..adapt import names, stock
from ..adapt.currency import customer_currency_code
from ..client.errors import QboDuplicateError, QboError, QboStaleError, QboTransientError, batch_fault
from ..connection.vault import usable_connection
from ..documents.stock import quantity_store
from ..models import QboWebhookEvent
from ..outbox.jobs import request_id
from . import pacing
from .accounts import income_account_id
from .lookups import lookup_many, rows_by_id
from .pacing import BATCH_MAX_ITEMS, NO_PACER, Pacer


@dataclass
class RefResult:
    customers: dict[int, str] = field(default_factory=dict)  # account pk → Customer Id
    items: dict[int, str] = field(default_factory=dict)  # product pk → Item Id
    errors: dict[tuple[str, int], QboError] = field(default_factory=dict)


def _inactive_duplicate(kind: str, name: str, error: QboError) -> QboError:
    if not isinstance(error, QboDuplicateError):
        return error
    what = "customer, vendor or employee" if kind == "account" else "product or service"
    fix = (
        "Make it active in QuickBooks (Customers → include inactive), or rename the account in Kadouri"
        if kind == "account"
        else "Make it active in QuickBooks (Products and services → inactive), or rename the product in Kadouri"
    )
    message = (
        f"QuickBooks already has a {what} named “{name}” that Kadouri cannot use (it is probably inactive) "
        f"(QuickBooks error {error.code}). {fix}, then try again."
    )
    return QboDuplicateError(message, code=error.code, detail=error.detail, status=error.status)


@dataclass
class _Ref:
    kind: str  # account | product
    obj: Account | Product
    name: str
    payload: dict


def _refs_to_push(accounts: list[Account], products: list[Product], pacer: Pacer) -> list[_Ref]:
    refs: list[_Ref] = []
    names = mapping.customer_display_names(accounts)
    for account in accounts:
        payload = mapping.customer_payload(
            account, display_name=names[account.pk], currency=customer_currency_code(account)
        )
        refs.append(_Ref("account", account, names[account.pk], payload))
    if products:
        income = income_account_id(pacer)
        for product in products:
            refs.append(
                _Ref(
                    "product",
                    product,
                    mapping.item_name(product),
                    mapping.item_payload(product, income_account_id=income),
                )
            )
    return refs


ENTITY = {"account": ("Customer", "DisplayName", "qbo_customer_id"), "product": ("Item", "Name", "qbo_item_id")}


def ensure_refs(
    *, accounts: list[Account], products: list[Product], pacer: Pacer = NO_PACER, force_update: bool = False
) -> RefResult:
    """Customers for `accounts` and items for `products`: stored ids are used as they are; rows without
    an id are linked to a same-name QuickBooks record or created (30 per batch request); linked rows whose
    content changed since the last push are updated (sparse, 30 per batch; 5010 → re-read once)."""
    result = RefResult()
    accounts, products = list({a.pk: a for a in accounts}.values()), list({p.pk: p for p in products}.values())
    for product in products:  # an Inventory item the company can't have: refused before anything is sent
        if problem := stock.create_problem(product):
            result.errors[("product", product.pk)] = stock.StockRefused(f"Product “{product.name}”: {problem}")
    products = [p for p in products if ("product", p.pk) not in result.errors]
    refs = _refs_to_push(accounts, products, pacer)
    to_link = [r for r in refs if not getattr(r.obj, ENTITY[r.kind][2])]
    to_update = [
        r
        for r in refs
        if getattr(r.obj, ENTITY[r.kind][2])
        and (force_update or r.obj.qbo_fingerprint != mapping.fingerprint(r.payload))
    ]
    for ref in refs:
        if getattr(ref.obj, ENTITY[ref.kind][2]):
            _remember(result, ref, getattr(ref.obj, ENTITY[ref.kind][2]))
    to_link = _replay_in_flight(to_link, result, pacer)
    to_create = _link_existing(to_link, result, pacer)
    _create_refs(to_create, result, pacer)
    _update_refs(to_update, result, pacer)
    return result


def _remember(result: RefResult, ref: _Ref, qbo_id: str) -> None:
    (result.customers if ref.kind == "account" else result.items)[ref.obj.pk] = qbo_id


def _save_ref(ref: _Ref, row: dict, result: RefResult) -> None:
    model = type(ref.obj)
    id_field = ENTITY[ref.kind][2]
    model.objects.filter(pk=ref.obj.pk).update(
        **{
            id_field: row["Id"],
            "qbo_sync_token": row.get("SyncToken", ""),
            "qbo_fingerprint": mapping.fingerprint(ref.payload),
            "qbo_create_request": "",
        }
    )
    setattr(ref.obj, id_field, row["Id"])
    ref.obj.qbo_create_request = ""
    if ref.kind == "product":
        quantity_store(row, timezone.now())  # an Inventory item answers with its quantity on hand
    ref.obj.qbo_sync_token, ref.obj.qbo_fingerprint = row.get("SyncToken", ""), mapping.fingerprint(ref.payload)
    _remember(result, ref, row["Id"])


def _link_existing(refs: list[_Ref], result: RefResult, pacer: Pacer) -> list[_Ref]:
    groups = {kind: [r for r in refs if r.kind == kind] for kind in ("account", "product")}
    specs = [(ENTITY[kind][0], ENTITY[kind][1], [r.name for r in group]) for kind, group in groups.items() if group]
    found = lookup_many(specs, pacer) if specs else {}
    missing = []
    for kind, group in groups.items():
        entity, _, id_field = ENTITY[kind]
        model = Account if kind == "account" else Product
        for ref in group:
            row = found[entity].get(ref.name.casefold())
            if row is None:
                missing.append(ref)
            elif kind == "product" and (clash := stock.type_clash(ref.obj, row)):
                result.errors[(kind, ref.obj.pk)] = clash
            elif model.objects.filter(**{id_field: row["Id"]}).exclude(pk=ref.obj.pk).exists():
                result.errors[(kind, ref.obj.pk)] = QboDuplicateError(
                    f"QuickBooks {entity.lower()} “{ref.name}” is already linked to another Kadouri "
                    f"{kind}. Rename this {kind} in Kadouri so the names differ, then try again.",
                    code="6240",
                )
            else:
                _save_ref(ref, row, result)  # an existing same-name record is linked, not duplicated
    return missing


def _replay_in_flight(refs: list[_Ref], result: RefResult, pacer: Pacer) -> list[_Ref]:
    """Refs whose create batch got no answer (a worker died, a connection dropped) may exist in QuickBooks under
    a name changed since. Resending that batch's requestid makes QuickBooks answer what it did then
    (docs/quickbooks/api.md#idempotent-writes-requestid), so they are linked by id instead of created again (found by
    the soak). The whole batch is resent — every row still marked with its requestid — never a part of it: QuickBooks
    would keep the part's answer for the requestid, and the rest would never get one. Returns the refs still
    unlinked."""
    pending: dict[str, list[tuple[str, _Ref]]] = {}
    for ref in refs:
        rid, _, bid = ref.obj.qbo_create_request.partition("#")
        if rid and bid:
            pending.setdefault(rid, []).append((bid, ref))
    for rid, pairs in pending.items():
        pairs = pairs + _batch_siblings(rid, pairs, pacer)
        items = [{"bId": bid, "operation": "create", ENTITY[ref.kind][0]: ref.payload} for bid, ref in pairs]
        answers = pacing.batch(items, pacer, request_id=rid)
        for bid, ref in pairs:
            answer = answers.get(bid, {})
            if ENTITY[ref.kind][0] in answer:
                _save_ref(ref, answer[ENTITY[ref.kind][0]], result)
                _read_again_later(ref, answer[ENTITY[ref.kind][0]])
            elif answer or answers:
                # A definite refusal, or no word on it in the batch's answer (the requestid's answer is another
                # request's): nothing of it was created, the normal path decides.
                _set_in_flight(ref, "")
    return [ref for ref in refs if not getattr(ref.obj, ENTITY[ref.kind][2])]


def _batch_siblings(rid: str, pairs: list[tuple[str, _Ref]], pacer: Pacer) -> list[tuple[str, _Ref]]:
    """The other rows still marked with this batch's requestid (another push's orders' buyers and products)."""
    prefix, known = f"{rid}#", {(ref.kind, ref.obj.pk) for _, ref in pairs}
    accounts = [
        a for a in Account.objects.filter(qbo_create_request__startswith=prefix) if ("account", a.pk) not in known
    ]
    products = [
        p for p in Product.objects.filter(qbo_create_request__startswith=prefix) if ("product", p.pk) not in known
    ]
    return [(ref.obj.qbo_create_request.partition("#")[2], ref) for ref in _refs_to_push(accounts, products, pacer)]


def _read_again_later(ref: _Ref, row: dict) -> None:
    """A record linked by replaying a lost create's requestid is the version QuickBooks created then; a bookkeeper
    may have changed it since — renamed it while Kadouri did not know its id, so its webhook was ignored (found by
    the soak). One inbox event reads its current version; only such late links cost that read."""
    realm_id, entity = usable_connection().realm_id, ENTITY[ref.kind][0]
    QboWebhookEvent.objects.get_or_create(
        dedupe_key=f"relinked:{realm_id}:{entity}:{row['Id']}:{row.get('SyncToken')}"[:200],
        defaults={
            "source": QboWebhookEvent.Source.MANUAL,
            "realm_id": realm_id,
            "entity": entity,
            "entity_id": str(row["Id"])[:32],
            "operation": "Update",
        },
    )


def _set_in_flight(ref: _Ref, marker: str) -> None:
    ref.obj.qbo_create_request = marker
    type(ref.obj).objects.filter(pk=ref.obj.pk).update(qbo_create_request=marker)


@transaction.atomic
def _claim_creates(refs: list[_Ref], result: RefResult) -> tuple[list[_Ref], list[dict], str, list[_Ref]]:
    """Under the rows' lock, which refs this push creates: not those another push linked or began creating since
    this one looked — their create is replayed by its requestid instead, never sent twice (found by the soak: a
    customer renamed in QuickBooks while one push's answer was lost got a second customer from another push). The
    markers are committed before the request leaves, so even a worker killed mid-request leaves them behind.
    Returns the refs to create, their batch items and requestid, and the refs another push is creating."""
    mine, others = [], []
    for kind in ("account", "product"):
        group = [r for r in refs if r.kind == kind]
        id_field = ENTITY[kind][2]
        model = Account if kind == "account" else Product
        rows = model.objects.select_for_update().filter(pk__in=[r.obj.pk for r in group]).order_by("pk")
        current = {row[0]: row[1:] for row in rows.values_list("pk", id_field, "qbo_create_request")}
        for ref in group:
            linked, marker = current.get(ref.obj.pk, (None, ""))
            if linked:
                setattr(ref.obj, id_field, linked)
                _remember(result, ref, linked)
            elif marker:
                ref.obj.qbo_create_request = marker
                others.append(ref)
            else:
                mine.append(ref)
    items = [{"bId": f"r{n}", "operation": "create", ENTITY[r.kind][0]: r.payload} for n, r in enumerate(mine)]
    rid = request_id("refs:" + "|".join(f"{r.kind}{r.obj.pk}:{mapping.fingerprint(r.payload)}" for r in mine))
    for ref, item in zip(mine, items, strict=True):
        _set_in_flight(ref, f"{rid}#{item['bId']}")
    return mine, items, rid, others


def _join_other_creates(refs: list[_Ref], result: RefResult, pacer: Pacer) -> None:
    """Refs another push began creating: its requestid answers what QuickBooks did (or does it now, once)."""
    for ref in _replay_in_flight(refs, result, pacer):
        entity = ENTITY[ref.kind][0]
        result.errors[(ref.kind, ref.obj.pk)] = QboTransientError(
            f"Another push is creating {entity.lower()} “{ref.name}” in QuickBooks; Kadouri retries.",
        )


def _create_refs(refs: list[_Ref], result: RefResult, pacer: Pacer) -> None:
    for start in range(0, len(refs), BATCH_MAX_ITEMS):
        chunk, items, rid, others = _claim_creates(refs[start : start + BATCH_MAX_ITEMS], result)
        _join_other_creates(others, result, pacer)
        if not chunk:
            continue
        answers = pacing.batch(items, pacer, request_id=rid)
        taken: list[tuple[_Ref, QboError]] = []
        for n, ref in enumerate(chunk):
            answer = answers.get(f"r{n}", {})
            entity = ENTITY[ref.kind][0]
            if entity in answer:
                _save_ref(ref, answer[entity], result)
                continue
            if not answer:  # no word on this item: it may exist; the marker stays for the next try's replay
                result.errors[(ref.kind, ref.obj.pk)] = QboTransientError(
                    f"QuickBooks did not answer for {entity.lower()} “{ref.name}”; Kadouri retries.", in_doubt=True
                )
                continue
            _set_in_flight(ref, "")  # a definite refusal: nothing was created
            error = batch_fault(answer.get("Fault"), f"{entity} “{ref.name}”")
            if isinstance(error, QboDuplicateError):
                taken.append((ref, error))
            else:
                result.errors[(ref.kind, ref.obj.pk)] = error
        if taken:
            # The name was free at our look-up and taken at our create: another push of an order with the same
            # buyer or product created it in between (found by the soak), or an earlier try whose answer was
            # lost did. Link it as the look-up would have; a name that stays invisible (a vendor's, an employee's,
            # an inactive record's) goes to the company rules.
            missing = {id(ref) for ref in _link_existing([ref for ref, _ in taken], result, pacer)}
            _settle_taken([(ref, error) for ref, error in taken if id(ref) in missing], result, pacer)


def _settle_taken(taken: list[tuple[_Ref, QboError]], result: RefResult, pacer: Pacer) -> None:
    """A name QuickBooks refused (6240) that no active customer or item has: who has it decides, by the company
    rules (docs/quickbooks/next.md#shared-names-and-sub-customers): an inactive record is made active and linked, a
    vendor's or an employee's name gets the rule's suffix and is created again (once: a suffixed name is never
    suffixed again), or the push is refused in plain words."""
    if not taken:
        return
    wanted: dict[str, list[str]] = {}
    for ref, _ in taken:
        wanted.setdefault(ref.kind, []).append(ref.name)
    holders = names.find_holders(wanted, lambda items: pacing.batch(items, pacer))
    reactivate, suffixed = [], []
    for ref, error in taken:
        decision = names.decide(ref.kind, ref.obj, ref.name, holders.get((ref.kind, ref.name.casefold())), error)
        id_field = ENTITY[ref.kind][2]
        if (
            decision.action == "reactivate"
            and type(ref.obj).objects.filter(**{id_field: decision.holder.row["Id"]}).exclude(pk=ref.obj.pk).exists()
        ):
            decision = names.Decision("refuse", error=names.unseen_holder(ref.kind, ref.name, error))
        if decision.action == "reactivate":
            reactivate.append((ref, decision.holder))
        elif decision.action == "suffix":
            names.remember_suffix(ref.obj, decision, ref.name)  # committed before the suffixed create leaves
            suffixed.append(ref.obj)
        else:
            result.errors[(ref.kind, ref.obj.pk)] = decision.error
    _reactivate(reactivate, result, pacer)
    if suffixed:
        _create_refs(_refs_to_push(suffixed, [], pacer), result, pacer)


def _reactivate(pairs: list[tuple[_Ref, names.Holder]], result: RefResult, pacer: Pacer) -> None:
    """Inactive records that have the name, made active (a sparse update of Active alone) and linked."""
    for start in range(0, len(pairs), BATCH_MAX_ITEMS):
        chunk = pairs[start : start + BATCH_MAX_ITEMS]
        bodies = [(holder.entity, names.reactivation(holder)) for _, holder in chunk]
        items = [{"bId": f"a{n}", "operation": "update", entity: body} for n, (entity, body) in enumerate(bodies)]
        answers = pacing.batch(items, pacer, request_id=names.reactivation_request_id(bodies))
        for n, (ref, holder) in enumerate(chunk):
            answer = answers.get(f"a{n}", {})
            if holder.entity in answer:
                _save_ref(ref, answer[holder.entity], result)
                names.reactivated(holder, ref.obj)
            elif answer:
                result.errors[(ref.kind, ref.obj.pk)] = batch_fault(answer["Fault"], f"{holder.entity} “{ref.name}”")
            else:  # no word: the next try's look-up finds it active, or reactivates it then
                result.errors[(ref.kind, ref.obj.pk)] = QboTransientError(
                    f"QuickBooks did not answer for {holder.entity.lower()} “{ref.name}”; Kadouri retries."
                )


def _update_refs(refs: list[_Ref], result: RefResult, pacer: Pacer, *, reread: bool = True) -> None:
    stale: list[_Ref] = []
    for start in range(0, len(refs), BATCH_MAX_ITEMS):
        chunk = refs[start : start + BATCH_MAX_ITEMS]
        items = [
            {
                "bId": f"u{n}",
                "operation": "update",
                ENTITY[r.kind][0]: {
                    "Id": getattr(r.obj, ENTITY[r.kind][2]),
                    "SyncToken": r.obj.qbo_sync_token or "0",
                    "sparse": True,
                    **r.payload,
                },
            }
            for n, r in enumerate(chunk)
        ]
        # Stable per content of the batch: a retry of the same updates is replayed by QuickBooks
        # (docs/quickbooks/api.md#idempotent-writes-requestid); after a 5010 re-read (other SyncTokens) or a correction
        # in Kadouri (other content) it gets its own id, or QuickBooks would answer the corrected batch with the cached
        # failure.
        rid = request_id(
            "ref-updates:"
            + "|".join(
                f"{r.kind}:{getattr(r.obj, ENTITY[r.kind][2])}:{r.obj.qbo_sync_token or '0'}:"
                f"{mapping.fingerprint(r.payload)}"
                for r in chunk
            )
        )
        answers = pacing.batch(items, pacer, request_id=rid)
        for n, ref in enumerate(chunk):
            answer, entity = answers.get(f"u{n}", {}), ENTITY[ref.kind][0]
            if entity in answer:
                _save_ref(ref, answer[entity], result)
                continue
            error = batch_fault(answer.get("Fault"), f"{entity} “{ref.name}”")
            if isinstance(error, QboStaleError) and reread:
                stale.append(ref)
            else:
                result.errors[(ref.kind, ref.obj.pk)] = _inactive_duplicate(ref.kind, ref.name, error)
    if stale:  # 5010: someone changed it in QuickBooks; re-read the SyncTokens and re-apply once
        for kind in ("account", "product"):
            group = [r for r in stale if r.kind == kind]
            if not group:
                continue
            entity, _, id_field = ENTITY[kind]
            rows = rows_by_id(entity, [getattr(r.obj, id_field) for r in group], pacer)
            for ref in group:
                row = rows.get(str(getattr(ref.obj, id_field)), {})
                ref.obj.qbo_sync_token = row.get("SyncToken", ref.obj.qbo_sync_token)
        _update_refs(stale, result, pacer, reread=False)


def refs_for_order(order: Order, pacer: Pacer = NO_PACER) -> tuple[str, dict[int, str]]:
    products = [line.product for line in order.lines.all()]
    refs = ensure_refs(accounts=[order.buyer], products=products, pacer=pacer)
    for key in [("account", order.buyer_id)] + [("product", p.pk) for p in products]:
        if key in refs.errors:
            raise refs.errors[key]
    return refs.customers[order.buyer_id], refs.items
