"""URLs of the Google Workspace connect flows (admin-managed and user-managed)."""

from django.urls import path

from integrations.google import views

# Included by integrations/urls.py into the "integrations" namespace.
urlpatterns = [
    path("admin/integrations/google/connect/", views.connect, name="google_connect"),
    path("admin/integrations/google/scope/", views.scope, name="google_scope"),
    path("admin/integrations/google/done/", views.done, name="google_done"),
    path("integrations/google/connect/", views.connect_user, name="google_connect_user"),
    # Registered as the OAuth client's redirect URI: keep it stable.
    path("integrations/google/callback/", views.callback, name="google_callback"),
]
