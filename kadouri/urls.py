from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from kadouri import views
from qbo_integration.views.health import healthz

urlpatterns = [
    path("", include("orders.urls")),
    path("accounts/", include("accounts.urls")),
    path("products/", include("products.urls")),
    path("settings/", include("qbo_integration.urls")),
    path("api/", include("orders.api_urls")),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
]

handler400 = views.bad_request
handler403 = views.permission_denied
handler404 = views.page_not_found
handler500 = views.server_error
