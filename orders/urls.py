from django.urls import path

from . import report_views, views

app_name = "orders"

urlpatterns = [
    path("", views.order_list, name="list"),
    path("orders/new/", views.order_create, name="create"),
    path("orders/<int:order_id>/", views.order_detail, name="detail"),
    path("orders/<int:order_id>/edit/", views.order_edit, name="edit"),
    path("orders/<int:order_id>/delete/", views.order_delete, name="delete"),
    path("reports/commission/", report_views.commission_report_page, name="commission-report"),
    path("reports/commission/export.csv", report_views.commission_report_csv, name="commission-report-csv"),
]
