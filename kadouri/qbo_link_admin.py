"""The admin face of a record linked to QuickBooks (kadouri.qbo_link): accounts and products."""

from django.contrib import admin

from kadouri.qbo_link import QboLinkedModel

SHARED_LINK_FIELDS = tuple(field.name for field in QboLinkedModel._meta.local_fields)


class QboLinkedAdmin(admin.ModelAdmin):
    def get_fields(self, request, obj=None):
        # The shared link columns come from an abstract base, so Django lists them before the record's own
        # fields; the change form shows them together, right after the record's QuickBooks id.
        fields = list(super().get_fields(request, obj))
        shared = [name for name in SHARED_LINK_FIELDS if name in fields]
        rest = [name for name in fields if name not in shared]
        at = rest.index(self.model.qbo_id_field_name) + 1 if self.model.qbo_id_field_name in rest else len(rest)
        return rest[:at] + shared + rest[at:]
