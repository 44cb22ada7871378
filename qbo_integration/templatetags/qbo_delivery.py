"""Template helpers for the order page's Delivery card (templates/orders/_delivery.html): what may be done with the
order's document now, and the card's digest that the QuickBooks panel carries so its polls bring the card's news."""

import hashlib
import re

from django import template
from django.template.loader import render_to_string

from ..connection.profile import connected_profile
from ..models import CompanyProfile, QboSyncJob
from ..outbound.delivery import document_refusal, email_problem, online_payment_refusal, online_payments_off
from ..outbound.delivery_requests import resend_token
from ..selectors.delivery import current_pdf, pdf_filename, pdf_job

register = template.Library()
# Each render masks the CSRF token afresh: no news.
_CSRF = re.compile(r'<input type="hidden" name="csrfmiddlewaretoken" value="[^"]*">')


def _online(order, profile: CompanyProfile | None) -> dict:
    if profile is None:
        return {"shown": False}
    refusal = online_payment_refusal(order, profile)
    if order.qbo_doc_type != "invoice" or (refusal and refusal != online_payments_off(profile)):
        return {"shown": False}
    on = order.online_card_payment or order.online_ach_payment
    no_email = not (order.buyer.email or "").strip() and not order.qbo_emailed_to
    return {
        "shown": True,
        "unavailable": refusal,
        "on": on,
        "missing_link": on and not order.qbo_invoice_link,
        "no_email": no_email,
    }


@register.simple_tag
def qbo_delivery(order) -> dict:
    """What the Delivery card shows: why nothing can be delivered, or the email state and its one-click resend,
    the PDF (current, being prepared, or last failure) and online payment."""
    refusal = document_refusal(order) if order.qbo_doc_id else ""
    pdf, job = current_pdf(order), pdf_job(order)
    buyer_email = (order.buyer.email or "").strip()
    return {
        "refusal": refusal,
        "label": "estimate" if order.qbo_doc_type == "estimate" else "invoice",
        "buyer_email": buyer_email if not email_problem(buyer_email) else "",
        "again_token": resend_token(order),
        "pdf": pdf,
        "filename": pdf_filename(order),
        "preparing": pdf is None
        and job is not None
        and job.state in (QboSyncJob.State.PENDING, QboSyncJob.State.RUNNING),
        "pdf_error": job.last_error if pdf is None and job is not None and job.state == QboSyncJob.State.FAILED else "",
        "online": _online(order, connected_profile()) if not refusal else {"shown": False},
    }


@register.simple_tag(takes_context=True)
def qbo_delivery_stamp(context, order) -> str:
    """A digest of the Delivery card as it renders now (its CSRF tokens aside). The QuickBooks panel carries it,
    so the panel's poll answers — swapping the card in out of band — when only the card has news: the PDF ready,
    an email sent from QuickBooks."""
    html = render_to_string("orders/_delivery.html", {"order": order}, request=context.get("request"))
    return hashlib.sha256(_CSRF.sub("", html).encode()).hexdigest()[:16]
