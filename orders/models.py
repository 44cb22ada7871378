import hashlib
import json
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account
from kadouri.append_only import AppendOnlyModel
from kadouri.display import when
from kadouri.text import validate_multi_line, validate_single_line
from products.models import Product

CENT = Decimal("0.01")
DOC_NUMBER_MAX_LENGTH = 21  # QuickBooks DocNumber limit, docs/quickbooks/entities.md#invoice


def to_cents(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def read_cents(value) -> Decimal | None:
    """An amount read from outside (a QuickBooks number or string) in cents, half up; None when missing or not a
    number that fits (NaN, infinity, 1e30: quantizing those raises ArithmeticError)."""
    try:
        return None if value is None or value == "" else to_cents(Decimal(str(value)))
    except (ArithmeticError, ValueError):
        return None


# A typo like 9999-12-31 would later break the due-date arithmetic and make no sense in the books.
EARLIEST_ORDER_DATE = date(2000, 1, 1)
ORDER_DATE_YEARS_AHEAD = 5


def latest_order_date() -> date:
    today = timezone.localdate()
    try:
        return today.replace(year=today.year + ORDER_DATE_YEARS_AHEAD)
    except ValueError:  # February 29th
        return today.replace(year=today.year + ORDER_DATE_YEARS_AHEAD, day=28)


def validate_order_date(value: date) -> None:
    """The one date rule for orders: the order form, the JSON API, the admin and the services use it."""
    latest = latest_order_date()
    if not EARLIEST_ORDER_DATE <= value <= latest:
        raise ValidationError(
            "The order date must be between %(earliest)s and %(latest)s.",
            code="order_date_out_of_range",
            params={"earliest": when(EARLIEST_ORDER_DATE), "latest": when(latest)},
        )


class OrderQuerySet(models.QuerySet):
    def linked_to(self, doc_type: str, doc_ids) -> "OrderQuerySet":
        """Orders following these QuickBooks documents. The one way to look an order up by a QuickBooks id:
        invoices and estimates are numbered apart in QuickBooks, so an id means nothing without its type."""
        if doc_type not in Order.DocType.values:
            raise ValueError(f"unknown QuickBooks document type {doc_type!r}")
        return self.filter(qbo_doc_type=doc_type, qbo_doc_id__in=[str(i) for i in doc_ids])

    def linked(self) -> "OrderQuerySet":
        return self.filter(qbo_doc_id__isnull=False)


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
        SALES_RECEIPT = "sales_receipt", "Sales receipt"

    EDITABLE_STATUSES = {Status.DRAFT, Status.POSTED_TO_QB}
    DELETABLE_STATUSES = {Status.DRAFT, Status.CANCELLED}

    number = models.CharField(max_length=DOC_NUMBER_MAX_LENGTH, unique=True, validators=[validate_single_line])
    seller = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="orders_as_seller")
    buyer = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="orders_as_buyer")
    order_date = models.DateField(validators=[validate_order_date])
    terms = models.CharField(max_length=20, choices=Terms.choices, default=Terms.NET_30)
    notes = models.TextField(blank=True, validators=[validate_multi_line])
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
    qbo_doc_id = models.CharField(max_length=32, null=True, blank=True, validators=[validate_single_line])
    qbo_doc_number = models.CharField(max_length=DOC_NUMBER_MAX_LENGTH, blank=True, validators=[validate_single_line])
    qbo_doc_type = models.CharField(max_length=16, choices=DocType.choices, blank=True)
    qbo_sync_token = models.CharField(max_length=16, blank=True, validators=[validate_single_line])
    qbo_total = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    qbo_balance = models.DecimalField("QuickBooks balance", max_digits=14, decimal_places=2, null=True, blank=True)
    qbo_last_updated = models.DateTimeField(
        null=True, blank=True, help_text="QuickBooks' LastUpdatedTime of the document as Kadouri last saw it."
    )
    qbo_link_problem = models.CharField(
        max_length=500,
        blank=True,
        validators=[validate_single_line],
        help_text="Set when the QuickBooks document at this id is not the order's own (another number): Kadouri "
        "then applies nothing from it and sends nothing to it.",
    )
    qbo_doc_state = models.CharField(
        max_length=20,
        blank=True,
        help_text="QuickBooks' own state of the document: e.g. Pending, Accepted, Closed, Voided, Deleted.",
        validators=[validate_single_line],
    )
    exchange_rate = models.DecimalField(
        max_digits=18,
        decimal_places=8,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.00000001"))],
        help_text="Home-currency units per unit of the buyer's currency. Blank: QuickBooks' rate for the order date.",
    )
    qbo_class_id = models.CharField(
        "QuickBooks class",
        max_length=32,
        blank=True,
        help_text="Blank: the seller's class, else the Settings default.",
        validators=[validate_single_line],
    )
    qbo_currency = models.CharField(
        max_length=3, blank=True, help_text="The document's currency in QuickBooks.", validators=[validate_single_line]
    )
    qbo_exchange_rate = models.DecimalField(max_digits=18, decimal_places=8, null=True, blank=True)
    qbo_tax_total = models.DecimalField("QuickBooks tax", max_digits=14, decimal_places=2, null=True, blank=True)
    qbo_tax_lines = models.JSONField(
        default=list, blank=True, help_text="Tax per code as QuickBooks computed it: code, name, rate, base, amount."
    )
    qbo_home_total = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    # Delivery (docs/quickbooks/beyond.md#invoices-that-reach-the-buyer), as QuickBooks last reported it.
    qbo_email_status = models.CharField(
        max_length=16,
        blank=True,
        help_text="QuickBooks' EmailStatus: NotSet, NeedToSend or EmailSent.",
        validators=[validate_single_line],
    )
    qbo_emailed_to = models.CharField(max_length=254, blank=True, validators=[validate_single_line])
    qbo_emailed_at = models.DateTimeField(null=True, blank=True, help_text="QuickBooks' DeliveryInfo.DeliveryTime.")
    qbo_invoice_link = models.URLField(
        max_length=1000,
        blank=True,
        help_text="QuickBooks' online payment link for the invoice.",
        validators=[validate_single_line],
    )
    online_card_payment = models.BooleanField(default=False, help_text="The buyer may pay the invoice by card online.")
    online_ach_payment = models.BooleanField(
        default=False, help_text="The buyer may pay the invoice by bank transfer (ACH) online."
    )
    payment_status = models.CharField(
        max_length=10, choices=PaymentStatus.choices, default=PaymentStatus.UNPAID, db_index=True
    )
    content_fingerprint = models.CharField(max_length=64, blank=True, validators=[validate_single_line])
    pushed_fingerprint = models.CharField(max_length=64, blank=True, validators=[validate_single_line])
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrderQuerySet.as_manager()

    class Meta:
        ordering = ["-order_date", "-id"]
        db_table = "orders"
        constraints = [
            models.CheckConstraint(condition=~models.Q(seller=models.F("buyer")), name="order_seller_is_not_buyer"),
            # A QuickBooks id is never stored without its type (an invoice, an estimate and a sales receipt can share an
            # id).
            models.CheckConstraint(
                condition=models.Q(qbo_doc_id__isnull=True, qbo_doc_type="")
                | (
                    models.Q(qbo_doc_id__isnull=False, qbo_doc_type__in=["invoice", "estimate", "sales_receipt"])
                    & ~models.Q(qbo_doc_id="")
                ),
                name="order_qbo_id_has_its_type",
            ),
        ]
        indexes = [models.Index(fields=["qbo_doc_id"])]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("orders:detail", args=[self.pk])

    @property
    def currency_code(self) -> str:
        """The currency the order's amounts are in: QuickBooks' once its document has one, else the buyer's ("":
        the company's home currency). `money(amount, order)` writes them in it (kadouri/display.py)."""
        if self.qbo_currency:
            return self.qbo_currency
        return self.buyer.currency if self.buyer_id else ""

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
    def amount_paid(self) -> Decimal:
        """What QuickBooks has recorded as paid on the order's invoice, as Kadouri last saw it."""
        if self.qbo_doc_type != self.DocType.INVOICE or self.qbo_total is None or self.qbo_balance is None:
            return Decimal("0.00")
        return max(self.qbo_total - self.qbo_balance, Decimal("0.00"))

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
        # What the lines carry for sales tax (qbo_integration/adapt/tax.py), only when not the defaults: a product
        # made non-taxable or given a tax code re-pushes, and the fingerprints of untaxed orders stay as they were.
        tax = [
            [line.product_id, line.product.taxable, line.product.qbo_tax_code_id]
            for line in self.lines.all()
            if not line.product.taxable or line.product.qbo_tax_code_id
        ]
        if tax:
            content["tax"] = tax
        # The buyer's currency and the order's own exchange rate go out on the document too; left out when unset so
        # one-currency orders keep the fingerprints they were pushed with.
        currency = self.buyer.currency if self.buyer_id else ""
        if currency:
            content["currency"] = currency
        if self.exchange_rate is not None:
            content["rate"] = str(self.exchange_rate.normalize())
        if self.qbo_class_id:  # only when chosen: fingerprints of orders without a class stay as they were
            content["class"] = self.qbo_class_id
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines")
    quantity = models.DecimalField(max_digits=12, decimal_places=3, validators=[MinValueValidator(Decimal("0.001"))])
    unit_price = models.DecimalField(max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))])
    size = models.CharField(max_length=50, blank=True, validators=[validate_single_line])
    grade = models.CharField(max_length=50, blank=True, validators=[validate_single_line])
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


