"""A person connects their own Microsoft 365 mailbox from Settings › Integrations (B3): one
sign-in for Outlook mail, calendar and contacts, accepted only for the person's own address as the
tenant's directory knows it (Graph's ``/me``), never as an ID token's optional ``email`` claim says.

The sign-in comes back through ``views.callback``, shared with the admin's flow.
"""

from __future__ import annotations

import json
import logging

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from copilot.tenancy import member_required
from integrations import governance, services
from integrations.exceptions import ProviderError
from integrations.microsoft import auth, directory
from integrations.microsoft.client import GraphClient
from integrations.microsoft.flow import (
    PROVIDER,
    STALE_STATE,
    admin_managed,
    refuse_binding,
    same_person,
    settings_page,
    sign_in_redirect,
    who,
)
from integrations.microsoft.provider import MICROSOFT
from integrations.models import Connection
from integrations.oauth import PendingAuthorization, state_begin
from integrations.records import APPS
from integrations.selectors import user_connection

logger = logging.getLogger(__name__)

OTHER_ADDRESS = (
    "You signed in to Microsoft as {signed_in}, which is not your Cadence address {own}, so nothing "
    "was connected. Please connect again and sign in with {own}."
)
ADMIN_MANAGED = (
    "Your organisation's admin has connected Microsoft 365 for everyone, so you need no connection "
    "of your own."
)


@require_POST
@member_required
def connect_user(request: HttpRequest) -> HttpResponse:
    """One sign-in connects the person's Outlook mail, calendar and contacts (B3)."""
    back = settings_page()
    lock = request.organization.package_lock_reason(MICROSOFT.package)
    if lock or not MICROSOFT.is_configured():
        messages.error(request, lock or MICROSOFT.not_configured_reason())
        return redirect(back)
    if admin_managed(request):
        messages.info(request, ADMIN_MANAGED)
        return redirect(back)
    existing = user_connection(request.user, PROVIDER)
    purpose = "reconnect" if existing and existing.status != Connection.Status.DISCONNECTED else "connect"
    state = state_begin(
        request,
        provider=PROVIDER,
        scope=Connection.Scope.USER,
        purpose=purpose,
        return_to=back,
        data=who(request),
    )
    return sign_in_redirect(
        request, state, back=back, scopes=auth.DELEGATED_SCOPES, login_hint=request.user.email
    )


def user_signed_in(request: HttpRequest, pending: PendingAuthorization) -> HttpResponse:
    """The person is back from signing in (``views.callback``): redeem the code, ask Graph who
    signed in, and store the connection only for the person's own address."""
    back = settings_page()
    if not same_person(request, pending):
        return refuse_binding(request, "user_sign_in_not_ours", STALE_STATE, back=back)
    if admin_managed(request):
        messages.info(request, ADMIN_MANAGED)
        return redirect(back)
    try:
        grant = auth.user_flow_complete(flow=pending.data.get("flow") or {}, response=request.GET.dict())
        probe = Connection(
            organization=request.organization,
            provider=PROVIDER,
            scope=Connection.Scope.USER,
            user=request.user,
            external_org_id=grant.tenant_id,
            credentials=json.dumps(grant.credentials),
            details={"mode": "delegated", "tenant_id": grant.tenant_id},
        )
        with GraphClient(probe) as client:
            me_id, mail, upn = directory.me_addresses(client)
    except ProviderError as exc:
        logger.warning("microsoft.connect_user.failed", extra={"user_id": request.user.pk, "code": exc.code})
        messages.error(request, f"Microsoft 365 did not connect: {exc} Nothing changed; please try again.")
        return redirect(back)
    own = request.user.email.strip().lower()
    if me_id != grant.user_id or own not in {mail, upn} - {""}:
        # Only the person's own mailbox may be connected as theirs: another address would sync
        # and send as someone else.
        logger.warning("microsoft.connect_user.other_address", extra={"user_id": request.user.pk})
        messages.error(
            request, OTHER_ADDRESS.format(signed_in=mail or upn or grant.username, own=request.user.email)
        )
        return redirect(back)
    connection = services.connection_save_from_oauth(
        organization=request.organization,
        actor=request.user,
        provider=PROVIDER,
        scope=Connection.Scope.USER,
        # A refused token during the /me check was refreshed on the probe: keep the newest.
        credentials=probe.get_credentials(),
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
    return redirect(back)
