from django.urls import path

from .views import connection, outbound
from .views import catchup_pages, inbox_pages, reconcile_pages

app_name = "qbo"

urlpatterns = [
    path("quickbooks/", connection.settings_quickbooks, name="settings"),
    path("quickbooks/clear-ids/", connection.clear_ids, name="clear-ids"),
    path("quickbooks/demo-documents/", connection.demo_documents, name="demo-documents"),
    path("quickbooks/orders/<int:order_id>/live/", outbound.order_panel, name="order-panel"),
    path("quickbooks/orders/<int:order_id>/<str:action>/", outbound.order_action, name="order-action"),
    path("quickbooks/sync/<str:kind>/<int:pk>/", outbound.sync_ref, name="sync-ref"),
    path("quickbooks/push/", outbound.bulk_push, name="bulk-push"),
    path("quickbooks/push/<int:bulk_id>/progress/", outbound.bulk_push_progress, name="bulk-push-progress"),
    path("quickbooks/inbox/", inbox_pages.inbox, name="inbox"),
    path("quickbooks/inbox/replay/", inbox_pages.inbox_replay, name="inbox-replay"),
    path("quickbooks/inbox/<int:event_id>/", inbox_pages.inbox_event, name="inbox-event"),
    path("quickbooks/catchup/", catchup_pages.catchup_start, name="catchup"),
    path("quickbooks/inbound-card/", catchup_pages.inbound_card, name="inbound-card"),
    path("quickbooks/reconcile/", reconcile_pages.reconcile_page, name="reconcile"),
    path("quickbooks/reconcile/run/", reconcile_pages.reconcile_start, name="reconcile-run"),
    path("quickbooks/reconcile/report/", reconcile_pages.reconcile_report, name="reconcile-report"),
    path("quickbooks/reconcile/<int:order_id>/fix/", reconcile_pages.reconcile_fix, name="reconcile-fix"),
]
