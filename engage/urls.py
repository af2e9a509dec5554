"""Engage URLs. Each feature keeps its own block; the workspace lives under /app/, the
organisation-wide Engage pages of the Admin Portal under /admin/."""

from django.urls import path

from engage.views import accounts, compose, contacts, list_view_import, workspace
from engage.views import crm as crm_views
from engage.views import crm_poll as crm_poll_views
from engage.views import crm_write_log as crm_write_views
from engage.views import imports as import_views
from engage.views import profile as profile_views
from engage.views import settings as settings_views
from engage.views import statuses as status_views
from engage.views.urls_actions import urlpatterns as actions_urls
from engage.views.urls_enrolments import urlpatterns as enrolments_urls
from engage.views.urls_salesflows import urlpatterns as salesflows_urls

app_name = "engage"

urlpatterns = [
    path("app/", workspace.home, name="home"),
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
urlpatterns += [
    path("app/contacts/import/", import_views.import_start, name="import_start"),
    path("app/contacts/imports/", import_views.import_list, name="import_list"),
    path("app/contacts/imports/<int:import_id>/", import_views.import_detail, name="import_detail"),
    path("app/contacts/imports/<int:import_id>/columns/", import_views.import_map, name="import_map"),
    path("app/contacts/imports/<int:import_id>/preview/", import_views.import_preview, name="import_preview"),
    path(
        "app/contacts/imports/<int:import_id>/progress/", import_views.import_progress, name="import_progress"
    ),
    path("app/contacts/imports/<int:import_id>/start/", import_views.import_run, name="import_run"),
    path("app/contacts/imports/<int:import_id>/report/", import_views.import_report, name="import_report"),
]

# --- Compose and send (B9) -----------------------------------------------------------------------
urlpatterns += [
    path("app/compose/", compose.compose, name="compose"),
]

# --- Profile and settings -----------------------------------------------------------------------
urlpatterns += [
    path("app/profile/", profile_views.profile_page, name="profile"),
    path("app/profile/primary/", profile_views.profile_primary, name="profile_primary"),
    path("app/profile/signature/", profile_views.profile_signature, name="profile_signature"),
    path("app/profile/address/", profile_views.profile_address, name="profile_address"),
    path("app/profile/schedule/", profile_views.profile_schedule, name="profile_schedule"),
    path("app/profile/holidays/keep/", profile_views.profile_holiday_keep, name="profile_holiday_keep"),
    path(
        "app/profile/holidays/exclude/", profile_views.profile_holiday_exclude, name="profile_holiday_exclude"
    ),
    path("app/settings/", settings_views.settings_page, name="settings"),
    path("app/settings/notifications/", settings_views.settings_notifications, name="settings_notifications"),
    path("app/settings/phone/", settings_views.phone_section, name="settings_phone"),
    path("app/settings/phone/send/", settings_views.phone_start, name="settings_phone_start"),
    path("app/settings/phone/confirm/", settings_views.phone_confirm, name="settings_phone_confirm"),
    path("app/settings/phone/resend/", settings_views.phone_resend, name="settings_phone_resend"),
    path("app/settings/phone/cancel/", settings_views.phone_cancel, name="settings_phone_cancel"),
    path("app/settings/voicemails/", settings_views.voicemail_upload, name="settings_voicemail_upload"),
    path(
        "app/settings/voicemails/<int:voicemail_id>/audio/",
        settings_views.voicemail_audio,
        name="settings_voicemail_audio",
    ),
    path(
        "app/settings/voicemails/<int:voicemail_id>/rename/",
        settings_views.voicemail_rename,
        name="settings_voicemail_rename",
    ),
    path(
        "app/settings/voicemails/<int:voicemail_id>/delete/",
        settings_views.voicemail_delete,
        name="settings_voicemail_delete",
    ),
]

# --- Admin Portal: contact statuses -------------------------------------------------------------
urlpatterns += [
    path("admin/contact-status/", status_views.status_list, name="statuses"),
    path("admin/contact-status/add/", status_views.status_create, name="status_create"),
    path("admin/contact-status/<int:status_id>/", status_views.status_update, name="status_update"),
    path("admin/contact-status/<int:status_id>/move/", status_views.status_move, name="status_move"),
    path(
        "admin/contact-status/<int:status_id>/default/",
        status_views.status_set_default,
        name="status_default",
    ),
    path("admin/contact-status/<int:status_id>/delete/", status_views.status_delete, name="status_delete"),
]

# --- Admin Portal: CRM --------------------------------------------------------------------------
urlpatterns += [
    path("admin/crm/", crm_views.crm_settings, name="crm_settings"),
    path("admin/crm/statuses/", crm_views.crm_status_mapping, name="crm_status_mapping"),
    path("admin/crm/objects/<str:sobject>/", crm_views.crm_mapping, name="crm_mapping"),
    path("admin/crm/rules/<str:sobject>/", crm_views.crm_rules, name="crm_rules"),
    path("admin/crm/rules/<str:sobject>/condition/", crm_views.crm_rule_condition, name="crm_rule_condition"),
    path("admin/crm/rules/<str:sobject>/preview/", crm_views.crm_rule_preview, name="crm_rule_preview"),
]

# --- Admin Portal: CRM poll ---------------------------------------------------------------------
urlpatterns += [
    path("admin/crm/poll/<str:sobject>/", crm_poll_views.crm_poll, name="crm_poll"),
    path(
        "admin/crm/polls/<int:poll_id>/progress/", crm_poll_views.crm_poll_progress, name="crm_poll_progress"
    ),
    path("admin/crm/polls/<int:poll_id>/cancel/", crm_poll_views.crm_poll_cancel, name="crm_poll_cancel"),
]

# --- Salesforce writes and list views ---------------------------------------------------------------
urlpatterns += [
    path("admin/crm/writes/", crm_write_views.crm_write_log, name="crm_write_log"),
    path("app/contacts/import/salesforce/", list_view_import.import_list_view, name="import_list_view"),
]

# --- Salesflows (urls_salesflows.py), enrolling and enrolments (urls_enrolments.py), Actions (urls_actions.py)
urlpatterns += salesflows_urls
urlpatterns += enrolments_urls
urlpatterns += actions_urls
