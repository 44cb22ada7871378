"""Who may press the operators' buttons: admins (the manage-connection permission) only."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.shortcuts import redirect

from ..context_processors import can_manage_quickbooks


def managers_only(what: str, *, back: str):
    """A page action for admins: anyone else gets "Only admins can <what>." on the page `back` names, and
    nothing changes."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not can_manage_quickbooks(request.user):
                messages.error(request, f"Only admins can {what}.")
                return redirect(back)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
