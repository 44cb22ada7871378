from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from kadouri.append_only import AppendOnlyModel
from kadouri.display import when

from .fields import EncryptedTextField

HARD_EXPIRY_WARNING = timedelta(days=30)


class SharedNameRule(models.TextChoices):
    """docs/quickbooks/next.md#shared-names-and-sub-customers: a display name is unique across customers,
    vendors and employees."""

    ROLE = "role", "Add the role: “Metro Grocers (customer)”"
    CODE = "code", "Add the account code: “Metro Grocers (MET)”"
    REFUSE = "refuse", "Refuse the push and tell me"


class InactiveRule(models.TextChoices):
    REACTIVATE = "reactivate", "Make it active again in QuickBooks"
    REFUSE = "refuse", "Refuse the push and tell me"


class BrokerBooks(models.TextChoices):
    """How the broker's own side of a deal reaches QuickBooks (docs/quickbooks/beyond.md#the-brokers-own-books)."""

    KADOURI_ONLY = "kadouri_only", "Commission stays in Kadouri (the spec's default)"
    SELLER_BILL = "seller_bill", "A bill to the seller for its proceeds (total less commission)"
    COMMISSION_INVOICE = "commission_invoice", "An invoice to the seller for the commission"


class QboConnection(models.Model):
    """One QuickBooks company (realm) and its OAuth tokens: the spec's `quickbooks_tokens` table."""

    class State(models.TextChoices):
        CONNECTED = "connected", "Connected"
        NEEDS_RECONNECT = "needs_reconnect", "Needs reconnect"
        DISCONNECTED = "disconnected", "Disconnected"

    realm_id = models.CharField(max_length=32, unique=True)
    company_name = models.CharField(max_length=255, blank=True)
    environment = models.CharField(max_length=20)
    state = models.CharField(max_length=20, choices=State.choices, default=State.CONNECTED)
    access_token = EncryptedTextField(blank=True)
    refresh_token = EncryptedTextField(blank=True)
    access_expires_at = models.DateTimeField(null=True, blank=True)
    refresh_expires_at = models.DateTimeField(null=True, blank=True)
    hard_expires_at = models.DateTimeField(null=True, blank=True)
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    connected_at = models.DateTimeField(null=True, blank=True)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    paused_until = models.DateTimeField(
        null=True, blank=True, help_text="QuickBooks throttled this company; every worker waits until then."
    )
    income_account_id = models.CharField(max_length=32, blank=True)
    # --- what an admin chose for this company (Settings → QuickBooks, "Company rules") ---
    shared_name_rule = models.CharField(
        max_length=12,
        choices=SharedNameRule.choices,
        default=SharedNameRule.ROLE,
        help_text="When a buyer's name is already a vendor's or an employee's in QuickBooks.",
    )
    inactive_rule = models.CharField(
        max_length=12,
        choices=InactiveRule.choices,
        default=InactiveRule.REFUSE,
        help_text="When an order's customer or item is inactive in QuickBooks.",
    )
    default_tax_code_id = models.CharField(
        max_length=32, blank=True, help_text="Tax code sent for products without their own (outside the US)."
    )
    default_class_id = models.CharField(
        max_length=32, blank=True, help_text="Class sent on orders whose seller has none (class tracking on)."
    )
    allow_unapplied_credit = models.BooleanField(
        default=False,
        help_text="A payment above an invoice's open balance is recorded, the surplus kept as the buyer's credit.",
    )
    # --- beyond the spec (docs/quickbooks/beyond.md) ---
    inventory_asset_account_id = models.CharField(
        max_length=32, blank=True, help_text="Inventory items: the asset account their stock is valued in."
    )
    inventory_income_account_id = models.CharField(
        max_length=32, blank=True, help_text="Inventory items: the income account their sales go to."
    )
    inventory_cogs_account_id = models.CharField(
        max_length=32, blank=True, help_text="Inventory items: the cost of goods sold account."
    )
    custom_field_account_code = models.CharField(
        max_length=8, blank=True, help_text="Sales-form custom field (DefinitionId) carrying the buyer's account code."
    )
    custom_field_seller = models.CharField(
        max_length=8, blank=True, help_text="Sales-form custom field (DefinitionId) carrying the seller's name."
    )
    broker_books = models.CharField(
        max_length=20,
        choices=BrokerBooks.choices,
        default=BrokerBooks.KADOURI_ONLY,
        help_text="How the broker's side of each invoiced order reaches QuickBooks.",
    )
    seller_bill_account_id = models.CharField(
        max_length=32, blank=True, help_text="Seller bills: the expense account their line is booked to."
    )
    commission_item_id = models.CharField(
        max_length=32, blank=True, help_text="Commission invoices: the service item their line sells."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "quickbooks_tokens"
        verbose_name = "QuickBooks connection"
        permissions = [("manage_connection", "Can connect and disconnect QuickBooks")]

    def __str__(self) -> str:
        return f"{self.company_name or 'QuickBooks company'} ({self.realm_id})"

    @property
    def is_usable(self) -> bool:
        return self.state == self.State.CONNECTED

    @property
    def hard_expiry_soon(self) -> bool:
        return bool(self.hard_expires_at and self.hard_expires_at - timezone.now() <= HARD_EXPIRY_WARNING)


class CompanyProfile(models.Model):
    """What kind of company Kadouri is connected to, from its CompanyInfo and Preferences
    (docs/quickbooks/next.md#company-preferences): read on connect, when QuickBooks says they changed, and by
    every catch-up."""

    class SalesTax(models.TextChoices):
        NONE = "none", "No sales tax"
        AUTOMATED = "automated", "Automated Sales Tax (US)"
        GLOBAL = "global", "Tax codes on every line"

    realm_id = models.CharField(max_length=32, unique=True)
    company_name = models.CharField(max_length=255, blank=True)
    country = models.CharField(max_length=3, default="US")
    home_currency = models.CharField(max_length=3, default="USD")
    multi_currency = models.BooleanField(default=False)
    sales_tax = models.CharField(max_length=10, choices=SalesTax.choices, default=SalesTax.NONE)
    custom_txn_numbers = models.BooleanField(
        default=True, help_text="Off: QuickBooks numbers invoices and estimates itself."
    )
    book_close_date = models.DateField(null=True, blank=True)
    class_tracking = models.BooleanField(default=False, help_text="One class per transaction.")
    online_payments = models.BooleanField(
        default=False, help_text="The company accepts online payments (SalesFormsPrefs.ETransactionPaymentEnabled)."
    )
    inventory_tracking = models.BooleanField(
        default=False, help_text="The company tracks quantity on hand (ProductAndServicesPrefs.QuantityOnHand)."
    )
    custom_fields = models.JSONField(
        default=list, blank=True, help_text="The sales-form custom fields turned on: [{id, name}]."
    )
    preferences = models.JSONField(default=dict, blank=True, help_text="QuickBooks' Preferences as last read.")
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "quickbooks_company_profiles"
        verbose_name = "QuickBooks company profile"

    def __str__(self) -> str:
        return f"{self.company_name or self.realm_id} ({self.country}, {self.home_currency})"


class IntegrationLog(AppendOnlyModel):
    """Connection events an admin needs to see: connected, refreshed, refresh failed, disconnected, …
    Append-only, like the order activity log."""

    class Event(models.TextChoices):
        CONNECTED = "connected", "Connected"
        REFRESHED = "refreshed", "Token refreshed"
        REFRESH_FAILED = "refresh_failed", "Refresh failed"
        RECONNECT_NEEDED = "reconnect_needed", "Reconnect needed"
        DISCONNECTED = "disconnected", "Disconnected"
        CONNECT_FAILED = "connect_failed", "Connect failed"
        THROTTLED = "throttled", "Throttled"
        IDS_CLEARED = "ids_cleared", "QuickBooks ids cleared"
        PROFILE_READ = "profile_read", "Company settings read"
        NAME_RULE = "name_rule", "Company rule applied"

    realm_id = models.CharField(max_length=32, blank=True, db_index=True)
    event = models.CharField(max_length=20, choices=Event.choices)
    message = models.CharField(max_length=500)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        db_table = "quickbooks_integration_log"

    def __str__(self) -> str:
        return f"{when(self.created_at)} {self.get_event_display()}"


class QboSyncJob(models.Model):
    """One piece of outbound work (the outbox). It owns its retry state; django-q2 only drains it.
    `request_id` is fixed when the job is created and reused on every retry, so QuickBooks runs it once."""

    class Action(models.TextChoices):
        CREATE_INVOICE = "create_invoice", "Create invoice"
        CREATE_ESTIMATE = "create_estimate", "Create estimate"
        UPDATE_DOCUMENT = "update_document", "Update document"
        VOID_DOCUMENT = "void_document", "Void document"
        CONVERT_ESTIMATE = "convert_estimate", "Convert estimate to invoice"
        SYNC_ACCOUNT = "sync_account", "Sync account"
        SYNC_PRODUCT = "sync_product", "Sync product"
        # money after the invoice (docs/quickbooks/money.md): each job writes one QuickBooks transaction
        RECORD_PAYMENT = "record_payment", "Record payment"
        DELETE_PAYMENT = "delete_payment", "Delete payment"
        CREATE_SALES_RECEIPT = "create_sales_receipt", "Record cash sale"
        ISSUE_CREDIT = "issue_credit", "Issue credit"
        APPLY_CREDIT = "apply_credit", "Apply credit"
        REFUND_CREDIT = "refund_credit", "Refund credit"
        # beyond the spec (docs/quickbooks/beyond.md)
        SEND_DOCUMENT = "send_document", "Email invoice"
        FETCH_PDF = "fetch_pdf", "Fetch PDF"
        SET_ONLINE_PAYMENT = "set_online_payment", "Online payment"
        SYNC_BROKER_DOCUMENT = "sync_broker_doc", "Broker document"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    realm_id = models.CharField(max_length=32, blank=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    order = models.ForeignKey("orders.Order", null=True, blank=True, on_delete=models.CASCADE, related_name="qbo_jobs")
    account = models.ForeignKey(
        "accounts.Account", null=True, blank=True, on_delete=models.CASCADE, related_name="qbo_jobs"
    )
    product = models.ForeignKey(
        "products.Product", null=True, blank=True, on_delete=models.CASCADE, related_name="qbo_jobs"
    )
    bulk_push = models.ForeignKey("BulkPush", null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs")
    request_id = models.CharField(max_length=50, unique=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=8)
    not_before = models.DateTimeField(default=timezone.now, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    in_doubt = models.BooleanField(default=False, help_text="A write may have reached QuickBooks without an answer.")
    error_kind = models.CharField(max_length=20, blank=True)
    error_code = models.CharField(max_length=20, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    result = models.JSONField(default=dict, blank=True)
    params = models.JSONField(
        default=dict, blank=True, help_text="What a money job was asked (amount, date, method, …), validated."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "quickbooks_sync_jobs"
        verbose_name = "QuickBooks sync job"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "not_before"])]

    def __str__(self) -> str:
        return f"{self.get_action_display()} ({self.state})"


class BulkPush(models.Model):
    """A “Push all pending” run, for its progress bar."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    total = models.PositiveIntegerField(default=0)
    succeeded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    retrying = models.PositiveIntegerField(default=0, help_text="Handed back to their own jobs' retry queue.")
    requests_used = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The worker running the push holds `lease` and renews `heartbeat_at`; a stale heartbeat means that worker
    # died, and the next worker takes the lease and carries on with the same push.
    lease = models.CharField(max_length=32, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    resumes = models.PositiveSmallIntegerField(default=0, help_text="Times another worker took over after one died.")

    class Meta:
        db_table = "quickbooks_bulk_pushes"
        verbose_name, verbose_name_plural = "bulk push", "bulk pushes"
        ordering = ["-created_at"]

    @property
    def percent(self) -> int:
        handled = self.succeeded + self.failed + self.retrying
        return int(100 * handled / self.total) if self.total else (100 if self.state == "done" else 0)

    @property
    def active(self) -> bool:
        return self.state in (self.State.QUEUED, self.State.RUNNING)


class QboWebhookEvent(models.Model):
    """The inbox: every QuickBooks change notification, stored before it is processed, replayable."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        DONE = "done", "Done"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"

    class Source(models.TextChoices):
        LEGACY = "legacy", "Webhook (legacy format)"
        CLOUDEVENTS = "cloudevents", "Webhook (CloudEvents)"
        CDC = "cdc", "CDC catch-up"
        MANUAL = "manual", "Manual"

    dedupe_key = models.CharField(max_length=200, unique=True)
    source = models.CharField(max_length=12, choices=Source.choices)
    realm_id = models.CharField(max_length=32, db_index=True)
    entity = models.CharField(max_length=40, db_index=True)
    entity_id = models.CharField(max_length=32)
    operation = models.CharField(max_length=20)
    occurred_at = models.DateTimeField(null=True, blank=True)
    raw = models.JSONField(default=dict)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    not_before = models.DateTimeField(default=timezone.now)
    result = models.CharField(max_length=500, blank=True)
    changed = models.BooleanField(default=False, help_text="Processing changed something in Kadouri.")
    invoice_ids = models.JSONField(
        default=list,
        blank=True,
        help_text="Payment events: the invoices the payment was applied to when Kadouri saw it (a deleted payment "
        "comes back without them).",
    )
    last_error = models.CharField(max_length=500, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "quickbooks_webhook_events"
        verbose_name = "QuickBooks webhook event"
        ordering = ["received_at", "id"]
        indexes = [models.Index(fields=["realm_id", "status", "received_at"])]

    def __str__(self) -> str:
        return f"{self.entity} {self.entity_id} {self.operation}"


class QboCatchUp(models.Model):
    """A CDC catch-up run per company, and the watermark the next run starts from."""

    realm_id = models.CharField(max_length=32, db_index=True)
    changed_since = models.DateTimeField(null=True, blank=True)
    watermark = models.DateTimeField(null=True, blank=True, help_text="Where the next run starts (minus an overlap).")
    mode = models.CharField(
        max_length=12, default="cdc", help_text="cdc, or full when the watermark is older than 30 days."
    )
    found = models.JSONField(default=dict, blank=True)
    error = models.CharField(max_length=500, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "quickbooks_catchups"
        verbose_name = "QuickBooks catch-up"
        ordering = ["-started_at"]


class SyncConflict(models.Model):
    """A value changed on both sides; a person decides which one wins."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    object_type = models.CharField(max_length=20)  # account, product, order
    object_id = models.PositiveBigIntegerField()
    field = models.CharField(max_length=50)
    kadouri_value = models.CharField(max_length=500, blank=True)
    quickbooks_value = models.CharField(max_length=500, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN, db_index=True)
    resolution = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "quickbooks_sync_conflicts"
        ordering = ["-created_at"]


class QboInboxLease(models.Model):
    """One worker at a time processes a company's inbox, so its events are applied in order. A lease that
    outlives its worker (a crash) expires and the next worker takes over."""

    realm_id = models.CharField(max_length=32, unique=True)
    holder = models.CharField(max_length=64, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "quickbooks_inbox_leases"
        verbose_name = "QuickBooks inbox lease"


class QboWebhookCounter(models.Model):
    """Deliveries refused before anything was stored (bad signature, too large, malformed): a count and the
    last reason, never the body — an attacker must not be able to fill the database."""

    name = models.CharField(max_length=40, unique=True)
    count = models.PositiveBigIntegerField(default=0)
    last_at = models.DateTimeField(null=True, blank=True)
    last_detail = models.CharField(max_length=200, blank=True)

    class Meta:
        db_table = "quickbooks_webhook_counters"
        verbose_name = "refused webhook counter"

    def __str__(self) -> str:
        return f"{self.name}: {self.count}"


class QboReconcileRun(models.Model):
    """A reconciliation report: every linked order compared with its QuickBooks document; `rows` lists drift."""

    realm_id = models.CharField(max_length=32, blank=True)
    checked = models.PositiveIntegerField(default=0)
    rows = models.JSONField(default=list, blank=True)
    error = models.CharField(max_length=500, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "quickbooks_reconcile_runs"
        verbose_name = "reconciliation report"
        ordering = ["-started_at", "-id"]


class QboMoney(models.Model):
    """A QuickBooks money transaction as it concerns one order (docs/quickbooks/money.md): a payment applied to the
    order's invoice (one row per order it pays), a credit memo for the order's buyer, a refund of such a credit.
    Recorded from Kadouri or from QuickBooks; QuickBooks' amounts are what is stored."""

    class Entity(models.TextChoices):
        PAYMENT = "Payment", "Payment"
        CREDIT_MEMO = "CreditMemo", "Credit"
        REFUND_RECEIPT = "RefundReceipt", "Refund"

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        VOIDED = "voided", "Voided"
        DELETED = "deleted", "Deleted"

    class Reason(models.TextChoices):
        REJECTED = "rejected", "Rejected on arrival"
        DAMAGED = "damaged", "Damaged"
        SHORT_SHIPPED = "short_shipped", "Short-shipped"
        PRICE_ADJUSTMENT = "price_adjustment", "Price adjustment"
        OTHER = "other", "Other"

    realm_id = models.CharField(max_length=32)
    entity = models.CharField(max_length=16, choices=Entity.choices)
    qbo_id = models.CharField(max_length=32)
    doc_number = models.CharField(
        max_length=21, blank=True, help_text="QuickBooks' DocNumber (credit memos and refunds; payments have none)."
    )
    sync_token = models.CharField(max_length=16, blank=True)
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="qbo_money"
    )
    account = models.ForeignKey(
        "accounts.Account", null=True, blank=True, on_delete=models.SET_NULL, related_name="qbo_money"
    )
    credit = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="uses",
        help_text="The credit memo a refund gives back, or a payment applies.",
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE, db_index=True)
    total = models.DecimalField(max_digits=14, decimal_places=2, help_text="The transaction's TotalAmt.")
    amount = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        help_text="Payment: paid on this order's invoice in money; credit: its total; refund: its total.",
    )
    credit_applied = models.DecimalField(
        max_digits=14, decimal_places=2, default=0, help_text="Payment: credit applied to this order's invoice."
    )
    unapplied = models.DecimalField(
        max_digits=14, decimal_places=2, default=0, help_text="Payment: UnappliedAmt; credit: RemainingCredit."
    )
    currency = models.CharField(max_length=3, blank=True)
    txn_date = models.DateField(null=True, blank=True)
    method_id = models.CharField(max_length=32, blank=True)
    method_name = models.CharField(max_length=100, blank=True)
    reference = models.CharField(max_length=21, blank=True)
    deposit_account_id = models.CharField(max_length=32, blank=True)
    deposit_account_name = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=20, choices=Reason.choices, blank=True)
    note = models.CharField(max_length=500, blank=True)
    lines = models.JSONField(default=list, blank=True, help_text="Credit: what it gives back, line by line.")
    recorded_in_kadouri = models.BooleanField(default=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_by_name = models.CharField(max_length=150, blank=True)
    request_id = models.CharField(max_length=50, blank=True, help_text="The Kadouri job that created it.")
    deleted_by_name = models.CharField(max_length=150, blank=True)
    delete_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "quickbooks_money"
        verbose_name = "QuickBooks money transaction"
        ordering = ["txn_date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["realm_id", "entity", "qbo_id", "order"], name="money_once_per_order"),
            models.UniqueConstraint(
                fields=["realm_id", "entity", "qbo_id"],
                condition=models.Q(order__isnull=True),
                name="money_once_without_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_entity_display()} {self.qbo_id} ({self.amount})"

    @property
    def is_active(self) -> bool:
        return self.state == self.State.ACTIVE

    @property
    def credit_only(self) -> bool:
        """A payment that pays this order's invoice with credit alone: no money moved, so no method or deposit."""
        return self.entity == self.Entity.PAYMENT and self.amount == 0 and self.credit_applied > 0

    @property
    def number_label(self) -> str:
        """How people name it: QuickBooks' number ("#1001"), its id only when it has no number."""
        return f"#{self.doc_number or self.qbo_id}"


from .models_beyond import BrokerDocument, QboDocumentPdf  # noqa: E402, F401  (models in a second module)
