"""URLs of the Microsoft 365 connect flows (admin consent and user-managed)."""

from django.urls import path

from integrations.microsoft import user_views, views

# Included by integrations/urls.py into the "integrations" namespace.
urlpatterns = [
    path("admin/integrations/microsoft/connect/", views.connect, name="microsoft_connect"),
    # Registered as redirect URIs of Cadence's Entra app: keep them stable.
    path(
        "integrations/microsoft/consent/callback/",
        views.consent_callback,
        name="microsoft_consent_callback",
    ),
    path("integrations/microsoft/callback/", views.callback, name="microsoft_callback"),
    path("admin/integrations/microsoft/scope/", views.scope, name="microsoft_scope"),
    path("admin/integrations/microsoft/done/", views.done, name="microsoft_done"),
    path("integrations/microsoft/connect/", user_views.connect_user, name="microsoft_connect_user"),
]
