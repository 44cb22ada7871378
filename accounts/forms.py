from django import forms

from kadouri.text import single_line_name
from qbo_integration.adapt import RULES_PLACE
from qbo_integration.adapt.currency import currency_choices
from qbo_integration.forms import class_field

from .models import Account


class AccountForm(forms.ModelForm):
    class Meta:
        model = Account
        fields = [
            "name",
            "code",
            "email",
            "phone",
            "address_line1",
            "address_line2",
            "city",
            "region",
            "postal_code",
            "country",
            "active",
            "tax_exempt",
            "tax_exemption_reason",
            "currency",
            "notes",
            "qbo_class_id",
        ]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}
        labels = {"tax_exempt": "Tax exempt buyer", "tax_exemption_reason": "Exemption reason"}

    def __init__(self, *args, sales_tax: str = "none", **kwargs):
        # The exemption only means something to US Automated Sales Tax (qbo_integration/adapt/tax.py)
        super().__init__(*args, **kwargs)
        if sales_tax != "automated":
            del self.fields["tax_exempt"], self.fields["tax_exemption_reason"]
        self._currency_field()
        class_field(self, "qbo_class_id", blank=f"No class of its own (the default in {RULES_PLACE})")

    def clean(self):
        cleaned = super().clean()
        if "tax_exempt" not in self.fields:
            return cleaned
        if cleaned.get("tax_exempt") and not cleaned.get("tax_exemption_reason"):
            self.add_error("tax_exemption_reason", "Choose why the buyer is exempt: QuickBooks needs the reason.")
        elif not cleaned.get("tax_exempt"):
            cleaned["tax_exemption_reason"] = ""
        return cleaned

    def _currency_field(self) -> None:
        # A select of the QuickBooks company's currencies when Kadouri knows them, else a checked text input.
        choices, help_text = currency_choices(self.instance.currency)
        field = self.fields["currency"]
        if choices:
            self.fields["currency"] = forms.ChoiceField(
                choices=choices, required=False, label=field.label, help_text=help_text
            )
        else:
            field.help_text = help_text

    def clean_currency(self):
        return (self.cleaned_data.get("currency") or "").strip().upper()

    def clean_name(self):
        # The name becomes the QuickBooks DisplayName: one line, no invisible control characters.
        return single_line_name(self.cleaned_data["name"])

    def clean_code(self):
        return self.cleaned_data["code"].strip().upper()
