"""One QBO company (realm): its tables, id and DocNumber sequences, deletions, the requestid cache and the mail it
sent (engine/delivery.py)."""

from __future__ import annotations

import copy
import threading
from datetime import datetime
from typing import Any, NamedTuple

from ..clock import Clock
from .catalogue import DOC_NUMBERED, MODELLED
from .values import Obj, decode_state, encode_state

REQUEST_CACHE_LIMIT = 10_000
FIRST_DOC_NUMBER = 1001


class Event(NamedTuple):
    """A change to report once the company lock is released (webhooks listen to these)."""

    entity: str
    entity_id: str
    operation: str
    when: datetime
    extra: dict[str, str]


class Company:
    """Entities per type, id and DocNumber sequences, the deletion log CDC reads, and the requestid cache.
    Guard mutations with ``lock``."""

    def __init__(self, realm_id: str, name: str, clock: Clock) -> None:
        self.realm_id = realm_id
        self.name = name
        self.clock = clock
        self.lock = threading.RLock()
        self.entities: dict[str, dict[str, Obj]] = {e: {} for e in MODELLED}
        self.next_ids: dict[str, int] = {e: 1 for e in MODELLED}
        self.next_doc_numbers: dict[str, int] = {e: FIRST_DOC_NUMBER for e in DOC_NUMBERED}
        self.deleted: list[dict[str, str]] = []  # {"entity", "Id", "time"}
        self.responses: dict[str, list[Any]] = {}  # requestid -> [status, body]
        self.sent_mail: list[dict[str, str]] = []  # {"time", "entity", "Id", "DocNumber", "customer", "to"}

    def remember(self, request_id: str, status: int, body: Obj) -> None:
        self.responses[request_id] = [status, copy.deepcopy(body)]
        while len(self.responses) > REQUEST_CACHE_LIMIT:
            del self.responses[next(iter(self.responses))]

    def to_state(self) -> Obj:
        return {
            "realmId": self.realm_id,
            "name": self.name,
            "entities": encode_state(self.entities),
            "nextIds": dict(self.next_ids),
            "nextDocNumbers": dict(self.next_doc_numbers),
            "deleted": copy.deepcopy(self.deleted),
            "responses": copy.deepcopy(self.responses),
            "sentMail": copy.deepcopy(self.sent_mail),
        }

    @classmethod
    def from_state(cls, data: Obj, clock: Clock) -> Company:
        try:
            company = cls(str(data["realmId"]), str(data["name"]), clock)
            entities = decode_state(data["entities"])
            for entity in MODELLED:
                company.entities[entity] = dict(entities.get(entity, {}))
                company.next_ids[entity] = int(data["nextIds"].get(entity, 1))
            for entity in DOC_NUMBERED:
                stored = data["nextDocNumbers"].get(entity, FIRST_DOC_NUMBER)
                company.next_doc_numbers[entity] = int(stored)
            company.deleted = [dict(d) for d in data["deleted"]]
            company.responses = {str(k): list(v) for k, v in data["responses"].items()}
            company.sent_mail = [dict(mail) for mail in data.get("sentMail", [])]  # absent from older state files
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ValueError(f"invalid company state: {error!r}") from None
        return company
