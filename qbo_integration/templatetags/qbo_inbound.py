"""`{% qbo_inbound_card %}`: the Settings page card for webhooks, catch-up and reconciliation."""

from django import template
from django.template.defaultfilters import pluralize
from django.utils.safestring import mark_safe

from kadouri.live import render_live

from ..selectors.inbound import INBOUND_CARD, settings_card_context

register = template.Library()

CATCHUP_COUNTS_SKIPPED = {"changes", "new_events", "processed"}


@register.filter
def catchup_found(found: dict) -> str:
    """ "2 payments, 1 invoice; 34 new to Kadouri" for a finished catch-up's counts (entities found none of: left
    out)."""
    counts = [
        (entity.lower(), n)
        for entity, n in (found or {}).items()
        if entity not in CATCHUP_COUNTS_SKIPPED and isinstance(n, int) and n
    ]
    listed = ", ".join(f"{n} {entity}{pluralize(n)}" for entity, n in counts) or "no changes"
    return f"{listed}; {(found or {}).get('new_events') or 0} new to Kadouri"


@register.simple_tag(takes_context=True)
def qbo_inbound_card(context):
    card = settings_card_context() | {"can_manage": context.get("can_manage", False)}
    # Rendered once; the card polls with its stamp and is swapped only once something it shows has changed.
    html, _ = render_live(context["request"], INBOUND_CARD, card)
    return mark_safe(html)
