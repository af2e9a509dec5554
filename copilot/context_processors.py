from __future__ import annotations

from django.http import HttpRequest

from copilot.packages import locked_packages
from copilot.tenancy import current_org


def cadence(request: HttpRequest) -> dict:
    """Values every shell needs: the organisation and whether the user administers it."""
    user = getattr(request, "user", None)
    organization = current_org(request)
    return {
        "organization": organization,
        "is_org_admin": bool(user and user.is_authenticated and user.is_org_admin),
        "locked_packages": locked_packages(organization),
    }
