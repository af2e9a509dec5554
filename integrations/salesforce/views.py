"""Connecting Salesforce (G1): start the OAuth flow, take the callback, run the checks, store the
connection; its read-only details (G8); a seller's own connection from Settings."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from copilot.tenancy import admin_required, member_required, org_object_or_404
from integrations import services
from integrations.base import user_connections_url, user_settings_url
from integrations.exceptions import ProviderAuthError, ProviderError
from integrations.models import Connection
from integrations.oauth import (
    CallbackWording,
    callback_declined,
    callback_state,
    safe_return_url,
    state_begin,
)
from integrations.salesforce import auth
from integrations.salesforce.checks import check_connection, check_tokens, privilege_names, privilege_rows
from integrations.salesforce.client import SalesforceClient
from integrations.salesforce.provider import SALESFORCE
from integrations.selectors import instance_warning, org_connection, user_connection

logger = logging.getLogger(__name__)

PROVIDER = SALESFORCE.key
CANCELLED = "You cancelled the connection; nothing changed."
STALE_STATE = (
    "That Salesforce sign-in could not be matched to one you started here (it expired or was "
    "already used), so nothing changed. Please connect again."
)
CALLBACK = CallbackWording(
    log_event="salesforce.connect",
    stale=STALE_STATE,
    cancelled=CANCELLED,
    failed="Salesforce did not connect: {reason}. Nothing changed.",
    no_code="Salesforce sent no authorisation code back. Nothing changed; please try again.",
)


@require_POST
@member_required
def connect(request: HttpRequest) -> HttpResponse:
    """Send the person to Salesforce to sign in and allow Cadence. ``scope=organization`` (admins:
    the org-wide connection) or ``scope=user`` (anyone: their own)."""
    scope = request.POST.get("scope", Connection.Scope.USER)
    if scope == Connection.Scope.ORGANIZATION:
        if not request.user.is_org_admin:
            raise PermissionDenied("Only administrators connect Salesforce for the organisation.")
        existing = org_connection(request.organization, PROVIDER)
        return_to = reverse("integrations:catalog")
    elif scope == Connection.Scope.USER:
        existing = user_connection(request.user, PROVIDER)
        return_to = user_connections_url()
    else:
        raise PermissionDenied("Unknown connection scope.")
    lock = request.organization.package_lock_reason(SALESFORCE.package)
    if lock or not SALESFORCE.is_configured():
        messages.error(request, lock or SALESFORCE.not_configured_reason())
        return redirect(return_to)
    purpose = "reconnect" if existing and existing.status != Connection.Status.DISCONNECTED else "connect"
    state = state_begin(request, provider=PROVIDER, scope=scope, purpose=purpose, return_to=return_to)
    return HttpResponseRedirect(auth.authorization_url(state=state, redirect_uri=_redirect_uri(request)))


@require_GET
@member_required
def callback(request: HttpRequest) -> HttpResponse:
    """Salesforce sends the person back here with ``code`` (or ``error``) and our ``state``."""
    pending = callback_state(request, CALLBACK, provider=PROVIDER, state=request.GET.get("state"))
    fallback = reverse("integrations:catalog") if request.user.is_org_admin else user_settings_url()
    if pending is None:
        return redirect(fallback)
    return_to = safe_return_url(request, pending.return_to, fallback=fallback)
    if pending.scope == Connection.Scope.ORGANIZATION and not request.user.is_org_admin:
        raise PermissionDenied("Only administrators connect Salesforce for the organisation.")

    if callback_declined(request, CALLBACK):
        return redirect(return_to)

    try:
        tokens = auth.exchange_code(code=request.GET["code"], redirect_uri=_redirect_uri(request))
        result, usage = check_tokens(tokens, organization=request.organization, scope=pending.scope)
    except ProviderError as exc:
        logger.warning("salesforce.connect.failed", extra={"user_id": request.user.pk, "code": exc.code})
        messages.error(request, f"Salesforce did not connect: {exc} Nothing changed; please try again.")
        return redirect(return_to)

    if not result.passed:
        _revoke_unkept(tokens.credentials())  # Cadence will not keep them
        for problem in result.problems:
            messages.error(request, problem)
        messages.info(request, "Nothing changed: Cadence did not store this connection.")
        return redirect(return_to)

    user = result.details["user"]
    connection = services.connection_save_from_oauth(
        organization=request.organization,
        actor=request.user,
        provider=PROVIDER,
        scope=pending.scope,
        credentials=tokens.credentials(),
        external_org_id=tokens.org_id,
        external_user_id=tokens.user_id,
        external_username=user.get("username", ""),
        instance_url=tokens.instance_url,
        identity_url=tokens.identity_url,
        details=result.details,
    )
    if usage is not None:
        services.connection_record_api_usage(connection=connection, used=usage.used, maximum=usage.maximum)
    messages.success(request, f"Salesforce is connected as {user.get('username')}.")
    warning = instance_warning(connection)
    if warning:
        messages.warning(request, warning)
    if connection.is_org_wide:
        return redirect("integrations:salesforce_details", connection_id=connection.pk)
    return redirect(return_to)


@admin_required
def details(request: HttpRequest, connection_id: int) -> HttpResponse:
    """Read-only details of a Salesforce connection (G8): who it signs in as, where, and what that
    user may do, as the connect checks found."""
    connection = org_object_or_404(
        request,
        Connection.objects.filter(provider=PROVIDER).select_related("user", "connected_by"),
        pk=connection_id,
    )
    return render(
        request,
        "integrations/salesforce/details.html",
        {
            "connection": connection,
            "details": connection.details,
            "privilege_names": privilege_names(),
            "privilege_rows": privilege_rows(connection.details),
            # Where each synced object stands: a paused sync shows why and when it resumes.
            "sync_states": connection.sync_states.order_by("object_name"),
        },
    )


@require_POST
@admin_required
def refresh_details(request: HttpRequest, connection_id: int) -> HttpResponse:
    """Ask Salesforce again (the user's profile may have changed since connecting)."""
    connection = org_object_or_404(request, Connection.objects.filter(provider=PROVIDER), pk=connection_id)
    if not connection.is_active:
        messages.error(request, "Reconnect Salesforce first; Cadence holds no working credentials for it.")
        return redirect("integrations:salesforce_details", connection_id=connection.pk)
    try:
        with SalesforceClient(connection) as client:
            result = check_connection(client)
    except ProviderAuthError as exc:
        messages.error(request, str(exc))
    except ProviderError as exc:
        messages.error(request, f"Salesforce did not answer: {exc}")
    else:
        services.connection_update_details(connection=connection, details=result.details)
        if result.passed:
            messages.success(request, "Details refreshed from Salesforce.")
        for problem in result.problems:
            messages.warning(request, problem)
    return redirect("integrations:salesforce_details", connection_id=connection.pk)


@member_required
def user_disconnect(request: HttpRequest) -> HttpResponse:
    """A seller disconnects their own Salesforce connection (confirmation page, then POST)."""
    connection = user_connection(request.user, PROVIDER)
    if connection is None or connection.status == Connection.Status.DISCONNECTED:
        messages.info(request, "You have no Salesforce connection of your own.")
        return redirect(user_connections_url())
    if request.method == "POST":
        services.connection_disconnect(connection=connection, actor=request.user)
        messages.success(request, "Your Salesforce connection is disconnected and its access revoked.")
        return redirect(user_connections_url())
    org_wide = org_connection(request.organization, PROVIDER)
    return render(
        request,
        "integrations/salesforce/user_disconnect.html",
        {"connection": connection, "organization_connected": bool(org_wide and org_wide.is_active)},
    )


def _redirect_uri(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("integrations:salesforce_callback"))


def _revoke_unkept(credentials: dict[str, str]) -> None:
    try:
        SALESFORCE.revoke(credentials)
    except ProviderError as exc:
        logger.warning("salesforce.connect.revoke_failed", extra={"code": exc.code})
