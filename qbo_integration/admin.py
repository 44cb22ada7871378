from django.contrib import admin

from .models import IntegrationLog, QboConnection


@admin.register(QboConnection)
class QboConnectionAdmin(admin.ModelAdmin):
    # Tokens are never shown: not in lists, not in forms.
    list_display = ["realm_id", "company_name", "environment", "state", "access_expires_at", "last_success_at", "last_error"]
    list_filter = ["state", "environment"]
    search_fields = ["realm_id", "company_name"]
    fields = ["realm_id", "company_name", "environment", "state", "access_expires_at", "refresh_expires_at",
              "hard_expires_at", "connected_by", "connected_at", "last_refreshed_at", "last_success_at",
              "last_error", "last_error_at", "paused_until", "income_account_id"]
    readonly_fields = [f for f in fields if f not in {"income_account_id"}]

    def has_add_permission(self, request):
        return False


@admin.register(IntegrationLog)
class IntegrationLogAdmin(admin.ModelAdmin):
    list_display = ["created_at", "realm_id", "event", "message", "user"]
    list_filter = ["event", "realm_id"]
    search_fields = ["message", "realm_id"]
    readonly_fields = ["created_at", "realm_id", "event", "message", "user"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
