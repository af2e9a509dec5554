from django.urls import path

from integrations import views
from integrations.google.urls import urlpatterns as google_urls
from integrations.microsoft.urls import urlpatterns as microsoft_urls
from integrations.salesforce.urls import urlpatterns as salesforce_urls

app_name = "integrations"

urlpatterns = [
    # Admin Portal › Integrations
    path("admin/integrations/", views.catalog, name="catalog"),
    path(
        "admin/integrations/connections/<int:connection_id>/disconnect/",
        views.disconnect,
        name="disconnect",
    ),
    path("admin/integrations/apps/<int:connection_app_id>/toggle/", views.app_toggle, name="app_toggle"),
    path(
        "admin/integrations/apps/<int:connection_app_id>/disconnect/",
        views.app_disconnect,
        name="app_disconnect",
    ),
    path("admin/integrations/apps/<int:connection_app_id>/users/", views.manage_users, name="manage_users"),
    path(
        "admin/integrations/mailboxes/<int:sync_state_id>/retry/", views.mailbox_retry, name="mailbox_retry"
    ),
    # Settings › Integrations: a person's own Google or Microsoft connection
    path("integrations/mail/disconnect/", views.own_disconnect, name="own_disconnect"),
    *salesforce_urls,
    *google_urls,
    *microsoft_urls,
]
