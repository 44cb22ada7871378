"""Forms of the QuickBooks Settings page."""

from __future__ import annotations

from django import forms

from .adapt.tax import tax_code_choices
from .models import QboConnection


class CompanyRulesForm(forms.ModelForm):
    """What Kadouri does where a real company differs from the idealised one: names QuickBooks already uses
    for a vendor or an employee, inactive customers and items."""

    class Meta:
        model = QboConnection
        fields = ["shared_name_rule", "inactive_rule", "default_tax_code_id"]
        labels = {
            "shared_name_rule": "A buyer's name is already a vendor or an employee",
            "inactive_rule": "A customer or item is inactive in QuickBooks",
        }
        widgets = {"shared_name_rule": forms.RadioSelect, "inactive_rule": forms.RadioSelect}

    def __init__(self, *args, sales_tax: str = "none", tax_codes=None, tax_codes_missing: str = "", **kwargs):
        """The default tax code only for a company that needs a tax code on every line (adapt/tax.py), chosen
        from its own codes (`tax_codes`; `tax_codes_missing` says why the list could not be read)."""
        super().__init__(*args, **kwargs)
        if sales_tax != "global":
            del self.fields["default_tax_code_id"]
            return
        current = self.instance.default_tax_code_id if self.instance else ""
        help_text = "Sent on the lines of products that have no tax code of their own."
        if tax_codes_missing:
            help_text += f" {tax_codes_missing} The list is missing; the current choice is kept."
        self.fields["default_tax_code_id"] = forms.ChoiceField(
            label="Default tax code",
            choices=tax_code_choices(current, tax_codes or [], "None: every product needs its own"),
            required=False,
            help_text=help_text,
        )
