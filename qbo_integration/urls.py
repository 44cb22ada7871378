from django.urls import path

from . import views

app_name = "qbo"

urlpatterns = [
    path("quickbooks/", views.settings_quickbooks, name="settings"),
    path("quickbooks/clear-ids/", views.clear_ids, name="clear-ids"),
]
