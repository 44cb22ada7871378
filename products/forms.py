from django import forms

from kadouri.text import single_line_name
from qbo_integration.adapt import RULES_PLACE
from qbo_integration.adapt.tax import tax_code_choices

from .models import Product


class ProductForm(forms.ModelForm):
    """`sales_tax` is the connected company's model: the taxable flag only for US Automated Sales Tax, the tax
    code (one of `tax_codes`, the company's own) only where every line needs one."""

    class Meta:
        model = Product
        fields = ["name", "sku", "description", "unit", "unit_price", "active", "taxable", "qbo_tax_code_id"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, sales_tax: str = "none", tax_codes: list[tuple[str, str]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if sales_tax != "automated":
            del self.fields["taxable"]
        if sales_tax != "global":
            del self.fields["qbo_tax_code_id"]
            return
        blank = f"The default tax code ({RULES_PLACE})"
        choices = tax_code_choices(self.instance.qbo_tax_code_id, tax_codes or [], blank)
        self.fields["qbo_tax_code_id"] = forms.ChoiceField(
            label="QuickBooks tax code",
            choices=choices,
            required=False,
            help_text="Sent on this product's lines; QuickBooks computes the tax.",
        )

    def clean_sku(self):
        sku = self.cleaned_data["sku"].strip()
        if sku and Product.objects.filter(sku__iexact=sku).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("Another product already has this SKU.")
        return sku

    def clean_name(self):
        name = single_line_name(self.cleaned_data["name"])  # becomes the QuickBooks item name
        if Product.objects.filter(name__iexact=name).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("Another product already has this name (QuickBooks item names are unique).")
        return name
