"""Connecting Microsoft 365: an admin signs in (OpenID Connect) and grants tenant-wide consent
for the tenant the verified ID token names (B2), optionally picks a security group, and sees the
"all set up" page; a person connects their own mailbox from Settings › Integrations (B3).

A tenant is bound to a Cadence organisation only through what Microsoft signed: the consent
callback's ``tenant`` must be the ``tid`` of the ID token the same admin, in the same session and
organisation, got moments before (DESIGN, "Tenancy and security").
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from copilot.tenancy import admin_required, member_required
from integrations import governance, selectors, services
from integrations.exceptions import ProviderAuthError, ProviderError
from integrations.microsoft import directory, identity, tenant
from integrations.microsoft.client import GRAPH_APP_SCOPE
from integrations.microsoft.graph import GraphClient
from integrations.microsoft.provider import MICROSOFT
from integrations.models import Connection, ConnectionApp
from integrations.oauth import (
    CallbackWording,
    PendingAuthorization,
    callback_declined,
    callback_state,
    state_attach,
    state_begin,
    state_pop,
)
from integrations.records import APPS
from integrations.selectors import org_connection, user_connection

logger = logging.getLogger(__name__)

PROVIDER = MICROSOFT.key
SIGN_IN, CONSENT = "sign_in", "consent"  # the two legs of the admin's connect, in the state's data
APP_NAMES = {"email": "Microsoft Outlook", "calendar": "Microsoft Calendar"}
CONSENT_DECLINED = "Consent was declined in Microsoft; nothing was connected."
SIGN_IN_CANCELLED = "You cancelled the Microsoft sign-in; nothing was connected."
STALE_STATE = (
    "That Microsoft sign-in could not be matched to one you started here (it expired or was "
    "already used), so nothing changed. Please connect again."
)
OTHER_TENANT = (
    "Microsoft confirmed consent for a different Microsoft 365 organisation than the one you signed "
    "in to, so nothing was connected. Please connect again and accept as an admin of your own "
    "organisation."
)
OTHER_ADDRESS = (
    "You signed in to Microsoft as {signed_in}, which is not your Cadence address {own}, so nothing "
    "was connected. Please connect again and sign in with {own}."
)
ADMIN_MANAGED = (
    "Your organisation's admin has connected Microsoft 365 for everyone, so you need no connection "
    "of your own."
)
_AADSTS = re.compile(r"AADSTS\d+")


def _is_cancel(description: str) -> bool:
    # AADSTS65004: the user declined to consent; access_denied without a code means the same.
    return "AADSTS65004" in description or not _AADSTS.search(description)


# Neither callback has a code to check: admin consent answers with ``admin_consent`` and
# ``tenant``, and msal checks the sign-in's code itself.
CONSENT_CALLBACK = CallbackWording(
    log_event="microsoft.connect",
    stale=STALE_STATE,
    cancelled=CONSENT_DECLINED,
    failed="Microsoft did not connect: {reason}. Nothing was connected.",
    cancelled_level=messages.ERROR,
    is_cancel=_is_cancel,
)
SIGN_IN_CALLBACK = replace(CONSENT_CALLBACK, log_event="microsoft.sign_in", cancelled=SIGN_IN_CANCELLED)


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
        data={"leg": SIGN_IN, "apps": list(apps), **_who(request)},
    )
    return _sign_in_redirect(request, state, back=catalog)


def _admin_signed_in(request: HttpRequest, pending: PendingAuthorization) -> HttpResponse:
    """The admin is back from signing in: verify who and which tenant, then send them to that
    tenant's admin consent with a new state that remembers the verified tenant."""
    catalog = reverse("integrations:catalog")
    if (
        not request.user.is_org_admin
        or pending.data.get("leg") != SIGN_IN
        or not _same_admin(request, pending)
    ):
        return _refuse_binding(request, "sign_in_not_ours", STALE_STATE)
    try:
        verified = identity.sign_in_complete(flow=pending.data.get("flow") or {}, response=request.GET.dict())
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
            "apps": pending.data.get("apps") or [],
            **_who(request),
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
    the tenant this admin's verified sign-in named is accepted, and it is that one we store."""
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
    if pending.data.get("leg") != CONSENT or not verified_tenant or not _same_admin(request, pending):
        return _refuse_binding(request, "consent_not_ours", STALE_STATE)
    if callback_declined(request, CONSENT_CALLBACK):
        return redirect(catalog)
    if request.GET.get("admin_consent", "").lower() != "true" or not request.GET.get("tenant"):
        messages.error(request, "Microsoft did not confirm the admin consent; nothing was connected.")
        return redirect(catalog)
    if request.GET["tenant"].strip().lower() != verified_tenant:
        return _refuse_binding(request, "other_tenant", OTHER_TENANT, tenant_id=verified_tenant)

    try:
        connection = _connect_tenant(request, verified_tenant)
    except ProviderError as exc:
        logger.warning("microsoft.connect.failed", extra={"user_id": request.user.pk, "code": exc.code})
        messages.error(request, _connect_failure_message(exc))
        return redirect(catalog)
    apps = _requested_apps(",".join(pending.data.get("apps") or ()))
    governance.apps_install(connection=connection, apps=apps, actor=request.user)
    messages.success(request, f"Microsoft 365 is connected for {connection.external_username}.")
    return redirect("integrations:microsoft_scope")


