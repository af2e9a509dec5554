"""Connecting Microsoft 365 for the whole organisation: an admin signs in (OpenID Connect) and
grants tenant-wide consent for the tenant the verified ID token names (B2), optionally picks a
security group, and sees the "all set up" page. A person's own mailbox: ``user_views`` (B3).

A tenant is bound to a Cadence organisation only through what Microsoft signed or Graph says: the
consent callback's ``tenant`` must be the ``tid`` of the ID token the same admin, in the same
session and organisation, got moments before; the person who signed in must hold a role that can
grant tenant-wide consent (the consent leg's answer is unsigned, so it proves nothing by itself);
and a tenant is connected to one Cadence organisation only (DESIGN, "Tenancy and security").
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from copilot.tenancy import admin_required, member_required
from integrations import governance, selectors
from integrations.exceptions import ProviderAuthError, ProviderError
from integrations.microsoft import auth, checks, directory
from integrations.microsoft.auth import GRAPH_APP_SCOPE
from integrations.microsoft.client import GraphClient
from integrations.microsoft.flow import (
    AADSTS,
    CONSENT_CALLBACK,
    PROVIDER,
    SIGN_IN_CALLBACK,
    STALE_STATE,
    refuse_binding,
    same_person,
    settings_page,
    sign_in_redirect,
    who,
)
from integrations.microsoft.provider import MICROSOFT
from integrations.microsoft.user_views import user_signed_in
from integrations.models import Connection, ConnectionApp
from integrations.oauth import PendingAuthorization, callback_declined, callback_state, state_begin
from integrations.records import APPS
from integrations.selectors import org_connection

logger = logging.getLogger(__name__)

SIGN_IN, CONSENT = "sign_in", "consent"  # the two legs of the admin's connect, in the state's data
APP_NAMES = {"email": "Microsoft Outlook", "calendar": "Microsoft Calendar"}
OTHER_TENANT = (
    "Microsoft confirmed consent for a different Microsoft 365 organisation than the one you signed "
    "in to, so nothing was connected. Please connect again and accept as an admin of your own "
    "organisation."
)


# --- Admin-managed: sign-in, then tenant-wide admin consent ---------------------------------------
@require_POST
@admin_required
def connect(request: HttpRequest) -> HttpResponse:
    """Install the Outlook (``app=email``) or Calendar (``app=calendar``) app; without ``app``
    both. The first install signs the admin in to learn their tenant from a verified ID token,
    then asks for tenant-wide consent there; installing the other app later, on a connection
    that works, needs neither."""
    apps = _requested_apps(request.POST.get("app") or request.GET.get("app"))
    catalog = reverse("integrations:catalog")
    lock = request.organization.package_lock_reason(MICROSOFT.package)
    if lock or not MICROSOFT.is_configured():
        messages.error(request, lock or MICROSOFT.not_configured_reason())
        return redirect(catalog)
    existing = org_connection(request.organization, PROVIDER)
    if existing is not None and existing.is_active and _still_works(existing):
        governance.apps_install(connection=existing, apps=apps, actor=request.user)
        messages.success(request, f"{_names(apps)} installed for {existing.external_username}.")
        return redirect("integrations:microsoft_done")
    purpose = "reconnect" if existing and existing.status != Connection.Status.DISCONNECTED else "connect"
    state = state_begin(
        request,
        provider=PROVIDER,
        scope=Connection.Scope.ORGANIZATION,
        purpose=purpose,
        return_to=catalog,
        data={"leg": SIGN_IN, "apps": list(apps), **who(request)},
    )
    return sign_in_redirect(request, state, back=catalog)


def _admin_signed_in(request: HttpRequest, pending: PendingAuthorization) -> HttpResponse:
    """The admin is back from signing in: verify who and which tenant, then send them to that
    tenant's admin consent with a new state that remembers the verified tenant and user."""
    catalog = reverse("integrations:catalog")
    if (
        not request.user.is_org_admin
        or pending.data.get("leg") != SIGN_IN
        or not same_person(request, pending)
    ):
        return refuse_binding(request, "sign_in_not_ours", STALE_STATE)
    try:
        verified = auth.sign_in_complete(flow=pending.data.get("flow") or {}, response=request.GET.dict())
    except ProviderError as exc:
        logger.warning(
            "microsoft.connect.sign_in_failed", extra={"user_id": request.user.pk, "code": exc.code}
        )
        messages.error(request, f"Microsoft 365 did not connect: {exc} Nothing was connected.")
        return redirect(catalog)
    state = state_begin(
        request,
        provider=PROVIDER,
        scope=Connection.Scope.ORGANIZATION,
        purpose=pending.purpose,
        return_to=catalog,
        data={
            "leg": CONSENT,
            "tenant_id": verified.tenant_id,
            # Who signed in, from the verified ID token: the role check after consent asks Graph
            # about this user, not about whoever clicked through the consent page.
            "user_oid": verified.object_id,
            "username": verified.username,
            "apps": pending.data.get("apps") or [],
            **who(request),
        },
    )
    logger.info(
        "microsoft.connect.signed_in", extra={"user_id": request.user.pk, "tenant_id": verified.tenant_id}
    )
    # Reference: https://learn.microsoft.com/en-us/entra/identity-platform/v2-admin-consent
    query = urlencode(
        {
            "client_id": settings.MICROSOFT_CLIENT_ID,
            "redirect_uri": request.build_absolute_uri(reverse("integrations:microsoft_consent_callback")),
            "state": state,
            "scope": GRAPH_APP_SCOPE,
        }
    )
    login = settings.MICROSOFT_LOGIN_URL.rstrip("/")
    return HttpResponseRedirect(f"{login}/{verified.tenant_id}/v2.0/adminconsent?{query}")


