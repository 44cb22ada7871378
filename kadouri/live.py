"""Parts of a page that update by themselves (htmx polling every few seconds, no reload).

A live part carries `data-live hx-get="…" hx-vals='{"since": "{{ live_stamp }}"}' hx-trigger="every 2s"
hx-swap="outerHTML"`. (The stamp goes in hx-vals, read when each poll is sent: htmx fixes hx-get's URL when it
processes the element, and a part swapped in for one with the same id is processed while it still wears the old
part's attributes, so a stamp in the URL would be the previous one.) Its stamp is a hash of its own rendered
HTML, so a poll answers 204 (htmx keeps the part as it is) until something the part shows has changed, then
the new HTML with its new stamp. Nothing to keep in step by hand: whatever the template shows is what is
compared.
"""

import hashlib
import re

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

POLL_SECONDS = 2
_PLACEHOLDER = "live-stamp-placeholder-0f3c"
# A CSRF input's value is masked afresh on every render; it is no change worth a swap. What a poll answer adds
# around the part (htmx out-of-band swaps, between <!--live:extra--> and <!--/live:extra-->) is not the part:
# the page renders the part alone, once, and its stamp must equal the poll's.
_NOT_THE_PART = re.compile(
    r'<input type="hidden" name="csrfmiddlewaretoken" value="[^"]*">'
    r"|<!--live:extra-->.*?<!--/live:extra-->",
    re.S,
)


def render_live(request: HttpRequest, template: str, context: dict) -> tuple[str, str]:
    """The part's HTML with its stamp in place, and the stamp: a page renders its live parts with this, once."""
    html = render_to_string(template, context | {"live_stamp": _PLACEHOLDER}, request=request)
    stamp = hashlib.sha256(_NOT_THE_PART.sub("", html).encode()).hexdigest()[:16]
    return html.replace(_PLACEHOLDER, stamp), stamp


def live_stamp(request: HttpRequest, template: str, context: dict) -> str:
    return render_live(request, template, context)[1]


def live_response(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    """204 while the part is as the browser has it (`?since=`), else the part."""
    html, stamp = render_live(request, template, context)
    if request.GET.get("since") == stamp:
        return HttpResponse(status=204)
    return HttpResponse(html)
