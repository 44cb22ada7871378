"""`{{ account|qbo_display_name }}`: the DisplayName Kadouri gives an account's customer in QuickBooks."""

from django import template

from accounts.models import Account

from ..mapping import customer_display_names

register = template.Library()


@register.filter
def qbo_display_name(account: Account) -> str:
    return customer_display_names([account])[account.pk]
