"""Change data capture (docs/quickbooks/api.md#change-data-capture): every object of the asked entities changed since a
moment, deletions included."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from .books import Books
from .catalogue import MODELLED, NOT_IN_CDC, entity_named
from .errors import invalid_enum, invalid_value, required, unsupported
from .times import parse_instant, public_time
from .values import Obj

CDC_LOOKBACK = timedelta(days=30)  # docs/quickbooks/api.md#change-data-capture
CDC_LIMIT = 1000  # docs/quickbooks/api.md#change-data-capture


def run_cdc(books: Books, params: dict[str, str]) -> Obj:
    names = [n.strip() for n in params.get("entities", "").split(",") if n.strip()]
    if not names:
        raise required("entities")
    raw_since = params.get("changedSince", "").strip()
    if not raw_since:
        raise required("changedSince")
    since = parse_instant(raw_since)
    if since is None:
        raise invalid_value("changedSince")
    if since < books.now - CDC_LOOKBACK:  # docs/quickbooks/api.md#change-data-capture: 30-day look-back
        raise unsupported(
            f"Operation cdc with changedSince date {raw_since} which is older than fixed days is not supported."
        )
    known = [entity_named(name) for name in names]
    for name, entity in zip(names, known, strict=True):
        if entity is None:
            raise invalid_enum("entities", name)
    wanted = [e for e in dict.fromkeys(known) if e in MODELLED and e not in NOT_IN_CDC]
    changes = sorted(changes_since(books, wanted, since), key=lambda c: c[0])
    changes = changes[:CDC_LIMIT]  # docs/quickbooks/api.md#change-data-capture: at most 1,000 objects
    groups = []
    for entity in wanted:
        found = [row for _, name, row in changes if name == entity]
        if found:
            groups.append({entity: found, "startPosition": 1, "maxResults": len(found)})
    return {"CDCResponse": [{"QueryResponse": groups or [{}]}]}


def changes_since(books: Books, entities: list[str], since: datetime) -> Iterable[tuple[datetime, str, Obj]]:
    balances = books.customer_balances()
    for entity in entities:
        for obj in books.rows(entity):
            changed = datetime.fromisoformat(obj["MetaData"]["LastUpdatedTime"])
            if changed >= since:
                yield changed, entity, books.render(entity, obj, balances=balances)
    for tombstone in books.company.deleted:
        changed = datetime.fromisoformat(tombstone["time"])
        if tombstone["entity"] in entities and changed >= since:
            yield (
                changed,
                tombstone["entity"],
                {  # docs/quickbooks/api.md#change-data-capture: deleted objects
                    "Id": tombstone["Id"],
                    "status": "Deleted",
                    "domain": "QBO",
                    "MetaData": {"LastUpdatedTime": public_time(tombstone["time"])},
                },
            )
