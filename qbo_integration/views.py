from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def settings_quickbooks(request):
    return render(request, "qbo_integration/settings.html", {})
