"""The link from a Kadouri record to its QuickBooks name-list entity (an account's Customer, a product's Item).

Shared by accounts and products, which must not import the QuickBooks integration: only the columns live here,
the behaviour stays in qbo_integration.
"""

from django.db import models

from kadouri.text import validate_single_line


def qbo_id_field(verbose_name: str) -> models.CharField:
    """The entity's QuickBooks Id; empty until the first push or a match found in QuickBooks."""
    return models.CharField(verbose_name, max_length=32, null=True, blank=True, validators=[validate_single_line])


class QboLinkedModel(models.Model):
    """A record QuickBooks knows as a name-list entity. A subclass declares its id column with `qbo_id_field(...)`,
    names it in `qbo_id_field_name`, and names the QuickBooks entity it becomes in `qbo_entity` (lower case)."""

    qbo_id_field_name: str
    qbo_entity: str

    qbo_sync_token = models.CharField(max_length=16, blank=True, validators=[validate_single_line])
    qbo_fingerprint = models.CharField(
        max_length=64,
        blank=True,
        help_text="Hash of what was last pushed to or read from QuickBooks.",
        validators=[validate_single_line],
    )
    qbo_create_request = models.CharField(
        max_length=64,
        blank=True,
        help_text="requestid#bId of a create sent to QuickBooks whose answer is still unknown.",
        validators=[validate_single_line],
    )

    class Meta:
        abstract = True

    @property
    def qbo_id(self) -> str | None:
        return getattr(self, self.qbo_id_field_name)
