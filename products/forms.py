from decimal import Decimal

from django import forms

from kadouri.forms import PlainDecimalField
from kadouri.text import single_line_name
from qbo_integration.adapt import RULES_PLACE
from qbo_integration.adapt.stock import unavailable_reason
from qbo_integration.adapt.tax import tax_code_choices

from .models import Product


class ProductForm(forms.ModelForm):
    """`sales_tax` is the connected company's model: the taxable flag only for US Automated Sales Tax, the tax
    code (one of `tax_codes`, the company's own) only where every line needs one."""

    class Meta:
        model = Product
        fields = [
            "name",
            "sku",
            "description",
            "unit",
            "unit_price",
            "active",
            "taxable",
            "qbo_tax_code_id",
            "tracks_inventory",
            "starting_quantity",
            "inventory_start_date",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "inventory_start_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }
        field_classes = {"starting_quantity": PlainDecimalField}

    def __init__(self, *args, sales_tax: str = "none", tax_codes: list[tuple[str, str]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._stock_fields()
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

    # --- stock (docs/quickbooks/beyond.md#stock) ------------------------------------------------------------

    @property
    def _in_quickbooks_as_inventory(self) -> bool:
        return bool(self.instance.qbo_item_id) and self.instance.tracks_inventory

    def _stock_fields(self) -> None:
        track = self.fields["tracks_inventory"]
        track.help_text = (
            "An Inventory item in QuickBooks: QuickBooks keeps its quantity on hand; invoices and cash sales lower "
            "it, credits of returned goods raise it."
        )
        if self._in_quickbooks_as_inventory:
            for name in ("starting_quantity", "inventory_start_date"):
                self.fields[name].disabled = True
                self.fields[name].help_text = "Sent when the item was created; QuickBooks keeps the quantity now."
            return
        if not self.instance.qbo_item_id and not self.instance.tracks_inventory and (reason := unavailable_reason()):
            track.help_text += f" Not available now: {reason}"
        self.fields["starting_quantity"].help_text = "Required with stock: the quantity on hand when tracking starts."
        self.fields["inventory_start_date"].help_text = "Required with stock: the date of that quantity."

    def clean(self):
        cleaned = super().clean()
        tracks = cleaned.get("tracks_inventory")
        if self.instance.qbo_item_id and tracks != self.instance.tracks_inventory:
            self.add_error("tracks_inventory", self._type_change_error(tracks))
        elif tracks and not self.instance.qbo_item_id:
            self._check_new_inventory_item(cleaned)
        if not tracks and not self.instance.tracks_inventory:
            cleaned["starting_quantity"], cleaned["inventory_start_date"] = None, None
        return cleaned

    def _type_change_error(self, tracks: bool) -> str:
        item = f"item {self.instance.qbo_item_id}"
        if tracks:
            return (
                f"This product is already in QuickBooks as a Service item ({item}), and QuickBooks does not change "
                "an item's type. To track its stock, create a new product under another name with “Track stock in "
                "QuickBooks” on, and make this one inactive."
            )
        return (
            f"This product is an Inventory item in QuickBooks ({item}), and QuickBooks does not change an item's type "
            "or stop tracking its quantity. Make the product inactive instead if it is no longer sold."
        )

    def _check_new_inventory_item(self, cleaned: dict) -> None:
        reason = unavailable_reason()
        if reason:
            self.add_error("tracks_inventory", f"Stock cannot be tracked: {reason}")
            return
        quantity = cleaned.get("starting_quantity")
        if quantity is None and "starting_quantity" not in self.errors:
            self.add_error("starting_quantity", "Enter the quantity on hand when tracking starts (0 for none).")
        elif quantity is not None and quantity < Decimal(0):
            self.add_error("starting_quantity", "The starting quantity cannot be negative.")
        if cleaned.get("inventory_start_date") is None and "inventory_start_date" not in self.errors:
            self.add_error("inventory_start_date", "Enter the date of the starting quantity.")
