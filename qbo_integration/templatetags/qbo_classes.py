"""Template helper for the order page: the QuickBooks class its documents carry (adapt/classes.py)."""

from django import template

from ..adapt.classes import class_id_for, class_name, class_source, tracking

register = template.Library()


@register.simple_tag
def qbo_order_class(order) -> dict:
    """{"tracked": False} when the company does not track classes; else the class's name ("" none) and source."""
    if not tracking():
        return {"tracked": False}
    class_id = class_id_for(order)
    return {"tracked": True, "name": class_name(class_id), "source": class_source(order) if class_id else ""}
