from django.contrib import admin

from .models import Order, OrderActivity, OrderLine


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    readonly_fields = ["amount"]
    autocomplete_fields = ["product"]


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
    list_display = ["number", "order_date", "seller", "buyer", "status", "payment_status", "qbo_doc_number", "updated_at"]
    list_filter = ["status", "payment_status", "qbo_doc_type", "terms", "ready_to_push", "order_date"]
    search_fields = ["number", "seller__name", "buyer__name", "qbo_doc_number", "qbo_doc_id"]
    autocomplete_fields = ["seller", "buyer"]
    readonly_fields = ["version", "content_fingerprint", "pushed_fingerprint", "created_by", "updated_by", "created_at", "updated_at"]
    inlines = [OrderLineInline, OrderActivityInline]
    date_hierarchy = "order_date"


@admin.register(OrderActivity)
class OrderActivityAdmin(admin.ModelAdmin):
    list_display = ["created_at", "order", "activity_type", "user_name", "ip_address"]
    list_filter = ["activity_type", "created_at"]
    search_fields = ["order__number", "description", "user_name"]
    readonly_fields = [f.name for f in OrderActivity._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
