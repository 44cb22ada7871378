"""Template helpers for amounts in a buyer's currency (docs/quickbooks/next.md#multicurrency)."""

from django import template

from ..adapt.currency import buyer_currency, company_profile, order_currency_view

register = template.Library()


def _profile(context):
    """The company's profile, read once per page (a list asks for it on every row). Kept in the page's outermost
    render context: each `{% include %}` (one per row) renders in a render context of its own."""
    cache = context.render_context.dicts[0]
    if "qbo_currency_profile" not in cache:
        cache["qbo_currency_profile"] = company_profile()
    return cache["qbo_currency_profile"]


@register.simple_tag(takes_context=True)
def order_currency(context, order, amount=None) -> dict:
    return order_currency_view(order, amount, _profile(context))


@register.simple_tag(takes_context=True)
def account_currency(context, account) -> str:
    profile = _profile(context)
    code = buyer_currency(account, profile)
    return code if account.currency and code != profile.home_currency else f"{code} (the home currency)"
