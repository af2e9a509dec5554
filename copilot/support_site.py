"""The Django admin at /support/, signed in only through allauth and only with two factors (A7).

Django's stock admin login form would skip allauth's TOTP stage and its failed-login rate limits,
so this site has no login form of its own: ``/support/login/`` sends staff to allauth's sign-in
(password, then the TOTP code), and the site opens only for an active staff account that has
TOTP enabled and whose current session passed the TOTP challenge. A staff account without TOTP
is asked to set it up first; a session that signed in before TOTP was enabled must sign in again.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from allauth.account.authentication import get_authentication_records
from allauth.mfa.models import Authenticator
from django.contrib import admin
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

logger = logging.getLogger(__name__)


def has_totp(user) -> bool:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def passed_mfa(request: HttpRequest) -> bool:
    """Whether this session's sign-in included allauth's second factor."""
    return any(record.get("method") == "mfa" for record in get_authentication_records(request, request.user))


class SupportAdminSite(admin.AdminSite):
    site_header = "Cadence support"
    site_title = "Cadence support"
    index_title = "Organisations, users and sync"

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff and has_totp(user) and passed_mfa(request))

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        """No password form here: allauth signs staff in (rate limits, TOTP)."""
        user = request.user
        next_url = request.GET.get("next") or reverse("admin:index")
        if user.is_authenticated and user.is_active and user.is_staff:
            if not has_totp(user):
                logger.info("support.login.totp_missing", extra={"user_id": user.pk})
                return render(
                    request, "admin/support_totp_required.html", {"site_header": self.site_header}, status=403
                )
            if not passed_mfa(request):
                # Signed in before TOTP was set up: sign in again, this time with the code.
                logger.info("support.login.reauthenticate", extra={"user_id": user.pk})
                logout(request)
        elif user.is_authenticated:
            return render(
                request, "admin/support_staff_only.html", {"site_header": self.site_header}, status=403
            )
        return HttpResponseRedirect(f"{reverse('account_login')}?{urlencode({'next': next_url})}")
