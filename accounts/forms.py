from django import forms

from kadouri.text import single_line_name
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
            "notes",
            "qbo_class_id",
        ]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        class_field(self, "qbo_class_id", blank="No class of its own (the Settings default)")

    def clean_name(self):
        # The name becomes the QuickBooks DisplayName: one line, no invisible control characters.
        return single_line_name(self.cleaned_data["name"])

    def clean_code(self):
        return self.cleaned_data["code"].strip().upper()
