from django.db import models
from django.urls import reverse

from kadouri.qbo_link import QboLinkedModel, qbo_id_field
from kadouri.text import validate_multi_line, validate_single_line


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
    notes = models.TextField(blank=True, validators=[validate_multi_line])
    qbo_customer_id = qbo_id_field("QuickBooks customer id")
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

    @property
    def address_lines(self) -> list[str]:
        city_line = " ".join(
            p for p in [self.city + ("," if self.city and self.region else ""), self.region, self.postal_code] if p
        )
        return [p for p in [self.address_line1, self.address_line2, city_line, self.country] if p]
