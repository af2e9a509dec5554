"""Connecting Google Workspace (B2, B3).

Admin-managed: ``connect`` (from a Gmail or Google Calendar tile) → Google's consent as the
domain's admin → ``callback`` checks the admin and the domain-wide delegation, stores the
connection and installs both apps → ``scope`` (a Google group, an organisational unit, or everyone)
→ ``done`` ("You're all set up"). User-managed: ``connect_user`` (Settings › Integrations) → one
consent for Gmail and Google Calendar → ``callback`` → back to Settings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from copilot.tenancy import admin_required, member_required
from integrations import governance, selectors, services
from integrations.base import user_connections_url
from integrations.exceptions import ProviderAuthError, ProviderError
from integrations.google import auth, checks, directory
from integrations.google.fetch.source import admin_client
from integrations.google.provider import ADMIN_SCOPES, GOOGLE, USER_SCOPES
from integrations.models import Connection
from integrations.oauth import (
    CallbackWording,
    callback_declined,
    callback_state,
    safe_return_url,
    state_begin,
)
from integrations.records import APPS
from integrations.selectors import org_connection, user_connection

logger = logging.getLogger(__name__)

PROVIDER = GOOGLE.key
APP_NAMES = {"email": "Gmail", "calendar": "Google Calendar"}
CALLBACK = CallbackWording(
    log_event="google.connect",
    stale=(
        "That Google sign-in could not be matched to one you started here (it expired or was already "
        "used), so nothing was connected. Please connect again."
    ),
    cancelled="You cancelled the Google sign-in; nothing was connected.",
    failed="Google did not connect: {reason}. Nothing was connected.",
    no_code="Google sent no authorisation code back. Nothing was connected; please try again.",
)
ADMIN_MANAGED_EXISTS = (
    "Your organisation's administrator has connected Google Workspace for everyone, so your mailbox "
    "and calendar sync through that connection; there is nothing to connect here."
)
# Details of an admin-managed connection that survive a reconnect to the same domain.
KEPT_ON_RECONNECT = ("scope", "scope_members", "scope_checked_at", "initial_sync_days")


# --- Admin-managed -------------------------------------------------------------------------------
@require_POST
@admin_required
def connect(request: HttpRequest) -> HttpResponse:
    """From a Gmail or Google Calendar tile's form (``?app=email|calendar``): sign in as the
    domain's admin. When the organisation's connection works and only this app was disconnected,
    the app is installed again without another consent, once the admin confirms (``confirm``).
    POST only: starting a sign-in or installing an app changes state."""
    app = request.POST.get("app") or request.GET.get("app") or "email"
    if app not in APPS:
        app = "email"
    catalog = reverse("integrations:catalog")
    lock = request.organization.package_lock_reason(GOOGLE.package)
    if lock or not GOOGLE.is_configured():
        messages.error(request, lock or GOOGLE.not_configured_reason())
        return redirect(catalog)
    existing = org_connection(request.organization, PROVIDER)
    if existing is not None and existing.is_active:
        row = selectors.app_row(existing, app)
        if row is not None and row.installed:
            messages.info(request, f"{APP_NAMES[app]} is already connected.")
            return redirect("integrations:google_done")
        if request.POST.get("confirm"):
            governance.apps_install(connection=existing, apps=(app,), actor=request.user)
            messages.success(
                request, f"{APP_NAMES[app]} is connected again with your organisation's Google Workspace."
            )
            return redirect("integrations:google_done")
        return render(
            request,
            "integrations/google/reinstall.html",
            {"connection": existing, "app": app, "app_name": APP_NAMES[app]},
        )
    purpose = "reconnect" if existing and existing.status != Connection.Status.DISCONNECTED else "connect"
    state = state_begin(
        request,
        provider=PROVIDER,
        scope=Connection.Scope.ORGANIZATION,
        purpose=purpose,
        return_to=catalog,
        data={"app": app},  # the tile the admin started from
    )
    url = auth.authorization_url(state=state, redirect_uri=_redirect_uri(request), scopes=ADMIN_SCOPES)
    return HttpResponseRedirect(url)


@require_http_methods(["GET", "POST"])
@admin_required
def scope(request: HttpRequest) -> HttpResponse:
    """Choose whose mailboxes sync: a Google group (recommended), an organisational unit, or
    everyone in the domain. Read from the directory as the admin who connected."""
    connection = org_connection(request.organization, PROVIDER)
    if connection is None or not connection.is_active:
        messages.error(request, "Connect Google Workspace first.")
        return redirect("integrations:catalog")
    client = admin_client(connection)
    try:
        groups = directory.groups(client)
        units = directory.org_units(client)
        if request.method == "POST":
            choice = request.POST.get("scope", "")
            chosen = _chosen_scope(choice, groups, units)
            if chosen is None:
                messages.error(request, "Choose a group, an organisational unit, or everyone in the domain.")
            else:
                kind, key, name = chosen
                members = directory.scope_members(client, kind=kind, key=key) or frozenset()
                governance.connection_store_domains(
                    connection=connection, domains=directory.verified_domains(client)
                )
                governance.connection_set_scope(
                    connection=connection, kind=kind, key=key, name=name, members=members, actor=request.user
                )
                return redirect("integrations:google_done")
    except ProviderError as exc:
        logger.warning("google.scope.failed", extra={"connection_id": connection.pk, "code": exc.code})
        messages.error(request, f"Google's directory did not answer: {exc}")
        return redirect("integrations:catalog")
    current = connection.details.get("scope") or {}
    if "scope" not in connection.details:
        selected = f"group:{groups[0].email}" if groups else "domain"
    elif current.get("kind"):
        selected = f"{current['kind']}:{current.get('key', '')}"
    else:
        selected = "domain"
    return render(
        request,
        "integrations/google/scope.html",
        {"connection": connection, "groups": groups, "units": units, "selected": selected},
    )


@require_GET
@admin_required
def done(request: HttpRequest) -> HttpResponse:
    """ "You're all set up": which apps, which users (how many will sync), and where to go next."""
    connection = org_connection(request.organization, PROVIDER)
    if connection is None or connection.status == Connection.Status.DISCONNECTED:
        return redirect("integrations:catalog")
    apps = []
    for row in connection.apps.filter(installed=True).order_by("app"):
        rows = selectors.eligibility(connection=connection, app=row.app, app_row=row)
        apps.append(
            {
                "row": row,
                "name": APP_NAMES.get(row.app, row.app),
                "syncing": sum(1 for r in rows if r.syncing),
                "users": len(rows),
            }
        )
    return render(
        request,
        "integrations/google/done.html",
        {
            "connection": connection,
            "apps": apps,
            "scope": connection.details.get("scope") or {},
            "window_days": connection.details.get("initial_sync_days") or settings.MAIL_INITIAL_SYNC_DAYS,
        },
    )


# --- User-managed --------------------------------------------------------------------------------
@require_POST
@member_required
def connect_user(request: HttpRequest) -> HttpResponse:
    """Settings › Integrations: connect your own Gmail and Google Calendar with one consent.
    Refused before Google is asked when the person has not confirmed their Cadence address."""
    back = user_connections_url()
    lock = request.organization.package_lock_reason(GOOGLE.package)
    if lock or not GOOGLE.oauth_configured():
        messages.error(request, lock or GOOGLE.not_configured_reason())
        return redirect(back)
    admin_managed = org_connection(request.organization, PROVIDER)
    if admin_managed is not None and admin_managed.status != Connection.Status.DISCONNECTED:
        messages.info(request, ADMIN_MANAGED_EXISTS)
        return redirect(back)
    if not selectors.address_verified(request.user):
        messages.error(request, checks.unverified_message(request.user))
        return redirect(back)
    existing = user_connection(request.user, PROVIDER)
    purpose = "reconnect" if existing and existing.status != Connection.Status.DISCONNECTED else "connect"
    state = state_begin(
        request, provider=PROVIDER, scope=Connection.Scope.USER, purpose=purpose, return_to=back
    )
    url = auth.authorization_url(
        state=state, redirect_uri=_redirect_uri(request), scopes=USER_SCOPES, login_hint=request.user.email
    )
    return HttpResponseRedirect(url)


# --- The shared OAuth return ---------------------------------------------------------------------
@require_GET
@member_required
def callback(request: HttpRequest) -> HttpResponse:
    """Google sends the person back here with ``code`` (or ``error``) and our ``state``."""
    pending = callback_state(request, CALLBACK, provider=PROVIDER, state=request.GET.get("state"))
    if pending is None:
        return redirect("integrations:catalog" if request.user.is_org_admin else user_connections_url())
    fallback = (
        reverse("integrations:catalog")
        if pending.scope == Connection.Scope.ORGANIZATION
        else user_connections_url()
    )
    back = safe_return_url(request, pending.return_to, fallback=fallback)
    if callback_declined(request, CALLBACK):
        return redirect(back)
    code = request.GET["code"]  # callback_declined made sure there is one
    if pending.scope == Connection.Scope.ORGANIZATION:
        if not request.user.is_org_admin:
            raise PermissionDenied("Only administrators connect Google Workspace for the organisation.")
        app = pending.data.get("app", "email")
        return _admin_callback(request, code=code, app=app, back=back)
    return _user_callback(request, code=code, back=back)


def _admin_callback(request: HttpRequest, *, code: str, app: str, back: str) -> HttpResponse:
    signed_in = _sign_in(request, code=code, check=checks.check_admin)
    if signed_in is None:
        return redirect(back)
    tokens, sign_in = signed_in
    existing = org_connection(request.organization, PROVIDER)
    kept = existing is not None and existing.status != Connection.Status.DISCONNECTED
    details = dict(sign_in.details)
    if kept and existing.details.get("domain") == sign_in.domain:
        details.update({k: existing.details[k] for k in KEPT_ON_RECONNECT if k in existing.details})
    connection = services.connection_save_from_oauth(
        organization=request.organization,
        actor=request.user,
        provider=PROVIDER,
        scope=Connection.Scope.ORGANIZATION,
        credentials=tokens.credentials(),
        external_org_id=details.get("customer_id", ""),
        external_user_id=sign_in.subject,
        external_username=sign_in.email,
        instance_url="",
        details=details,
    )
    if kept:
        # A reconnect keeps each app as the admins left it; only the tile's app comes back if it
        # had been disconnected, and an app never installed before is installed.
        rows = {row.app: row for row in connection.apps.all()}
        apps = [a for a in APPS if a not in rows or (a == app and not rows[a].installed)]
    else:
        apps = list(APPS)
    if apps:
        governance.apps_install(connection=connection, apps=apps, actor=request.user)
    messages.success(
        request, f"Google Workspace is connected: {sign_in.domain}, signed in as {sign_in.email}."
    )
    if "scope" not in connection.details:
        return redirect("integrations:google_scope")
    return redirect("integrations:google_done")


def _user_callback(request: HttpRequest, *, code: str, back: str) -> HttpResponse:
    admin_managed = org_connection(request.organization, PROVIDER)
    if admin_managed is not None and admin_managed.status != Connection.Status.DISCONNECTED:
        messages.info(request, ADMIN_MANAGED_EXISTS)
        return redirect(back)
    signed_in = _sign_in(
        request, code=code, check=lambda tokens: checks.check_user(tokens, user=request.user)
    )
    if signed_in is None:
        return redirect(back)
    tokens, sign_in = signed_in
    connection = services.connection_save_from_oauth(
        organization=request.organization,
        actor=request.user,
        provider=PROVIDER,
        scope=Connection.Scope.USER,
        credentials=tokens.credentials(),
        external_org_id=sign_in.domain,
        external_user_id=sign_in.subject,
        external_username=sign_in.email,
        instance_url="",
        details=sign_in.details,
    )
    governance.apps_install(connection=connection, apps=APPS, actor=request.user)
    messages.success(request, "Gmail and Google Calendar are connected.")
    return redirect(back)


def _sign_in(
    request: HttpRequest, *, code: str, check: Callable[[auth.TokenResult], checks.SignIn]
) -> tuple[auth.TokenResult, checks.SignIn] | None:
    """Exchange ``code`` and ``check`` who signed in. None when that failed or was refused: the
    person is told why, and a grant Cadence will not keep is given back."""
    try:
        tokens = auth.exchange_code(code=code, redirect_uri=_redirect_uri(request))
    except ProviderError as exc:
        _failed(request, exc)
        return None
    try:
        sign_in = check(tokens)
    except ProviderError as exc:
        _revoke_unkept(tokens)
        _failed(request, exc)
        return None
    if not sign_in.passed:
        _revoke_unkept(tokens)
        for problem in sign_in.problems:
            messages.error(request, problem)
        messages.info(request, "Nothing was connected.")
        return None
    return tokens, sign_in


def _failed(request: HttpRequest, exc: ProviderError) -> None:
    logger.warning("google.connect.failed", extra={"user_id": request.user.pk, "code": exc.code})
    if isinstance(exc, ProviderAuthError) and exc.code in ("invalid_client", "unauthorized_client"):
        message = (
            "Google refused Cadence's OAuth client credentials (GOOGLE_CLIENT_ID / GOOGLE_CLIENT_SECRET): "
            f"{exc} Ask whoever runs this Cadence installation to check them. Nothing was connected."
        )
    else:
        message = f"Google did not connect: {exc} Nothing was connected; please try again."
    messages.error(request, message)


def _revoke_unkept(tokens: auth.TokenResult) -> None:
    """Cadence keeps nothing of a refused sign-in: give the grant back (best-effort)."""
    try:
        auth.revoke_token(tokens.refresh_token or tokens.access_token)
    except ProviderError as exc:
        logger.warning("google.connect.revoke_failed", extra={"code": exc.code})


def _chosen_scope(
    choice: str, groups: list[directory.DirectoryGroup], units: list[directory.OrgUnit]
) -> tuple[str, str, str] | None:
    """(kind, key, name) of the posted choice, checked against the directory; None if unknown."""
    if choice == "domain":
        return "", "", ""
    kind, _, key = choice.partition(":")
    if kind == "group":
        group = next((g for g in groups if g.email == key.lower()), None)
        return ("group", group.email, group.name) if group else None
    if kind == "org_unit":
        unit = next((u for u in units if u.path == key), None)
        return ("org_unit", unit.path, unit.name) if unit else None
    return None


def _redirect_uri(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("integrations:google_callback"))
