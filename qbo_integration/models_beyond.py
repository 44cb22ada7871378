"""Models for what Kadouri does beyond the spec (docs/quickbooks/beyond.md): the last PDF fetched of an order's
document, and the broker's own document for an order (a bill to the seller, or a commission invoice)."""

from django.db import models


class QboDocumentPdf(models.Model):
    """QuickBooks' own PDF of an order's invoice or estimate, as last fetched. Fetched again once the document has
    changed since (its SyncToken moved on)."""

    order = models.OneToOneField("orders.Order", on_delete=models.CASCADE, related_name="qbo_pdf")
    doc_type = models.CharField(max_length=16)
    doc_id = models.CharField(max_length=32)
    sync_token = models.CharField(max_length=16, blank=True, help_text="The document's SyncToken when fetched.")
    content = models.BinaryField()
    size = models.PositiveIntegerField(default=0)
    fetched_at = models.DateTimeField()
    fetched_by_name = models.CharField(max_length=150, blank=True)

    class Meta:
        app_label = "qbo_integration"
        db_table = "quickbooks_document_pdfs"
        verbose_name = "QuickBooks document PDF"

    def __str__(self) -> str:
        return f"PDF of {self.doc_type} {self.doc_id}"


class BrokerDocument(models.Model):
    """The broker's side of one invoiced order in QuickBooks: a Bill to the seller for its proceeds (the order's
    total less the commission), or an Invoice to the seller for the commission."""

    class Kind(models.TextChoices):
        SELLER_BILL = "seller_bill", "Bill to the seller"
        COMMISSION_INVOICE = "commission_invoice", "Commission invoice"

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        VOIDED = "voided", "Voided"
        DELETED = "deleted", "Deleted"

    realm_id = models.CharField(max_length=32)
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="broker_documents")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    entity = models.CharField(max_length=16, help_text="The QuickBooks entity: Bill or Invoice.")
    qbo_id = models.CharField(max_length=32, blank=True)
    doc_number = models.CharField(max_length=21, blank=True)
    sync_token = models.CharField(max_length=16, blank=True)
    party_id = models.CharField(max_length=32, blank=True, help_text="The seller's Vendor (bill) or Customer id.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE, db_index=True)
    total = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    balance = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    pushed_fingerprint = models.CharField(max_length=64, blank=True)
    qbo_last_updated = models.DateTimeField(null=True, blank=True)
    request_id = models.CharField(max_length=50, blank=True, help_text="The Kadouri job that created it.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "qbo_integration"
        db_table = "quickbooks_broker_documents"
        verbose_name = "broker document"
        constraints = [models.UniqueConstraint(fields=["order", "kind"], name="broker_document_once_per_order")]
        indexes = [models.Index(fields=["realm_id", "entity", "qbo_id"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.doc_number or self.qbo_id or '(not yet in QuickBooks)'}"

    @property
    def paid(self) -> bool:
        return self.state == self.State.ACTIVE and self.balance is not None and self.total and self.balance == 0
