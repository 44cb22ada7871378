"""The Settings form choosing the custom fields that carry the account code and the seller
(docs/quickbooks/beyond.md#the-account-code-in-quickbooks)."""

from __future__ import annotations

from django import forms

NOT_SENT = "Not sent"


class CustomFieldsForm(forms.Form):
    account_code = forms.ChoiceField(
        label="Buyer's account code",
        required=False,
        help_text="The buyer account's code (e.g. HFM), on every invoice, estimate, cash sale and credit memo.",
    )
    seller = forms.ChoiceField(
        label="Seller",
        required=False,
        help_text="The seller account's name, cut to 31 characters.",
    )

    def __init__(self, *args, fields: dict[str, str], **kwargs):
        """`fields`: the company's custom fields turned on, DefinitionId -> name."""
        super().__init__(*args, **kwargs)
        choices = [("", NOT_SENT), *((d, f"{name} (custom field {d})") for d, name in fields.items())]
        for name in ("account_code", "seller"):
            self.fields[name].choices = choices
            self.fields[name].error_messages["invalid_choice"] = (
                "QuickBooks has no sales-form custom field %(value)s turned on: choose one of the company's fields."
            )

    def clean(self):
        data = super().clean()
        code, seller = data.get("account_code"), data.get("seller")
        if code and code == seller:
            self.add_error(
                "seller",
                "One custom field can carry only one thing: choose another field for the seller, or “Not sent”.",
            )
        return data
