from django import forms

from .models import Account


class AccountForm(forms.ModelForm):
    class Meta:
        model = Account
        fields = ["name", "code", "email", "phone", "address_line1", "address_line2", "city", "region",
                  "postal_code", "country", "active", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def clean_code(self):
        return self.cleaned_data["code"].strip().upper()
