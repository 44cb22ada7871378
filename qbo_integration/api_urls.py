from django.urls import path

from .views import connection, outbound
from .views import webhook

urlpatterns = [
    path("connect", connection.connect, name="qbo-connect"),
    path("callback", connection.callback, name="qbo-callback"),
    path("status", connection.status, name="qbo-status"),
    path("disconnect", connection.disconnect, name="qbo-disconnect"),
    path("sync/order/<int:order_id>", outbound.api_sync_order, name="qbo-sync-order"),
    path("sync/order/<int:order_id>/convert", outbound.api_convert_order, name="qbo-sync-order-convert"),
    path("sync/account/<int:account_id>", outbound.api_sync_account, name="qbo-sync-account"),
    path("sync/product/<int:product_id>", outbound.api_sync_product, name="qbo-sync-product"),
    path("status/order/<int:order_id>", outbound.api_order_status, name="qbo-status-order"),
    path("webhook", webhook.webhook, name="qbo-webhook"),
]
