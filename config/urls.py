from django.contrib import admin
from django.urls import include, path

from engage.views.workspace import landing

urlpatterns = [
    path("", landing, name="landing"),
    path("support/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("copilot.urls")),
    path("", include("engage.urls")),
    path("", include("integrations.urls")),
]
