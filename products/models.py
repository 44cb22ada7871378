from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse

from kadouri.qbo_link import QboLinkedModel, qbo_id_field
from kadouri.text import validate_multi_line, validate_single_line


class Product(QboLinkedModel):
    """Something Kadouri's sellers sell. Becomes a QuickBooks Service item."""

    qbo_id_field_name = "qbo_item_id"
    qbo_entity = "item"

    class Unit(models.TextChoices):
        LB = "lb", "lb"
        KG = "kg", "kg"
        CASE = "case", "case"
        BOX = "box", "box"
        PALLET = "pallet", "pallet"
        EACH = "each", "each"

    name = models.CharField(max_length=100, unique=True, validators=[validate_single_line])
    sku = models.CharField("SKU", max_length=50, blank=True, validators=[validate_single_line])
    description = models.TextField(blank=True, validators=[validate_multi_line])
    unit = models.CharField(max_length=10, choices=Unit.choices, default=Unit.CASE)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))])
    active = models.BooleanField(default=True)
    taxable = models.BooleanField(
        default=True, help_text="Sales tax applies to this product (US Automated Sales Tax companies)."
    )
    qbo_tax_code_id = models.CharField(
        "QuickBooks tax code",
        max_length=32,
        blank=True,
        help_text="Outside the US: the tax code sent on this product's lines. Blank: the default in Settings.",
        validators=[validate_single_line],
    )
    # Stock (docs/quickbooks/beyond.md#stock): an Inventory item in QuickBooks instead of a Service item.
    tracks_inventory = models.BooleanField(
        "track stock in QuickBooks",
        default=False,
        help_text="An Inventory item in QuickBooks: invoices lower its quantity on hand, returns raise it.",
    )
    starting_quantity = models.DecimalField(
        max_digits=14, decimal_places=3, null=True, blank=True, help_text="Quantity on hand when tracking starts."
    )
    inventory_start_date = models.DateField(
        "stock as of", null=True, blank=True, help_text="The date of the starting quantity."
    )
    qbo_qty_on_hand = models.DecimalField(
        "quantity on hand in QuickBooks", max_digits=14, decimal_places=3, null=True, blank=True, editable=False
    )
    qbo_qty_read_at = models.DateTimeField(null=True, blank=True, editable=False)
    qbo_item_id = qbo_id_field("QuickBooks item id")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        db_table = "products"
        indexes = [models.Index(fields=["qbo_item_id"])]
        constraints = [
            # SKUs identify products to people and in QuickBooks: one product per SKU, whatever its case.
            # Products without a SKU are fine.
            models.UniqueConstraint(
                Lower("sku"),
                condition=~models.Q(sku=""),
                name="product_sku_unique_ignoring_case",
                violation_error_message="Another product already has this SKU.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("products:detail", args=[self.pk])
