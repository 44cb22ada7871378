import hashlib
import json
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse

from accounts.models import Account
from products.models import Product

CENT = Decimal("0.01")
DOC_NUMBER_MAX_LENGTH = 21  # QuickBooks DocNumber limit, qbo-api.md §2.3


def to_cents(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


class Order(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        POSTED_TO_QB = "posted_to_qb", "Posted to QuickBooks"
        PAID = "paid", "Paid"
        CANCELLED = "cancelled", "Cancelled"

    class Terms(models.TextChoices):
        DUE_ON_RECEIPT = "due_on_receipt", "Due on receipt"
        NET_15 = "net_15", "Net 15"
        NET_30 = "net_30", "Net 30"
        NET_60 = "net_60", "Net 60"

    class PaymentStatus(models.TextChoices):
        UNPAID = "unpaid", "Unpaid"
        PARTIAL = "partial", "Partially paid"
        PAID = "paid", "Paid"

    class DocType(models.TextChoices):
        INVOICE = "invoice", "Invoice"
        ESTIMATE = "estimate", "Estimate"

    EDITABLE_STATUSES = {Status.DRAFT, Status.POSTED_TO_QB}
    DELETABLE_STATUSES = {Status.DRAFT, Status.CANCELLED}

    number = models.CharField(max_length=DOC_NUMBER_MAX_LENGTH, unique=True)
    seller = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="orders_as_seller")
    buyer = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="orders_as_buyer")
    order_date = models.DateField()
    terms = models.CharField(max_length=20, choices=Terms.choices, default=Terms.NET_30)
    notes = models.TextField(blank=True)
    commission_rate = models.DecimalField(
        "commission rate (%)",
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True)
    ready_to_push = models.BooleanField(
        default=False, help_text="Draft orders marked ready are included in “Push all pending”."
    )
    qbo_doc_id = models.CharField(max_length=32, null=True, blank=True)
    qbo_doc_number = models.CharField(max_length=DOC_NUMBER_MAX_LENGTH, blank=True)
    qbo_doc_type = models.CharField(max_length=10, choices=DocType.choices, blank=True)
    qbo_sync_token = models.CharField(max_length=16, blank=True)
    qbo_total = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    qbo_balance = models.DecimalField("QuickBooks balance", max_digits=14, decimal_places=2, null=True, blank=True)
    qbo_last_updated = models.DateTimeField(
        null=True, blank=True, help_text="QuickBooks' LastUpdatedTime of the document as Kadouri last saw it."
    )
    qbo_doc_state = models.CharField(
        max_length=20, blank=True, help_text="QuickBooks' own state of the document: e.g. Pending, Accepted, Closed, Voided, Deleted."
    )
    payment_status = models.CharField(
        max_length=10, choices=PaymentStatus.choices, default=PaymentStatus.UNPAID, db_index=True
    )
    content_fingerprint = models.CharField(max_length=64, blank=True)
    pushed_fingerprint = models.CharField(max_length=64, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-order_date", "-id"]
        db_table = "orders"
        constraints = [
            models.CheckConstraint(condition=~models.Q(seller=models.F("buyer")), name="order_seller_is_not_buyer"),
        ]
        indexes = [models.Index(fields=["qbo_doc_id"])]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("orders:detail", args=[self.pk])

    # --- rules from the spec's edit-permission table -------------------------------------
    @property
    def is_editable(self) -> bool:
        return self.status in self.EDITABLE_STATUSES

    @property
    def is_deletable(self) -> bool:
        return self.status in self.DELETABLE_STATUSES

    @property
    def is_in_quickbooks(self) -> bool:
        return bool(self.qbo_doc_id)

    @property
    def changed_since_push(self) -> bool:
        return self.status == self.Status.POSTED_TO_QB and self.content_fingerprint != self.pushed_fingerprint

    # --- derived money ----------------------------------------------------------------------
    @property
    def subtotal(self) -> Decimal:
        return to_cents(sum((line.amount for line in self.lines.all()), Decimal("0")))

    @property
    def total(self) -> Decimal:
        # Commission is Kadouri's own; the customer's total is the lines' sum (spec: Limitations).
        return self.subtotal

    @property
    def commission_amount(self) -> Decimal:
        return to_cents(self.subtotal * self.commission_rate / Decimal("100"))

    def compute_fingerprint(self) -> str:
        """A hash of everything that is sent to QuickBooks, to tell when a posted order went stale."""
        content = {
            "buyer": self.buyer_id,
            "date": self.order_date.isoformat() if self.order_date else "",
            "terms": self.terms,
            "notes": self.notes,
            "number": self.number,
            "lines": [
                [line.product_id, str(line.quantity), str(line.unit_price), line.size, line.grade]
                for line in self.lines.all()
            ],
        }
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines")
    quantity = models.DecimalField(max_digits=12, decimal_places=3, validators=[MinValueValidator(Decimal("0.001"))])
    unit_price = models.DecimalField(max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))])
    size = models.CharField(max_length=50, blank=True)
    grade = models.CharField(max_length=50, blank=True)
    position = models.PositiveIntegerField(default=0)
    amount = models.DecimalField(max_digits=14, decimal_places=2, editable=False)

    class Meta:
        ordering = ["position", "id"]
        db_table = "order_lines"
        constraints = [models.CheckConstraint(condition=models.Q(quantity__gt=0), name="order_line_quantity_positive")]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product}"

    def save(self, *args, **kwargs):
        self.amount = to_cents(self.quantity * self.unit_price)
        super().save(*args, **kwargs)

    @property
    def description(self) -> str:
        extras = ", ".join(p for p in [self.size, self.grade] if p)
        return f"{self.product.name} ({extras})" if extras else self.product.name


class OrderActivity(models.Model):
    class Type(models.TextChoices):
        ORDER_CREATED = "order_created", "Order created"
        ORDER_EDITED = "order_edited", "Order edited"
        STATUS_CHANGED = "status_changed", "Status changed"
        INVOICE_CREATED = "invoice_created", "Invoice created"
        INVOICE_UPDATED = "invoice_updated", "Invoice updated"
        NOTHING_TO_UPDATE = "nothing_to_update", "Nothing to update"
        INVOICE_VOIDED = "invoice_voided", "Invoice voided"
        ESTIMATE_CREATED = "estimate_created", "Estimate created"
        ESTIMATE_CONVERTED = "estimate_converted", "Estimate converted"
        PAYMENT_RECEIVED = "payment_received", "Payment received"
        SYNCED_FROM_QB = "synced_from_qb", "Synced from QuickBooks"
        SYNC_QUEUED = "sync_queued", "Sync queued"
        SYNC_FAILED = "sync_failed", "Sync failed"
        CONFLICT = "conflict", "Conflict"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="activities")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    user_name = models.CharField(max_length=150)
    activity_type = models.CharField(max_length=30, choices=Type.choices, db_index=True)
    description = models.TextField()
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        db_table = "order_activities"
        verbose_name_plural = "order activities"

    def __str__(self) -> str:
        return f"{self.order} · {self.activity_type}"

    def as_json(self) -> dict:
        return {
            "id": self.pk,
            "orderId": self.order_id,
            "userId": self.user_id,
            "userName": self.user_name,
            "activityType": self.activity_type,
            "description": self.description,
            "ipAddress": self.ip_address,
            "details": self.details,
            "createdAt": self.created_at.isoformat(),
        }
