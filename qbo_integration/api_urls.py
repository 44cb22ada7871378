from django.urls import path

from . import views

urlpatterns = [
    path("connect", views.connect, name="qbo-connect"),
    path("callback", views.callback, name="qbo-callback"),
    path("status", views.status, name="qbo-status"),
    path("disconnect", views.disconnect, name="qbo-disconnect"),
]