@require_GET
@admin_required
def consent_callback(request: HttpRequest) -> HttpResponse:
    """Microsoft sends the admin back with ``admin_consent=True&tenant=…`` (or ``error``). Only
    the tenant this admin's verified sign-in named is accepted, and it is that one we store —
    once Graph confirms the signed-in user may grant tenant-wide consent there (this answer is
    unsigned: anyone can call it) and no other Cadence organisation holds the tenant."""
    catalog = reverse("integrations:catalog")
    pending = callback_state(
        request,
        CONSENT_CALLBACK,
        provider=PROVIDER,
        state=request.GET.get("state"),
        scope=Connection.Scope.ORGANIZATION,
    )
    if pending is None:
        return redirect(catalog)
    verified_tenant = str(pending.data.get("tenant_id") or "")
    user_oid = str(pending.data.get("user_oid") or "")
    if (
        pending.data.get("leg") != CONSENT
        or not verified_tenant
        or not user_oid
        or not same_person(request, pending)
    ):
        return refuse_binding(request, "consent_not_ours", STALE_STATE)
    if callback_declined(request, CONSENT_CALLBACK):
        return redirect(catalog)
    if request.GET.get("admin_consent", "").lower() != "true" or not request.GET.get("tenant"):
        messages.error(request, "Microsoft did not confirm the admin consent; nothing was connected.")
        return redirect(catalog)
    if request.GET["tenant"].strip().lower() != verified_tenant:
        return refuse_binding(request, "other_tenant", OTHER_TENANT, tenant_id=verified_tenant)

    try:
        connection = checks.tenant_connect(
            organization=request.organization,
            actor=request.user,
            tenant_id=verified_tenant,
            user_oid=user_oid,
            username=str(pending.data.get("username") or ""),
        )
    except checks.TenantRefused as refused:
        return refuse_binding(request, refused.reason, str(refused), tenant_id=verified_tenant)
    except ProviderError as exc:
        logger.warning("microsoft.connect.failed", extra={"user_id": request.user.pk, "code": exc.code})
        messages.error(request, _connect_failure_message(exc))
        return redirect(catalog)
    apps = _requested_apps(",".join(pending.data.get("apps") or ()))
    governance.apps_install(connection=connection, apps=apps, actor=request.user)
    messages.success(request, f"Microsoft 365 is connected for {connection.external_username}.")
    return redirect("integrations:microsoft_scope")


@require_http_methods(["GET", "POST"])
@admin_required
def scope(request: HttpRequest) -> HttpResponse:
    """Optionally limit the connection to one security group (B2, B4)."""
    connection = _org_connection_or_none(request)
    if connection is None:
        return redirect("integrations:catalog")
    current = (connection.details or {}).get("scope") or {}
    try:
        with GraphClient(connection) as client:
            groups = directory.security_groups(client)
            if request.method == "POST":
                return _save_scope(request, client, connection, groups)
    except ProviderError as exc:
        logger.warning("microsoft.scope.failed", extra={"connection_id": connection.pk, "code": exc.code})
        messages.error(request, f"Microsoft 365 did not list the security groups: {exc}")
        groups = []
    return render(
        request,
        "integrations/microsoft/scope.html",
        {"connection": connection, "groups": groups, "current": current.get("key", "")},
    )


