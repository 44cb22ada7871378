"""What the Settings card "The account code in QuickBooks" shows: the company's custom fields, what each carries,
and the fields chosen that QuickBooks no longer has (docs/quickbooks/beyond.md#the-account-code-in-quickbooks)."""

from __future__ import annotations

from dataclasses import dataclass, field

from kadouri.display import when

from ..adapt.custom_fields import CARRIED, chosen_fields, company_fields, missing_fields
from ..connection.profile import profile_for
from ..models import CompanyProfile, QboConnection


@dataclass(frozen=True)
class CustomFieldsCard:
    company_name: str
    profile_read: bool  # Kadouri has read the company's settings at least once
    fields: dict[str, str]  # the company's custom fields turned on: DefinitionId -> name
    carried: list[tuple[str, str]] = field(default_factory=list)  # (what, the field carrying it or "Not sent")
    warnings: list[str] = field(default_factory=list)
    initial: dict[str, str] = field(default_factory=dict)  # the form's choices, among the fields QuickBooks has

    @property
    def available(self) -> bool:
        return bool(self.fields)


def _warning(carried: str, definition: str, profile: CompanyProfile) -> str:
    return (
        f"Custom field {definition}, chosen for {CARRIED[carried]}, is no longer turned on in QuickBooks (its "
        f"settings read {when(profile.read_at)}): Kadouri has stopped sending it. Turn the field on again in "
        "QuickBooks, or choose another field."
    )


def custom_fields_card(conn: QboConnection) -> CustomFieldsCard:
    profile = profile_for(conn.realm_id)
    fields = company_fields(profile)
    chosen = chosen_fields(conn)
    carried = [
        (what.capitalize(), f"{fields[chosen[key]]} (custom field {chosen[key]})" if chosen.get(key) in fields else "")
        for key, what in CARRIED.items()
    ]
    return CustomFieldsCard(
        company_name=profile.company_name or conn.company_name or conn.realm_id,
        profile_read=profile.pk is not None,
        fields=fields,
        carried=[(what, shown or "Not sent") for what, shown in carried],
        warnings=[_warning(m.carried, m.definition_id, profile) for m in missing_fields(conn, profile)]
        if profile.pk is not None
        else [],
        initial={key: definition for key, definition in chosen.items() if definition in fields},
    )
