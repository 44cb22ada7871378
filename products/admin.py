from django.contrib import admin

from kadouri.qbo_link_admin import QboLinkedAdmin

from .models import Product


@admin.register(Product)
class ProductAdmin(QboLinkedAdmin):
    list_display = ["name", "sku", "unit", "unit_price", "active", "qbo_item_id", "updated_at"]
    list_filter = ["active", "unit", ("qbo_item_id", admin.EmptyFieldListFilter)]
    search_fields = ["name", "sku", "qbo_item_id"]
    readonly_fields = ["created_at", "updated_at"]
