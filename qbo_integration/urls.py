from django.urls import path

from . import sync_views, views, webhook_views

app_name = "qbo"

urlpatterns = [
    path("quickbooks/", views.settings_quickbooks, name="settings"),
    path("quickbooks/clear-ids/", views.clear_ids, name="clear-ids"),
    path("quickbooks/demo-documents/", views.demo_documents, name="demo-documents"),
    path("quickbooks/orders/<int:order_id>/live/", sync_views.order_panel, name="order-panel"),
    path("quickbooks/orders/<int:order_id>/<str:action>/", sync_views.order_action, name="order-action"),
    path("quickbooks/sync/<str:kind>/<int:pk>/", sync_views.sync_ref, name="sync-ref"),
    path("quickbooks/push/", sync_views.bulk_push, name="bulk-push"),
    path("quickbooks/push/<int:bulk_id>/progress/", sync_views.bulk_push_progress, name="bulk-push-progress"),
    path("quickbooks/inbox/", webhook_views.inbox, name="inbox"),
    path("quickbooks/inbox/replay/", webhook_views.inbox_replay, name="inbox-replay"),
    path("quickbooks/inbox/<int:event_id>/", webhook_views.inbox_event, name="inbox-event"),
    path("quickbooks/catchup/", webhook_views.catchup_start, name="catchup"),
    path("quickbooks/inbound-card/", webhook_views.inbound_card, name="inbound-card"),
    path("quickbooks/reconcile/", webhook_views.reconcile_page, name="reconcile"),
    path("quickbooks/reconcile/run/", webhook_views.reconcile_start, name="reconcile-run"),
    path("quickbooks/reconcile/report/", webhook_views.reconcile_report, name="reconcile-report"),
    path("quickbooks/reconcile/<int:order_id>/fix/", webhook_views.reconcile_fix, name="reconcile-fix"),
]