def _connect_tenant(request: HttpRequest, tenant_id: str) -> Connection:
    """Check Cadence can act in the tenant (an app token, then the directory) and store the
    organisation's connection with the tenant's verified domains and own users. A reconnect to
    the same tenant keeps the chosen security group. The Graph client's first request takes the
    app token, so refused credentials fail here."""
    probe = Connection(
        organization=request.organization,
        provider=PROVIDER,
        scope=Connection.Scope.ORGANIZATION,
        external_org_id=tenant_id,
        details={"mode": "app", "tenant_id": tenant_id},
    )
    with GraphClient(probe) as client:
        info = directory.tenant_info(client)
        members = tenant.tenant_directory(client)
    if info.id.lower() != tenant_id:
        raise ProviderError("Microsoft Graph answered for another organisation than the one consented.")
    existing = org_connection(request.organization, PROVIDER)
    kept: dict[str, Any] = {}
    if existing is not None and (existing.details or {}).get("tenant_id") == tenant_id:
        kept = {
            key: existing.details[key]
            for key in ("scope", "scope_members", "scope_checked_at", "initial_sync_days")
            if key in existing.details
        }
    return services.connection_save_from_oauth(
        organization=request.organization,
        actor=request.user,
        provider=PROVIDER,
        scope=Connection.Scope.ORGANIZATION,
        # App-only access holds no token: msal mints one per hour from Cadence's credentials.
        credentials={"tenant_id": tenant_id},
        external_org_id=tenant_id,
        external_user_id="",
        external_username=info.domain or tenant_id,
        instance_url="",
        details={
            **kept,
            **members,
            "mode": "app",
            "tenant_id": tenant_id,
            "tenant_domain": info.domain,
            "tenant_name": info.name,
            "tenant_users": len(members[tenant.MEMBERS_KEY]),
        },
    )


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
    tenant.tenant_directory_store(connection=connection, client=client)
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


# --- User-managed: a person's own mailbox ---------------------------------------------------------
@require_POST
@member_required
def connect_user(request: HttpRequest) -> HttpResponse:
    """One sign-in connects the person's Outlook mail, calendar and contacts (B3)."""
    settings_page = _settings_page()
    lock = request.organization.package_lock_reason(MICROSOFT.package)
    if lock or not MICROSOFT.is_configured():
        messages.error(request, lock or MICROSOFT.not_configured_reason())
        return redirect(settings_page)
    if _admin_managed(request):
        messages.info(request, ADMIN_MANAGED)
        return redirect(settings_page)
    existing = user_connection(request.user, PROVIDER)
    purpose = "reconnect" if existing and existing.status != Connection.Status.DISCONNECTED else "connect"
    state = state_begin(
        request,
        provider=PROVIDER,
        scope=Connection.Scope.USER,
        purpose=purpose,
        return_to=settings_page,
        data=_who(request),
    )
    return _sign_in_redirect(
        request, state, back=settings_page, scopes=identity.DELEGATED_SCOPES, login_hint=request.user.email
    )


@require_GET
@member_required
def callback(request: HttpRequest) -> HttpResponse:
    """Microsoft sends the person back from signing in with ``code`` (or ``error``) and our
    ``state``: an admin's first leg of connecting the tenant, or a person's own connection."""
    pending = callback_state(request, SIGN_IN_CALLBACK, provider=PROVIDER, state=request.GET.get("state"))
    if pending is None:
        return redirect(_settings_page())
    if callback_declined(request, SIGN_IN_CALLBACK):
        return redirect(pending.return_to)
    if pending.scope == Connection.Scope.ORGANIZATION:
        return _admin_signed_in(request, pending)
    return _user_signed_in(request, pending)


