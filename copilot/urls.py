from django.urls import path

from copilot.views import account, invitations, onboarding, portal_company, portal_groups, portal_users

app_name = "copilot"

urlpatterns = [
    # Admin Portal
    path("admin/", portal_company.portal_home, name="portal_home"),
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
    # Invitee, onboarding, account
    path("invite/<str:token>/", invitations.invitation_accept_view, name="invitation_accept"),
    path("onboarding/", onboarding.onboarding, name="onboarding"),
    path("onboarding/done/", onboarding.onboarding_done, name="onboarding_done"),
    path("onboarding/<slug:step>/", onboarding.onboarding_step, name="onboarding_step"),
    path("account/", account.account, name="account"),
    path("no-organization/", account.no_organization, name="no_organization"),
]
