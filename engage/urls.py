"""Engage URLs. Each feature keeps its own block; the workspace lives under /app/, the
organisation-wide Engage pages of the Admin Portal under /admin/."""

from django.urls import path

from engage.views import accounts, contacts, workspace

app_name = "engage"

urlpatterns = [
    path("app/", workspace.home, name="home"),
    path("app/salesflows/", workspace.salesflows, name="salesflows"),
    path("app/analytics/", workspace.analytics, name="analytics"),
    path("app/feed/", workspace.feed, name="feed"),
]

# --- Contacts and accounts ----------------------------------------------------------------------
urlpatterns += [
    path("app/contacts/", contacts.contact_list, name="contacts"),
    path("app/contacts/new/", contacts.contact_create, name="contact_create"),
    path("app/contacts/bulk/", contacts.contact_bulk, name="contact_bulk"),
    path("app/contacts/check-email/", contacts.contact_email_check, name="contact_email_check"),
    path("app/contacts/<int:contact_id>/", contacts.contact_detail, name="contact_detail"),
    path("app/contacts/<int:contact_id>/edit/", contacts.contact_edit, name="contact_edit"),
    path("app/contacts/<int:contact_id>/status/", contacts.contact_status, name="contact_status"),
    path("app/contacts/<int:contact_id>/owner/", contacts.contact_owner, name="contact_owner"),
    path("app/contacts/<int:contact_id>/delete/", contacts.contact_delete, name="contact_delete"),
    path("app/accounts/", accounts.account_list, name="accounts"),
    path("app/accounts/<int:account_id>/", accounts.account_detail, name="account_detail"),
]

# --- CSV import ---------------------------------------------------------------------------------
urlpatterns += []

# --- Profile and settings -----------------------------------------------------------------------
urlpatterns += [
    path("app/settings/", workspace.settings_page, name="settings"),
]

# --- Admin Portal: contact statuses -------------------------------------------------------------
urlpatterns += []
