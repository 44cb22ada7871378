from django import forms

from kadouri.text import single_line_name
from qbo_integration.adapt.currency import currency_choices

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
            "currency",
            "notes",
        ]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
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
