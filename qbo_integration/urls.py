from django.urls import path

from .views import (
    broker_pages,
    bulk_pages,
    cash_sale_pages,
    catchup_pages,
    connection_pages,
    credit_pages,
    inbox_pages,
    payment_pages,
    reconcile_pages,
    sync_pages,
)

app_name = "qbo"

urlpatterns = [
    path("quickbooks/", connection_pages.settings_quickbooks, name="settings"),
    path("quickbooks/rules/", connection_pages.company_rules, name="company-rules"),
    path("quickbooks/clear-ids/", connection_pages.clear_ids, name="clear-ids"),
    path("quickbooks/demo-documents/", connection_pages.demo_documents, name="demo-documents"),
    path("quickbooks/broker-books/", broker_pages.broker_books_settings, name="broker-books"),
    path("quickbooks/orders/<int:order_id>/broker-document/", broker_pages.broker_send, name="broker-send"),
    path("quickbooks/orders/<int:order_id>/live/", sync_pages.order_panel, name="order-panel"),
    path("quickbooks/orders/<int:order_id>/cash-sale/", cash_sale_pages.cash_sale_new, name="cash-sale"),
    path("quickbooks/orders/<int:order_id>/payments/new/", payment_pages.payment_new, name="payment-new"),
    path(
        "quickbooks/orders/<int:order_id>/payments/<str:payment_id>/delete/",
        payment_pages.payment_delete,
        name="payment-delete",
    ),
    path("quickbooks/orders/<int:order_id>/credits/new/", credit_pages.credit_new, name="credit-new"),
    path("quickbooks/credits/<str:qbo_id>/apply/", credit_pages.credit_apply, name="credit-apply"),
    path("quickbooks/credits/<str:qbo_id>/refund/", credit_pages.credit_refund, name="credit-refund"),
    path("quickbooks/orders/<int:order_id>/<str:action>/", sync_pages.order_action, name="order-action"),
    path("quickbooks/sync/<str:kind>/<int:pk>/", sync_pages.sync_ref, name="sync-ref"),
    path("quickbooks/push/", bulk_pages.bulk_push, name="bulk-push"),
    path("quickbooks/push/<int:bulk_id>/progress/", bulk_pages.bulk_push_progress, name="bulk-push-progress"),
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
