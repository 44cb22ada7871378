from django.contrib import admin
from django.template.defaultfilters import pluralize
from django.utils import timezone as _tz

from kadouri.read_only_admin import ReadOnlyAdmin

from .inbound.inbox import inbox_replay
from .models import (
    BulkPush,
    IntegrationLog,
    QboCatchUp,
    QboConnection,
    QboInboxLease,
    QboReconcileRun,
    QboSyncJob,
    QboWebhookCounter,
    QboWebhookEvent,
    SyncConflict,
)


@admin.register(QboConnection)
class QboConnectionAdmin(admin.ModelAdmin):
    # Tokens are never shown: not in lists, not in forms.
    list_display = [
        "realm_id",
        "company_name",
        "environment",
        "state",
        "access_expires_at",
        "last_success_at",
        "last_error",
    ]
    list_filter = ["state", "environment"]
    search_fields = ["realm_id", "company_name"]
    fields = [
        "realm_id",
        "company_name",
        "environment",
        "state",
        "access_expires_at",
        "refresh_expires_at",
        "hard_expires_at",
        "connected_by",
        "connected_at",
        "last_refreshed_at",
        "last_success_at",
        "last_error",
        "last_error_at",
        "paused_until",
        "income_account_id",
    ]
    readonly_fields = [f for f in fields if f not in {"income_account_id"}]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # Deleting would skip the revoke and forget which company the stored ids belong to: use Disconnect.
        return False


@admin.register(IntegrationLog)
class IntegrationLogAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "realm_id", "event", "message", "user"]
    list_filter = ["event", "realm_id"]
    search_fields = ["message", "realm_id"]


# --- inbound: the inbox, catch-up runs, conflicts ------------------------------------------------------


@admin.register(QboWebhookEvent)
class QboWebhookEventAdmin(admin.ModelAdmin):
    list_display = [
        "received_at",
        "source",
        "realm_id",
        "entity",
        "entity_id",
        "operation",
        "occurred_at",
        "status",
        "attempts",
        "result",
    ]
    list_filter = ["status", "entity", "source", "realm_id", "operation"]
    search_fields = ["entity_id", "dedupe_key", "result", "last_error"]
    readonly_fields = [
        "dedupe_key",
        "source",
        "realm_id",
        "entity",
        "entity_id",
        "operation",
        "occurred_at",
        "raw",
        "status",
        "attempts",
        "not_before",
        "result",
        "last_error",
        "received_at",
        "processed_at",
    ]
    actions = ["replay"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Replay the selected events (read again from QuickBooks)")
    def replay(self, request, queryset):
        count = inbox_replay(event_ids=list(queryset.values_list("pk", flat=True)), by=request.user)
        self.message_user(request, f"{count} event{pluralize(count)} queued for replay.")


@admin.register(QboCatchUp)
class QboCatchUpAdmin(admin.ModelAdmin):
    list_display = ["started_at", "realm_id", "mode", "changed_since", "watermark", "finished_at", "error"]
    list_filter = ["mode", "realm_id"]
    readonly_fields = ["realm_id", "changed_since", "watermark", "mode", "found", "error", "started_at", "finished_at"]

    def has_add_permission(self, request):
        return False


@admin.register(SyncConflict)
class SyncConflictAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "object_type",
        "object_id",
        "field",
        "kadouri_value",
        "quickbooks_value",
        "state",
        "resolution",
    ]
    list_filter = ["state", "object_type", "field"]
    readonly_fields = ["object_type", "object_id", "field", "kadouri_value", "quickbooks_value", "created_at"]
    actions = ["mark_resolved"]

    @admin.action(description="Mark resolved (the values were settled by hand)")
    def mark_resolved(self, request, queryset):
        count = queryset.filter(state=SyncConflict.State.OPEN).update(
            state=SyncConflict.State.RESOLVED,
            resolved_at=_tz.now(),
            resolution=f"Settled by {request.user.get_username()}",
        )
        self.message_user(request, f"{count} conflict{pluralize(count)} marked resolved.")


@admin.register(QboWebhookCounter)
class QboWebhookCounterAdmin(admin.ModelAdmin):
    list_display = ["name", "count", "last_at", "last_detail"]
    readonly_fields = ["name", "count", "last_at", "last_detail"]

    def has_add_permission(self, request):
        return False


@admin.register(QboReconcileRun)
class QboReconcileRunAdmin(admin.ModelAdmin):
    list_display = ["started_at", "realm_id", "checked", "finished_at", "error"]
    readonly_fields = ["realm_id", "checked", "rows", "error", "requested_by", "started_at", "finished_at"]

    def has_add_permission(self, request):
        return False


@admin.register(QboSyncJob)
class QboSyncJobAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "action",
        "order",
        "account",
        "product",
        "state",
        "attempts",
        "not_before",
        "error_code",
        "last_error",
    ]
    list_filter = ["state", "action", "error_kind", "in_doubt"]
    search_fields = ["request_id", "order__number", "last_error"]


@admin.register(BulkPush)
class BulkPushAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "state", "total", "succeeded", "failed", "requests_used", "created_by", "finished_at"]
    list_filter = ["state"]


@admin.register(QboInboxLease)
class QboInboxLeaseAdmin(ReadOnlyAdmin):
    list_display = [f.name for f in QboInboxLease._meta.fields]
