"""Admin Portal › User Management (A2–A6)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from copilot import selectors
from copilot.forms import InviteForm, RoleForm, UserEditForm
from copilot.models import Invitation, OrgGroup, Role, User
from copilot.services import invitations as invitation_services
from copilot.services import users as user_services
from copilot.tenancy import admin_required, org_object_or_404, scoped
from copilot.views.helpers import apply_validation_error

PAGE_SIZE = 50


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/")


@admin_required
def user_list(request: HttpRequest) -> HttpResponse:
    org = request.organization
    search = request.GET.get("q", "").strip()
    role = request.GET.get("role", "")
    group_id = request.GET.get("group", "")
    users = selectors.user_list(
        organization=org,
        search=search,
        role=role if role in Role.values else "",
        group_id=int(group_id) if group_id.isdigit() else None,
    )
    page = Paginator(users, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "search": search,
        "role": role,
        "group_id": group_id,
        "roles": Role.choices,
        "groups": scoped(request, OrgGroup).order_by("name"),
        "invitations": selectors.pending_invitations(organization=org),
        "filtered": bool(search or role or group_id),
    }
    template = (
        "copilot/portal/_user_table.html"
        if request.htmx and request.htmx.target == "user-table"
        else "copilot/portal/users.html"
    )
    return render(request, template, context)


@admin_required
def user_invite(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST or None, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            invitation = invitation_services.invitation_create(
                organization=request.organization,
                actor=request.user,
                email=data["email"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                role=data["role"],
                groups=data["org_groups"],
                can_start_salesflow_on_behalf=data["can_start_salesflow_on_behalf"],
                base_url=_base_url(request),
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return redirect("copilot:users")
    return render(
        request, "copilot/portal/user_invite.html", {"form": form, "ttl_days": settings.INVITATION_TTL_DAYS}
    )


@admin_required
def user_edit(request: HttpRequest, user_id: int) -> HttpResponse:
    user = org_object_or_404(request, User, pk=user_id)
    initial = {
        "first_name": user.first_name,
        "last_name": user.last_name,
        "mailbox_username": user.mailbox_username,
        "org_groups": user.org_groups.all(),
    }
    form = UserEditForm(request.POST or None, initial=initial, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user_services.user_update_membership(
                user=user,
                actor=request.user,
                first_name=data["first_name"],
                last_name=data["last_name"],
                mailbox_username=data["mailbox_username"],
                groups=data["org_groups"],
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, f"Saved {user}.")
            return redirect("copilot:users")
    return render(request, "copilot/portal/user_edit.html", {"form": form, "subject": user})


def _row(request: HttpRequest, user: User, error: str = "") -> HttpResponse:
    return render(
        request, "copilot/portal/_user_row.html", {"u": user, "roles": Role.choices, "row_error": error}
    )


@admin_required
@require_POST
def user_role(request: HttpRequest, user_id: int) -> HttpResponse:
    user = org_object_or_404(request, User, pk=user_id)
    form = RoleForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            user_services.user_change_role(user=user, role=form.cleaned_data["role"], actor=request.user)
        except ValidationError as exc:
            error = " ".join(exc.messages)
            user.refresh_from_db(fields=["role"])
    else:
        error = "Choose Administrator or Contributor."
    if request.htmx:
        if not error and user.pk == request.user.pk and not user.is_org_admin:
            # You demoted yourself: the portal is no longer yours, so leave it.
            messages.success(request, "You are now a Contributor.")
            return HttpResponseClientRedirect(reverse("engage:home"))
        return _row(request, user, error)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"{user} is now {user.get_role_display()}.")
    return redirect("copilot:users")


@admin_required
@require_POST
def user_on_behalf(request: HttpRequest, user_id: int) -> HttpResponse:
    user = org_object_or_404(request, User, pk=user_id)
    allowed = request.POST.get("allowed") in {"on", "true", "1"}
    user_services.user_set_on_behalf(user=user, allowed=allowed, actor=request.user)
    if request.htmx:
        return _row(request, user)
    messages.success(request, f"Saved {user}.")
    return redirect("copilot:users")


@admin_required
def user_delete(request: HttpRequest, user_id: int) -> HttpResponse:
    user = org_object_or_404(request, User, pk=user_id)
    if request.method == "POST":
        try:
            user_services.user_delete(user=user, actor=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"Deleted {user.email}. Their integrations were disconnected.")
        return redirect("copilot:users")
    return render(request, "copilot/portal/user_delete.html", {"subject": user})


@admin_required
@require_POST
def invitation_resend(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = org_object_or_404(request, Invitation, pk=invitation_id)
    try:
        invitation_services.invitation_resend(
            invitation=invitation, actor=request.user, base_url=_base_url(request)
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, f"Sent a new invitation to {invitation.email}; the previous link no longer works."
        )
    return redirect("copilot:users")


@admin_required
@require_POST
def invitation_revoke(request: HttpRequest, invitation_id: int) -> HttpResponse:
    invitation = org_object_or_404(request, Invitation, pk=invitation_id)
    try:
        invitation_services.invitation_revoke(invitation=invitation, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Revoked the invitation for {invitation.email}.")
    return redirect("copilot:users")
