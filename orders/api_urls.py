from django.urls import include, path

from . import api

urlpatterns = [
    path("orders/<int:order_id>", api.order_resource, name="api-order"),
    path("orders/<int:order_id>/activities", api.order_activities, name="api-order-activities"),
    path("quickbooks/", include("qbo_integration.api_urls")),
]
