"""What the two Microsoft connect flows share (the admin's, in ``views``; a person's own, in
``user_views``): the OpenID Connect sign-in both start with, the state bound to the person who
started it, the callback wordings and the plain refusal of anything that does not match.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse

from integrations.base import user_connections_url
from integrations.exceptions import ProviderError
from integrations.microsoft import auth
from integrations.microsoft.provider import MICROSOFT
from integrations.models import Connection
from integrations.oauth import CallbackWording, PendingAuthorization, state_attach, state_pop
from integrations.selectors import org_connection

logger = logging.getLogger(__name__)

PROVIDER = MICROSOFT.key
CONSENT_DECLINED = "Consent was declined in Microsoft; nothing was connected."
SIGN_IN_CANCELLED = "You cancelled the Microsoft sign-in; nothing was connected."
STALE_STATE = (
    "That Microsoft sign-in could not be matched to one you started here (it expired or was "
    "already used), so nothing changed. Please connect again."
)
AADSTS = re.compile(r"AADSTS\d+")


def _is_cancel(description: str) -> bool:
    # AADSTS65004: the user declined to consent; access_denied without a code means the same.
    return "AADSTS65004" in description or not AADSTS.search(description)


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


def who(request: HttpRequest) -> dict[str, Any]:
    """Who starts a flow, kept on its state: the callback must come back to the same person."""
    return {"user_id": request.user.pk, "organization_id": request.organization.pk}


def same_person(request: HttpRequest, pending: PendingAuthorization) -> bool:
    return pending.data.get("user_id") == request.user.pk and pending.data.get("organization_id") == (
        request.organization.pk
    )


def refuse_binding(
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


def sign_in_redirect(
    request: HttpRequest, state: str, *, back: str, scopes: tuple[str, ...] = (), login_hint: str = ""
) -> HttpResponse:
    """Start msal's sign-in for ``state`` (its flow kept on the state) and send the person there."""
    try:
        flow = auth.sign_in_begin(
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


def admin_managed(request: HttpRequest) -> bool:
    connection = org_connection(request.organization, PROVIDER)
    return connection is not None and connection.status != Connection.Status.DISCONNECTED


def settings_page() -> str:
    return user_connections_url()
