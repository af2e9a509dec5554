from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

logger = logging.getLogger(__name__)


class UserPreferencesMiddleware:
    """Render each page in the signed-in user's language and time zone (set in onboarding or
    Account); signed-out pages follow the browser's language and UTC."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            translation.activate(user.language)
            request.LANGUAGE_CODE = translation.get_language()
            try:
                timezone.activate(zoneinfo.ZoneInfo(user.time_zone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        return self.get_response(request)


class DeactivatedOrganizationMiddleware:
    """Members of a deactivated organisation are signed out on their next request and shown a
    plain page saying why. Nothing of the organisation is deleted; once support staff reactivate
    it, its members sign in again as before. (Its syncs and sending stop in ``integrations``.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.organization_id is not None:
            organization = user.organization
            if not organization.is_active:
                from django.contrib.auth import logout
                from django.shortcuts import render

                logger.info(
                    "organization.deactivated.signed_out",
                    extra={"user_id": user.pk, "organization_id": organization.pk},
                )
                logout(request)
                return render(
                    request,
                    "copilot/organization_deactivated.html",
                    {"organization_name": organization.name},
                    status=403,
                )
        return self.get_response(request)
