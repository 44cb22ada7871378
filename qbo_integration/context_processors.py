from django.urls import reverse

from .models import QboConnection

MANAGE_PERMISSION = "qbo_integration.manage_connection"


def can_manage_quickbooks(user) -> bool:
    """Connect, disconnect, replay, catch up, reconcile: admins (the dedicated permission) only."""
    return user.has_perm(MANAGE_PERMISSION)


def qbo_banners(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    conn = (
        QboConnection.objects.exclude(state=QboConnection.State.DISCONNECTED)
        .only("state", "hard_expires_at", "company_name")
        .first()
    )
    if conn is None:
        return {"qbo_banners": []}
    can_manage = can_manage_quickbooks(user)
    connect_url = reverse("qbo-connect")  # the banner's link starts the reconnect itself
    banners = []
    if conn.state == QboConnection.State.NEEDS_RECONNECT:
        banners.append(
            {
                "level": "error",
                "text": "QuickBooks needs to be reconnected: syncing is stopped until then."
                if can_manage
                else "QuickBooks needs to be reconnected: syncing is stopped. Ask an admin to reconnect it.",
                "url": connect_url if can_manage else "",
                "link_text": "Reconnect QuickBooks",
            }
        )
    elif conn.hard_expiry_soon and can_manage:
        banners.append(
            {
                "level": "warning",
                "text": f"The QuickBooks authorization reaches its 5-year limit on {conn.hard_expires_at:%b %-d, %Y}.",
                "url": connect_url,
                "link_text": "Reconnect QuickBooks",
            }
        )
    return {"qbo_banners": banners}