def _save_scope(
    request: HttpRequest, client: GraphClient, connection: Connection, groups: list[directory.SecurityGroup]
) -> HttpResponse:
    chosen = request.POST.get("group", "")
    # Who belongs to the tenant may have changed since connect: read it again before the first sync.
    checks.tenant_directory_store(connection=connection, client=client)
    if not chosen:
        governance.connection_set_scope(
            connection=connection, kind="", key="", name="", members=(), actor=request.user
        )
        messages.success(request, "Cadence may sync every user of the tenant who is a Cadence user.")
        return redirect("integrations:microsoft_done")
    group = next((g for g in groups if g.id == chosen), None)
    if group is None:
        messages.error(request, "That security group is not one Microsoft 365 listed; pick one again.")
        return redirect("integrations:microsoft_scope")
    members = directory.group_members(client, group.id)
    governance.connection_set_scope(
        connection=connection,
        kind="security_group",
        key=group.id,
        name=group.name,
        members=members,
        actor=request.user,
    )
    messages.success(request, f"Cadence syncs only members of {group.name} ({len(members)} now).")
    return redirect("integrations:microsoft_done")


@require_GET
@admin_required
def done(request: HttpRequest) -> HttpResponse:
    """ "You're all set up": which apps are installed, the scope, how many users sync."""
    connection = _org_connection_or_none(request)
    if connection is None:
        return redirect("integrations:catalog")
    rows = {row.app: row for row in ConnectionApp.objects.filter(connection=connection, installed=True)}
    apps = []
    for app in APPS:
        if app in rows:
            eligible = selectors.eligibility(connection=connection, app=app, app_row=rows[app])
            apps.append(
                {
                    "row": rows[app],
                    "name": APP_NAMES[app],
                    "syncing": sum(e.syncing for e in eligible),
                    "users": len(eligible),
                }
            )
    missing = [{"app": app, "name": APP_NAMES[app]} for app in APPS if app not in rows]
    return render(
        request,
        "integrations/microsoft/done.html",
        {
            "connection": connection,
            "apps": apps,
            "missing": missing,
            "scope": (connection.details or {}).get("scope") or {},
            "initial_days": (connection.details or {}).get("initial_sync_days")
            or settings.MAIL_INITIAL_SYNC_DAYS,
        },
    )


# --- The sign-in callback, for both flows -------------------------------------------------------
@require_GET
@member_required
def callback(request: HttpRequest) -> HttpResponse:
    """Microsoft sends the person back from signing in with ``code`` (or ``error``) and our
    ``state``: an admin's first leg of connecting the tenant, or a person's own connection."""
    pending = callback_state(request, SIGN_IN_CALLBACK, provider=PROVIDER, state=request.GET.get("state"))
    if pending is None:
        return redirect(settings_page())
    if callback_declined(request, SIGN_IN_CALLBACK):
        return redirect(pending.return_to)
    if pending.scope == Connection.Scope.ORGANIZATION:
        return _admin_signed_in(request, pending)
    return user_signed_in(request, pending)


# --- Helpers --------------------------------------------------------------------------------------
def _requested_apps(value: str | None) -> tuple[str, ...]:
    wanted = tuple(app for app in APPS if app in (value or "").split(","))
    return wanted or APPS


def _names(apps: tuple[str, ...]) -> str:
    return " and ".join(APP_NAMES[app] for app in apps)


def _still_works(connection: Connection) -> bool:
    """The organisation's connection can still get a token for its tenant (consent not removed)."""
    if (connection.details or {}).get("mode") != "app":
        return False
    try:
        auth.app_token(tenant_id=str(connection.details.get("tenant_id") or connection.external_org_id))
    except ProviderError as exc:
        logger.info(
            "microsoft.connect.reconsent_needed", extra={"connection_id": connection.pk, "code": exc.code}
        )
        return False
    return True


def _org_connection_or_none(request: HttpRequest) -> Connection | None:
    connection = org_connection(request.organization, PROVIDER)
    if connection is None or connection.status == Connection.Status.DISCONNECTED:
        messages.info(request, "Microsoft 365 is not connected for your organisation.")
        return None
    return connection


def _connect_failure_message(exc: ProviderError) -> str:
    code = AADSTS.search(str(exc))
    if isinstance(exc, ProviderAuthError) and exc.code in ("invalid_client", "unauthorized_client"):
        return (
            f"Cadence's Microsoft app credentials were refused ({code.group(0) if code else exc.code}): "
            "the client id or secret on this Cadence server is wrong or has expired. Nothing was "
            "connected; whoever runs this Cadence installation needs to update MICROSOFT_CLIENT_ID "
            "and MICROSOFT_CLIENT_SECRET."
        )
    if isinstance(exc, ProviderAuthError):
        return f"Microsoft 365 refused Cadence: {exc} Nothing was connected."
    return f"Microsoft 365 did not answer as expected: {exc} Nothing was connected; please try again."
