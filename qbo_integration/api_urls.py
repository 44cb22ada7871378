from django.urls import path

from .views import broker_api, connection_api, connection_pages, credit_api, delivery_api, money_api, sync_api, webhook

urlpatterns = [
    path("connect", connection_pages.connect, name="qbo-connect"),
    path("callback", connection_pages.callback, name="qbo-callback"),
    path("status", connection_api.status, name="qbo-status"),
    path("disconnect", connection_api.disconnect, name="qbo-disconnect"),
    path("sync/order/<int:order_id>", sync_api.api_sync_order, name="qbo-sync-order"),
    path("sync/order/<int:order_id>/convert", sync_api.api_convert_order, name="qbo-sync-order-convert"),
    path("sync/order/<int:order_id>/payments", money_api.api_order_payments, name="qbo-order-payments"),
    path(
        "sync/order/<int:order_id>/payments/<str:payment_id>",
        money_api.api_order_payment_delete,
        name="qbo-order-payment-delete",
    ),
    path("sync/order/<int:order_id>/email", delivery_api.api_order_email, name="qbo-order-email"),
    path("sync/order/<int:order_id>/pdf", delivery_api.api_order_pdf, name="qbo-order-pdf"),
    path(
        "sync/order/<int:order_id>/online-payment",
        delivery_api.api_order_online_payment,
        name="qbo-order-online-payment",
    ),
    path("sync/order/<int:order_id>/credits", credit_api.api_order_credits, name="qbo-order-credits"),
    path("sync/order/<int:order_id>/broker-document", broker_api.api_broker_document, name="qbo-order-broker-document"),
    path("sync/credit/<str:credit_id>/apply", credit_api.api_credit_apply, name="qbo-credit-apply"),
    path("sync/credit/<str:credit_id>/refund", credit_api.api_credit_refund, name="qbo-credit-refund"),
    path("sync/account/<int:account_id>", sync_api.api_sync_account, name="qbo-sync-account"),
    path("sync/product/<int:product_id>", sync_api.api_sync_product, name="qbo-sync-product"),
    path("status/order/<int:order_id>", sync_api.api_order_status, name="qbo-status-order"),
    path("webhook", webhook.webhook, name="qbo-webhook"),
]
