"""Forms of the QuickBooks Settings page."""

from __future__ import annotations

from django import forms

from .models import QboConnection


class CompanyRulesForm(forms.ModelForm):
    """What Kadouri does where a real company differs from the idealised one: names QuickBooks already uses
    for a vendor or an employee, inactive customers and items."""

    class Meta:
        model = QboConnection
        fields = ["shared_name_rule", "inactive_rule"]
        labels = {
            "shared_name_rule": "A buyer's name is already a vendor or an employee",
            "inactive_rule": "A customer or item is inactive in QuickBooks",
        }
        widgets = {"shared_name_rule": forms.RadioSelect, "inactive_rule": forms.RadioSelect}
