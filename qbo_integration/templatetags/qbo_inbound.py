"""`{% qbo_inbound_card %}`: the Settings page card for webhooks, catch-up and reconciliation."""

from django import template

register = template.Library()


@register.inclusion_tag("qbo_integration/_inbound_card.html", takes_context=True)
def qbo_inbound_card(context):
    from ..webhook_views import settings_card_context

    return settings_card_context() | {"can_manage": context.get("can_manage", False),
                                      "csrf_token": context.get("csrf_token"), "request": context.get("request")}