class OrderActivity(AppendOnlyModel):
    """The order's audit trail: append-only. It outlives the order: deleting a draft or cancelled order keeps
    its entries (with the order's number) and adds one saying who deleted it."""

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
        PAYMENT_RECORDED = "payment_recorded", "Payment recorded"
        PAYMENT_DELETED = "payment_deleted", "Payment deleted"
        CASH_SALE = "cash_sale", "Cash sale"
        CREDIT_ISSUED = "credit_issued", "Credit issued"
        CREDIT_APPLIED = "credit_applied", "Credit applied"
        CREDIT_REFUNDED = "credit_refunded", "Credit refunded"
        INVOICE_EMAILED = "invoice_emailed", "Invoice emailed"
        ONLINE_PAYMENT_CHANGED = "online_payment", "Online payment changed"
        BROKER_DOC_CREATED = "broker_doc_created", "Broker document created"
        BROKER_DOC_UPDATED = "broker_doc_updated", "Broker document updated"
        BROKER_DOC_VOIDED = "broker_doc_voided", "Broker document voided"
        SYNCED_FROM_QB = "synced_from_qb", "Synced from QuickBooks"
        SYNC_QUEUED = "sync_queued", "Sync queued"
        SYNC_FAILED = "sync_failed", "Sync failed"
        CONFLICT = "conflict", "Conflict"
        ORDER_DELETED = "order_deleted", "Order deleted"

    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="activities")
    order_number = models.CharField(max_length=DOC_NUMBER_MAX_LENGTH, blank=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
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
        return f"{self.order_number} · {self.activity_type}"

    def save(self, *args, **kwargs):
        if self._state.adding and not self.order_number and self.order_id:
            self.order_number = self.order.number
        super().save(*args, **kwargs)

    def as_json(self) -> dict:
        return {
            "id": self.pk,
            "orderId": self.order_id,
            "orderNumber": self.order_number,
            "userId": self.user_id,
            "userName": self.user_name,
            "activityType": self.activity_type,
            "description": self.description,
            "ipAddress": self.ip_address,
            "details": self.details,
            "createdAt": self.created_at.isoformat(),
        }
