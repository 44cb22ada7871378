"""`{% qbo_inbound_card %}`: the Settings page card for webhooks, catch-up and reconciliation."""

from django import template

from kadouri.live import live_stamp

register = template.Library()


@register.inclusion_tag("qbo_integration/_inbound_card.html", takes_context=True)
def qbo_inbound_card(context):
    from ..webhook_views import INBOUND_CARD, settings_card_context

    card = settings_card_context() | {"can_manage": context.get("can_manage", False)}
    request = context.get("request")
    # The card polls with this stamp: it is swapped only once something it shows has changed.
    return card | {"csrf_token": context.get("csrf_token"), "request": request,
                   "live_stamp": live_stamp(request, INBOUND_CARD, card)}
