from django.contrib import admin

from kadouri.qbo_link_admin import QboLinkedAdmin

from .models import Account


@admin.register(Account)
class AccountAdmin(QboLinkedAdmin):
    list_display = ["name", "code", "email", "city", "active", "qbo_customer_id", "updated_at"]
    list_filter = ["active", "country", ("qbo_customer_id", admin.EmptyFieldListFilter)]
    search_fields = ["name", "code", "email", "qbo_customer_id"]
    readonly_fields = ["created_at", "updated_at"]
