"""Engage URLs. Each feature keeps its own block; the workspace lives under /app/, the
organisation-wide Engage pages of the Admin Portal under /admin/."""

from django.urls import path

from engage.views import workspace

app_name = "engage"

urlpatterns = [
    path("app/", workspace.home, name="home"),
    path("app/salesflows/", workspace.salesflows, name="salesflows"),
    path("app/analytics/", workspace.analytics, name="analytics"),
    path("app/feed/", workspace.feed, name="feed"),
]

# --- Contacts and accounts ----------------------------------------------------------------------
urlpatterns += [
    path("app/contacts/", workspace.contacts, name="contacts"),
]

# --- CSV import ---------------------------------------------------------------------------------
urlpatterns += []

# --- Profile and settings -----------------------------------------------------------------------
urlpatterns += [
    path("app/settings/", workspace.settings_page, name="settings"),
]

# --- Admin Portal: contact statuses -------------------------------------------------------------
urlpatterns += []
