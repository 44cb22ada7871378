"""The Settings card's form for stock (docs/quickbooks/beyond.md#stock): the three accounts every Inventory item
needs, chosen from the company's own accounts of each type."""

from __future__ import annotations

from django import forms

from .adapt.stock import ACCOUNT_KINDS, account_choices
from .models import QboConnection

HELP = {
    "asset": "Other Current Asset: where QuickBooks values the stock on hand.",
    "income": "Income: where sales of stocked products go.",
    "cogs": "Cost of Goods Sold: what sold stock cost.",
}


class StockAccountsForm(forms.Form):
    def __init__(self, data=None, *, conn: QboConnection) -> None:
        super().__init__(data)
        self.conn = conn
        self.problems: list[str] = []
        for kind, spec in ACCOUNT_KINDS.items():
            listed = account_choices(kind, conn.realm_id)
            current = getattr(conn, spec.field) or ""
            choices = [("", "Choose an account…"), *listed.choices]
            if current and current not in dict(listed.choices):
                choices.append((current, f"Account {current} (not an active {spec.account_type} account now)"))
            if listed.problem and listed.problem not in self.problems:
                self.problems.append(listed.problem)
            self.fields[kind] = forms.ChoiceField(
                label=spec.label,
                choices=choices,
                initial=current or listed.suggested,
                help_text=HELP[kind],
                error_messages={"required": f"Choose the {spec.label.lower()}."},
            )

    def chosen_names(self) -> list[tuple[str, str]]:
        """(label, the chosen account's name) for people who may not change them."""
        names = []
        for kind, spec in ACCOUNT_KINDS.items():
            current = getattr(self.conn, spec.field) or ""
            names.append((spec.label, dict(self.fields[kind].choices).get(current, "") if current else ""))
        return names

    def save(self) -> None:
        # Only these fields: the row also holds the tokens, which a refresh may have changed meanwhile.
        for kind, spec in ACCOUNT_KINDS.items():
            setattr(self.conn, spec.field, self.cleaned_data[kind])
        self.conn.save(update_fields=[spec.field for spec in ACCOUNT_KINDS.values()] + ["updated_at"])
