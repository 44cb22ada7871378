from django.conf import settings
from django.core.checks import Error, register

# Generated numbers look like PREFIX-YYYY-NNNNN(-n) and must fit QuickBooks' 21-character DocNumber.
LONGEST_SUFFIX = len("-2026-00000-99")


@register()
def order_number_prefix(app_configs, **kwargs) -> list:
    if len(settings.ORDER_NUMBER_PREFIX) + LONGEST_SUFFIX > 21:
        return [Error(f"ORDER_NUMBER_PREFIX is too long: at most {21 - LONGEST_SUFFIX} characters.", id="orders.E001")]
    return []
