from django import forms
from django.contrib import admin
from django.db.models import F

from kadouri.http import client_ip
from kadouri.read_only_admin import ReadOnlyAdmin

from .models import Order, OrderActivity, OrderLine
from .services import (
    OrderError,
    lines_total,
    order_activity_log,
    order_delete,
    order_refuse_total_below_paid,
    user_display_name,
)


class OrderLineFormSet(forms.BaseInlineFormSet):
    """The same floor as the order form: the lines cannot total less than QuickBooks has recorded as paid."""

    def clean(self):
        super().clean()
        if any(self.errors) or self.instance.pk is None:
            return
        kept = [f.cleaned_data for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        total = lines_total((d["quantity"], d["unit_price"]) for d in kept)
        try:
            order_refuse_total_below_paid(self.instance, total)
        except OrderError as e:
            raise forms.ValidationError(str(e)) from None


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    formset = OrderLineFormSet
    extra = 0
    readonly_fields = ["amount"]
    autocomplete_fields = ["product"]

    # The status table holds in the admin too: lines of paid / cancelled orders are read-only.
    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (obj is None or obj.is_editable)

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and (obj is None or obj.is_editable)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (obj is None or obj.is_editable)


class OrderActivityInline(admin.TabularInline):
    model = OrderActivity
    extra = 0
    can_delete = False
    fields = ["created_at", "activity_type", "user_name", "description", "ip_address"]
    readonly_fields = fields
    ordering = ["-created_at"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "order_date",
        "seller",
        "buyer",
        "status",
        "payment_status",
        "qbo_doc_number",
        "updated_at",
    ]
    list_filter = ["status", "payment_status", "qbo_doc_type", "terms", "ready_to_push", "order_date"]
    search_fields = ["number", "seller__name", "buyer__name", "qbo_doc_number", "qbo_doc_id"]
    autocomplete_fields = ["seller", "buyer"]
    # Status and QuickBooks fields change only through QuickBooks sync (the status table, the activity log).
    readonly_fields = [
        "status",
        "payment_status",
        *[f.name for f in Order._meta.fields if f.name.startswith("qbo_")],
        "version",
        "content_fingerprint",
        "pushed_fingerprint",
        "created_by",
        "updated_by",
        "created_at",
        "updated_at",
    ]
    inlines = [OrderLineInline, OrderActivityInline]
    date_hierarchy = "order_date"

    # The status table: paid / cancelled orders are read-only, posted / paid ones cannot be deleted.
    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (obj is None or obj.is_editable)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (obj is None or obj.is_deletable)

    # Deleting goes through the service, like the order pages: the same rules, and an "Order deleted" entry
    # in the activity log (which outlives the order).
    def delete_model(self, request, obj):
        try:
            order_delete(order_id=obj.pk, by=request.user, ip=client_ip(request))
        except OrderError as e:
            self.message_user(request, str(e), level="error")

    def delete_queryset(self, request, queryset):
        for order in queryset:
            self.delete_model(request, order)

    def save_related(self, request, form, formsets, change):
        # Admin saves bypass orders.services; keep the activity log, version and fingerprint honest.
        super().save_related(request, form, formsets, change)
        order = form.instance
        changed = form.changed_data + ["lines" for fs in formsets if fs.model is OrderLine and fs.has_changed()]
        if change and not changed:
            return
        Order.objects.filter(pk=order.pk).update(
            content_fingerprint=order.compute_fingerprint(), version=F("version") + (1 if change else 0)
        )
        verb = "edited" if change else "created"
        order_activity_log(
            order=order,
            activity_type=OrderActivity.Type.ORDER_EDITED if change else OrderActivity.Type.ORDER_CREATED,
            description=f"Order {order.number} {verb} in Django admin by {user_display_name(request.user)}"
            + (f": {', '.join(changed)} changed." if change else "."),
            user=request.user,
            ip=client_ip(request),
            details={"changed": changed, "via": "admin"},
        )


@admin.register(OrderActivity)
class OrderActivityAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "order_number", "activity_type", "user_name", "ip_address"]
    list_filter = ["activity_type", "created_at"]
    search_fields = ["order_number", "description", "user_name"]
