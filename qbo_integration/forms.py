"""Forms of the QuickBooks Settings page."""

from __future__ import annotations

from django import forms

from .adapt.classes import class_options
from .adapt.tax import tax_code_choices
from .models import QboConnection


def class_field(form: forms.BaseForm, name: str, *, blank: str) -> None:
    """Makes model field `name` (a QuickBooks class id) a select of the company's active classes; removes it when
    the company does not track classes (the stored value is then left alone). QuickBooks unreachable: the select
    keeps the current class and its help says why (docs/quickbooks/next.md#class-and-location-tracking)."""
    options = class_options()
    if not options.tracked:
        form.fields.pop(name, None)
        return
    current = str(form.initial.get(name) or "")
    choices = [("", blank), *options.choices]
    if current and current not in dict(options.choices):
        choices.append((current, f"Class {current} (not an active class in QuickBooks)"))
    field = form.fields[name]
    help_text = f"{field.help_text} {options.problem}".strip()
    form.fields[name] = forms.ChoiceField(choices=choices, required=False, label=field.label, help_text=help_text)


class CompanyRulesForm(forms.ModelForm):
    """What Kadouri does where a real company differs from the idealised one: names QuickBooks already uses
    for a vendor or an employee, inactive customers and items."""

    class Meta:
        model = QboConnection
        fields = [
            "shared_name_rule",
            "inactive_rule",
            "default_tax_code_id",
            "default_class_id",
            "allow_unapplied_credit",
        ]
        labels = {
            "allow_unapplied_credit": "Allow payments above the open balance (kept as the buyer's credit)",
            "shared_name_rule": "A buyer's name is already a vendor or an employee",
            "inactive_rule": "A customer or item is inactive in QuickBooks",
            "default_class_id": "Default class",
        }
        widgets = {"shared_name_rule": forms.RadioSelect, "inactive_rule": forms.RadioSelect}

    def __init__(self, *args, sales_tax: str = "none", tax_codes=None, tax_codes_missing: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        class_field(self, "default_class_id", blank="No default class")
        self._tax_code_field(sales_tax, tax_codes or [], tax_codes_missing)

    def _tax_code_field(self, sales_tax: str, tax_codes: list, tax_codes_missing: str) -> None:
        """The default tax code only for a company that needs a tax code on every line (adapt/tax.py), chosen
        from its own codes (`tax_codes`; `tax_codes_missing` says why the list could not be read)."""
        if sales_tax != "global":
            del self.fields["default_tax_code_id"]
            return
        current = self.instance.default_tax_code_id if self.instance else ""
        help_text = "Sent on the lines of products that have no tax code of their own."
        if tax_codes_missing:
            help_text += f" {tax_codes_missing} The list is missing; the current choice is kept."
        self.fields["default_tax_code_id"] = forms.ChoiceField(
            label="Default tax code",
            choices=tax_code_choices(current, tax_codes, "None: every product needs its own"),
            required=False,
            help_text=help_text,
        )


class PaymentForm(forms.Form):
    """Record payment (views/payment_pages.py). The fields hold what was typed; the service checks them
    (adapt/money_input.py) and its refusal comes back on the field it names."""

    amount = forms.CharField(label="Amount", max_length=40)
    date = forms.CharField(label="Date", max_length=20, required=False, widget=forms.DateInput(attrs={"type": "date"}))
    method = forms.CharField(label="Payment method", required=False, widget=forms.Select)
    reference = forms.CharField(label="Reference (check or wire number)", max_length=21, required=False)
    deposit_to = forms.CharField(label="Deposit to", required=False, widget=forms.Select)
    token = forms.CharField(widget=forms.HiddenInput)

    FIELDS = {
        "amount": "amount",
        "date": "date",
        "method": "method",
        "reference": "reference",
        "depositTo": "deposit_to",
        "currency": "amount",
    }

    def __init__(self, *args, methods=(), accounts=(), **kwargs):
        super().__init__(*args, **kwargs)
        # Plain selects: an id QuickBooks does not have is refused by the service, in its words
        self.fields["method"].widget.choices = [("", "—"), *methods]
        self.fields["deposit_to"].widget.choices = list(accounts)
        self.fields["amount"].widget.attrs.update({"inputmode": "decimal", "autocomplete": "off"})

    def refuse(self, field: str, message: str) -> None:
        self.add_error(self.FIELDS.get(field) if field in self.FIELDS else None, message)


class PaymentDeleteForm(forms.Form):
    reason = forms.CharField(label="Why is this payment deleted?", max_length=300)
    token = forms.CharField(widget=forms.HiddenInput)
