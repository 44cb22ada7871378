from django import forms

from kadouri.text import single_line_name

from .models import Product


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = ["name", "sku", "description", "unit", "unit_price", "active"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

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
