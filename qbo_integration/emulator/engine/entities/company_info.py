"""CompanyInfo (docs/quickbooks/api.md#url-pattern): one per company, read as ``/companyinfo/<realmId>``, updated but
never created."""

from __future__ import annotations

from ..errors import required
from ..ledger import Ledger
from ..values import Obj, names
from .base import EntityKind


class CompanyInfo(EntityKind):
    name = "CompanyInfo"
    creatable = False
    writable = names(
        "CompanyName LegalName CompanyAddr CustomerCommunicationAddr LegalAddr "
        "CustomerCommunicationEmailAddr PrimaryPhone CompanyStartDate "
        "FiscalYearStartMonth Country Email WebAddr SupportedLanguages NameValue"
    )

    def build(self, books: Ledger, fields: Obj, old: Obj | None, body: Obj, include: frozenset[str]) -> Obj:
        if not fields.get("CompanyName"):
            raise required("CompanyName")
        return dict(fields)

    def read_id(self, books: Ledger, entity_id: str) -> str:
        # docs/quickbooks/api.md#url-pattern: /companyinfo/<realmId>
        return "1" if entity_id == books.company.realm_id else entity_id
