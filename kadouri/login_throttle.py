"""Log-in throttling: django-axes counts failed log-ins per username and client address (the same address the
audit log records, see kadouri.http.client_ip) and refuses further tries for a cool-off. This module holds the
two pieces axes lets a project supply: the page a locked-out visitor sees, and a NUL-safe database handler.
An administrator lifts a lock-out by deleting the row under Django admin → Axes → Access attempts, or with
`python manage.py axes_reset_username <username>`."""

from datetime import timedelta

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off
from django.conf import settings
from django.shortcuts import render

from kadouri.text import storable


def _cool_off_words(cool_off: timedelta | None) -> str | None:
    if not cool_off:
        return None
    minutes = max(1, round(cool_off.total_seconds() / 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def lockout_response(request, original_response=None, credentials=None):
    """The page shown instead of the log-in result once the limit is reached (the user and the Django admin
    log-in alike): what happened and how to get back in, with 429 Too Many Requests."""
    context = {
        "username": get_client_username(request, credentials) or "",
        "cool_off": _cool_off_words(get_cool_off(request)),
    }
    return render(request, "registration/locked_out.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)


# Client-chosen text axes copies into its columns, with the columns' lengths.
_RECORDED_REQUEST_TEXT = {"axes_user_agent": 255, "axes_http_accept": 1025, "axes_path_info": 255}
USERNAME_COLUMN = 255


def _storable(value: str, limit: int) -> str:
    # PostgreSQL refuses NUL in text and a value longer than its column: either would turn a log-in attempt into
    # a 500 instead of a counted failure.
    return storable(value)[:limit]


def _storable_request(request) -> None:
    for name, limit in _RECORDED_REQUEST_TEXT.items():
        value = getattr(request, name, None)
        if isinstance(value, str):
            setattr(request, name, _storable(value, limit))


def _storable_credentials(credentials):
    if isinstance(credentials, dict) and isinstance(credentials.get("username"), str):
        return credentials | {"username": _storable(credentials["username"], USERNAME_COLUMN)}
    return credentials


class LoginAttemptHandler(AxesDatabaseHandler):
    """axes' database handler (attempts in our database, listed in the admin), storing only text PostgreSQL
    accepts. Successful log-ins write nothing (AXES_DISABLE_ACCESS_LOG), so failures are the only path to cover."""

    def user_login_failed(self, sender, credentials, request=None, **kwargs):
        if request is not None:
            _storable_request(request)
        return super().user_login_failed(sender, _storable_credentials(credentials), request, **kwargs)
