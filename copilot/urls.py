from django.urls import path

from copilot.views import (
    account,
    invitations,
    onboarding,
    portal_company,
    portal_groups,
    portal_home,
    portal_intelligence,
    portal_users,
    timeline,
)

app_name = "copilot"

urlpatterns = [
    # Admin Portal
    path("admin/", portal_home.portal_home, name="portal_home"),
    path("admin/users/", portal_users.user_list, name="users"),
    path("admin/users/invite/", portal_users.user_invite, name="user_invite"),
    path("admin/users/<int:user_id>/", portal_users.user_edit, name="user_edit"),
    path("admin/users/<int:user_id>/role/", portal_users.user_role, name="user_role"),
    path("admin/users/<int:user_id>/on-behalf/", portal_users.user_on_behalf, name="user_on_behalf"),
    path("admin/users/<int:user_id>/delete/", portal_users.user_delete, name="user_delete"),
    path(
        "admin/invitations/<int:invitation_id>/resend/",
        portal_users.invitation_resend,
        name="invitation_resend",
    ),
    path(
        "admin/invitations/<int:invitation_id>/revoke/",
        portal_users.invitation_revoke,
        name="invitation_revoke",
    ),
    path("admin/groups/", portal_groups.group_list, name="groups"),
    path("admin/groups/new/", portal_groups.group_create, name="group_create"),
    path("admin/groups/<int:group_id>/", portal_groups.group_edit, name="group_edit"),
    path("admin/groups/<int:group_id>/delete/", portal_groups.group_delete, name="group_delete"),
    path("admin/company/", portal_company.company, name="company"),
    # Configuration › Revenue Intelligence (B7)
    path("admin/revenue-intelligence/", portal_intelligence.rules, name="intelligence_rules"),
    path(
        "admin/revenue-intelligence/block/",
        portal_intelligence.rule_block_confirm,
        name="intelligence_rule_block_confirm",
    ),
    path(
        "admin/revenue-intelligence/rules/<int:rule_id>/delete/",
        portal_intelligence.rule_delete,
        name="intelligence_rule_delete",
    ),
    path("admin/revenue-intelligence/why/", portal_intelligence.why, name="intelligence_why"),
    path("admin/revenue-intelligence/storage/", portal_intelligence.storage, name="intelligence_settings"),
    # Invitee, onboarding, account
    path("invite/<str:token>/", invitations.invitation_accept_view, name="invitation_accept"),
    path("onboarding/", onboarding.onboarding, name="onboarding"),
    path("onboarding/done/", onboarding.onboarding_done, name="onboarding_done"),
    path("onboarding/<slug:step>/", onboarding.onboarding_step, name="onboarding_step"),
    path("account/", account.account, name="account"),
    path("no-organization/", account.no_organization, name="no_organization"),
]

# --- Revenue intelligence: companies, people and their timelines (B8) ---------------------------
urlpatterns += [
    path("companies/", timeline.companies, name="companies"),
    path("companies/<int:company_id>/", timeline.company_detail, name="company_detail"),
    path("people/<int:person_id>/", timeline.person_detail, name="person"),
    path("timeline/", timeline.timeline_partial, name="timeline"),
]
