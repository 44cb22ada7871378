from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse

from kadouri.display import home_currency
from kadouri.qbo_link import QboLinkedModel, qbo_id_field
from kadouri.text import validate_multi_line, validate_single_line

# Intuit's TaxExemptionReasonId values (docs/quickbooks/next.md#sales-tax-in-the-us).
TAX_EXEMPTION_REASONS = [
    ("1", "Federal government"),
    ("2", "State government"),
    ("3", "Local government"),
    ("4", "Tribal government"),
    ("5", "Charitable organization"),
    ("6", "Religious organization"),
    ("7", "Educational organization"),
    ("8", "Hospital"),
    ("9", "Resale"),
    ("10", "Direct pay permit"),
    ("11", "Multiple points of use"),
    ("12", "Direct mail"),
    ("13", "Agricultural production"),
    ("14", "Industrial production / manufacturing"),
    ("15", "Foreign diplomat"),
]


def validate_currency_code(value: str) -> None:
    if value and not (len(value) == 3 and value.isascii() and value.isalpha() and value.isupper()):
        raise ValidationError("Enter a three-letter currency code in capitals, e.g. CAD.", code="currency_code")


class Account(QboLinkedModel):
    """A company Kadouri brokers for: a seller, a buyer, or both. Becomes a QuickBooks Customer."""

    qbo_id_field_name = "qbo_customer_id"
    qbo_entity = "customer"

    name = models.CharField(max_length=200, validators=[validate_single_line])
    code = models.CharField(
        max_length=20, unique=True, help_text="Short unique code, e.g. ACME.", validators=[validate_single_line]
    )
    email = models.EmailField(blank=True, validators=[validate_single_line])
    phone = models.CharField(max_length=40, blank=True, validators=[validate_single_line])
    address_line1 = models.CharField("address line 1", max_length=200, blank=True, validators=[validate_single_line])
    address_line2 = models.CharField("address line 2", max_length=200, blank=True, validators=[validate_single_line])
    city = models.CharField(max_length=100, blank=True, validators=[validate_single_line])
    region = models.CharField("state / region", max_length=100, blank=True, validators=[validate_single_line])
    postal_code = models.CharField(max_length=20, blank=True, validators=[validate_single_line])
    country = models.CharField(max_length=100, blank=True, default="USA", validators=[validate_single_line])
    active = models.BooleanField(default=True)
    currency = models.CharField(
        max_length=3,
        blank=True,
        validators=[validate_single_line, validate_currency_code],
        help_text="ISO code the buyer pays in, e.g. CAD. Blank: the QuickBooks company's home currency.",
    )
    tax_exempt = models.BooleanField(
        default=False, help_text="The buyer pays no sales tax (US Automated Sales Tax companies)."
    )
    tax_exemption_reason = models.CharField(max_length=2, choices=TAX_EXEMPTION_REASONS, blank=True)
    qbo_class_id = models.CharField(
        "QuickBooks class",
        max_length=32,
        blank=True,
        help_text="The class sent on this seller's orders when the company tracks classes.",
        validators=[validate_single_line],
    )
    notes = models.TextField(blank=True, validators=[validate_multi_line])
    # A vendor or an employee had the name in QuickBooks: the suffix the company rule gave the customer's
    # DisplayName, kept so every later push sends the same name (qbo_integration/adapt/names.py).
    qbo_name_suffix = models.CharField(
        "QuickBooks name suffix",
        max_length=40,
        blank=True,
        help_text="Added to the name in QuickBooks because a vendor or an employee has the name there.",
        validators=[validate_single_line],
    )
    qbo_name_holder = models.CharField(
        "QuickBooks name held by",
        max_length=10,
        blank=True,
        choices=[("vendor", "a vendor"), ("employee", "an employee")],
    )
    qbo_customer_id = qbo_id_field("QuickBooks customer id")
    # The broker's own books (docs/quickbooks/beyond.md#the-brokers-own-books): a seller the broker owes its
    # proceeds to is also a QuickBooks Vendor.
    qbo_vendor_id = qbo_id_field("QuickBooks vendor id")
    qbo_vendor_sync_token = models.CharField(max_length=16, blank=True, validators=[validate_single_line])
    qbo_vendor_name_suffix = models.CharField(
        "QuickBooks vendor name suffix",
        max_length=40,
        blank=True,
        help_text="Added to the vendor's name in QuickBooks because a customer or an employee has the name there.",
        validators=[validate_single_line],
    )
    qbo_vendor_create_request = models.CharField(
        max_length=64,
        blank=True,
        help_text="requestid of a vendor create sent to QuickBooks whose answer is still unknown.",
        validators=[validate_single_line],
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        db_table = "accounts"
        indexes = [models.Index(fields=["qbo_customer_id"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def get_absolute_url(self) -> str:
        return reverse("accounts:detail", args=[self.pk])

    def currency_change_problem(self) -> str:
        """Why the currency can't change, in plain words ("" when it can): an order's amounts are in its buyer's
        currency, so once the account has orders it keeps its currency, as a QuickBooks customer with transactions
        does (docs/quickbooks/next.md#multicurrency). Blank and the home currency's code are the same currency."""
        if self.pk is None:
            return ""
        before = type(self).objects.filter(pk=self.pk).values_list("currency", flat=True).first()
        home = home_currency()
        old, new = (before or home).upper(), (self.currency or home).upper()
        if before is None or old == new or not self.orders_as_buyer.exists():
            return ""
        return f"{self.name} has orders in {old}: its currency can't change. Create a new account for buying in {new}."

    def clean(self) -> None:
        super().clean()
        problem = self.currency_change_problem()
        if problem:
            raise ValidationError({"currency": problem})

    def save(self, *args, **kwargs) -> None:
        # Every path, not only the forms (which say it on the field through clean()): the admin, scripts, imports.
        fields = kwargs.get("update_fields")
        problem = self.currency_change_problem() if fields is None or "currency" in fields else ""
        if problem:
            raise ValidationError({"currency": problem})
        super().save(*args, **kwargs)

    @property
    def address_lines(self) -> list[str]:
        city_line = " ".join(
            p for p in [self.city + ("," if self.city and self.region else ""), self.region, self.postal_code] if p
        )
        return [p for p in [self.address_line1, self.address_line2, city_line, self.country] if p]
