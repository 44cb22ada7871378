"""Template helper for the order page: the QuickBooks class its documents carry (adapt/classes.py)."""

from django import template

from ..adapt.classes import class_id_for, class_source, known_class_name, tracking

register = template.Library()


@register.simple_tag
def qbo_order_class(order) -> dict:
    """{"tracked": False} when the company does not track classes; else the class's name ("" none) and source.
    Read-only: the name as Kadouri read it lately, never asking QuickBooks."""
    if not tracking():
        return {"tracked": False}
    class_id = class_id_for(order)
    return {"tracked": True, "name": known_class_name(class_id), "source": class_source(order) if class_id else ""}
