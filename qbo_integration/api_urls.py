from django.urls import path

from . import sync_views, views, webhook_views

urlpatterns = [
    path("connect", views.connect, name="qbo-connect"),
    path("callback", views.callback, name="qbo-callback"),
    path("status", views.status, name="qbo-status"),
    path("disconnect", views.disconnect, name="qbo-disconnect"),
    path("sync/order/<int:order_id>", sync_views.api_sync_order, name="qbo-sync-order"),
    path("sync/order/<int:order_id>/convert", sync_views.api_convert_order, name="qbo-sync-order-convert"),
    path("sync/account/<int:account_id>", sync_views.api_sync_account, name="qbo-sync-account"),
    path("sync/product/<int:product_id>", sync_views.api_sync_product, name="qbo-sync-product"),
    path("status/order/<int:order_id>", sync_views.api_order_status, name="qbo-status-order"),
    path("webhook", webhook_views.webhook, name="qbo-webhook"),
]
