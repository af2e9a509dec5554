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
    *salesforce_urls,
    *google_urls,
    *microsoft_urls,
]
