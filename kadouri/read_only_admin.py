"""The admin face of rows Kadouri writes itself (the audit trail, the background work's rows): listed and read,
never added, changed or deleted (no "Delete selected" action, no delete page, no change form that saves)."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