def _user_signed_in(request: HttpRequest, pending: PendingAuthorization) -> HttpResponse:
    settings_page = _settings_page()
    if not _same_admin(request, pending):
        return _refuse_binding(request, "user_sign_in_not_ours", STALE_STATE, back=settings_page)
    if _admin_managed(request):
        messages.info(request, ADMIN_MANAGED)
        return redirect(settings_page)
    try:
        grant = identity.user_flow_complete(flow=pending.data.get("flow") or {}, response=request.GET.dict())
    except ProviderError as exc:
        logger.warning("microsoft.connect_user.failed", extra={"user_id": request.user.pk, "code": exc.code})
        messages.error(request, f"Microsoft 365 did not connect: {exc} Nothing changed; please try again.")
        return redirect(settings_page)
    own = request.user.email.strip().lower()
    if own not in {grant.username, grant.email}:
        # Only the person's own mailbox may be connected as theirs: another address would sync
        # and send as someone else.
        logger.warning("microsoft.connect_user.other_address", extra={"user_id": request.user.pk})
        messages.error(
            request, OTHER_ADDRESS.format(signed_in=grant.username or grant.email, own=request.user.email)
        )
        return redirect(settings_page)
    connection = services.connection_save_from_oauth(
        organization=request.organization,
        actor=request.user,
        provider=PROVIDER,
        scope=Connection.Scope.USER,
        credentials=grant.credentials,
        external_org_id=grant.tenant_id,
        external_user_id=grant.user_id,
        external_username=own,
        instance_url="",
        details={
            "mode": "delegated",
            "tenant_id": grant.tenant_id,
            "tenant_domain": own.rpartition("@")[2],
            "name": grant.name,
        },
    )
    governance.apps_install(connection=connection, apps=APPS, actor=request.user)
    messages.success(
        request,
        f"Microsoft 365 is connected as {own}: Cadence syncs your Outlook mail, calendar and contacts.",
    )
    return redirect(settings_page)


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
        identity.app_token(tenant_id=str(connection.details.get("tenant_id") or connection.external_org_id))
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


def _admin_managed(request: HttpRequest) -> bool:
    connection = org_connection(request.organization, PROVIDER)
    return connection is not None and connection.status != Connection.Status.DISCONNECTED


def _settings_page() -> str:
    return reverse("engage:settings") + "#connections"


def _connect_failure_message(exc: ProviderError) -> str:
    code = _AADSTS.search(str(exc))
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


def _who(request: HttpRequest) -> dict[str, Any]:
    """Who starts a flow, kept on its state: the callback must come back to the same person."""
    return {"user_id": request.user.pk, "organization_id": request.organization.pk}


def _same_admin(request: HttpRequest, pending: PendingAuthorization) -> bool:
    return pending.data.get("user_id") == request.user.pk and pending.data.get("organization_id") == (
        request.organization.pk
    )


def _refuse_binding(
    request: HttpRequest, reason: str, message: str, *, tenant_id: str = "", back: str = ""
) -> HttpResponse:
    logger.warning(
        "microsoft.connect.refused",
        extra={
            "user_id": request.user.pk,
            "organization_id": request.organization.pk,
            "reason": reason,
            "tenant_id": tenant_id,
        },
    )
    messages.error(request, message)
    return redirect(back or reverse("integrations:catalog"))


def _sign_in_redirect(
    request: HttpRequest, state: str, *, back: str, scopes: tuple[str, ...] = (), login_hint: str = ""
) -> HttpResponse:
    """Start msal's sign-in for ``state`` (its flow kept on the state) and send the person there."""
    try:
        flow = identity.sign_in_begin(
            redirect_uri=request.build_absolute_uri(reverse("integrations:microsoft_callback")),
            state=state,
            scopes=scopes,
            login_hint=login_hint,
        )
    except ProviderError as exc:
        state_pop(request, provider=PROVIDER, state=state)
        messages.error(request, f"Could not start the Microsoft sign-in: {exc}")
        return redirect(back)
    state_attach(request, state=state, data={"flow": flow})
    return HttpResponseRedirect(flow["auth_uri"])
