from django.urls import path

from integrations.salesforce import views

# Included by integrations/urls.py into the "integrations" namespace.
urlpatterns = [
    path("integrations/salesforce/connect/", views.connect, name="salesforce_connect"),
    # Registered as the connected app's callback URL: keep it stable.
    path("integrations/salesforce/callback/", views.callback, name="salesforce_callback"),
    path("integrations/salesforce/disconnect/", views.user_disconnect, name="salesforce_user_disconnect"),
    path("admin/integrations/salesforce/<int:connection_id>/", views.details, name="salesforce_details"),
    path(
        "admin/integrations/salesforce/<int:connection_id>/refresh/",
        views.refresh_details,
        name="salesforce_refresh_details",
    ),
]
