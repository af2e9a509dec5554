"""Package flags (A1) guard whole areas, not just the connect buttons.

An organisation without the Engage package cannot open the seller workspace (contacts,
Salesflows, import, the CRM pages that feed it); one without the Copilot package cannot open the
synced intelligence (Companies, people, timelines, Revenue Intelligence rules). One middleware
decides by the URL's namespace or name, so a view added to an area later is covered without being
listed; a locked area answers with a page saying which package it needs and what it unlocks.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from copilot.models import PACKAGES
from copilot.tenancy import current_org

# URL namespace -> package, and URL names (namespace:name or a prefix ending in "*") -> package.
PACKAGE_OF_NAMESPACE = {"engage": "engage"}
PACKAGE_OF_VIEW = {
    "copilot:companies": "copilot",
    "copilot:company_detail": "copilot",
    "copilot:person": "copilot",
    "copilot:timeline": "copilot",
    "copilot:intelligence_*": "copilot",
}


def package_for(view_name: str, namespace: str) -> str | None:
    """The package a URL needs, or None when any organisation may open it."""
    for pattern, code in PACKAGE_OF_VIEW.items():
        if view_name == pattern or (pattern.endswith("*") and view_name.startswith(pattern[:-1])):
            return code
    return PACKAGE_OF_NAMESPACE.get(namespace.split(":", 1)[0]) if namespace else None


class PackageLockMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> HttpResponse | None:
        match = request.resolver_match
        organization = current_org(request)
        if match is None or organization is None:
            return None
        code = package_for(match.view_name or "", match.namespace or "")
        if code is None or organization.has_package(code):
            return None
        return render(
            request,
            "copilot/package_locked.html",
            {
                "package": PACKAGES[code],
                "reason": organization.package_lock_reason(code),
                "other_packages": [
                    p for c, p in PACKAGES.items() if c != code and organization.has_package(c)
                ],
            },
            status=403,
        )


def locked_packages(organization) -> set[str]:
    """Codes of the packages ``organization`` lacks (for the navigation's lock marks)."""
    if organization is None:
        return set()
    return {code for code in PACKAGES if not organization.has_package(code)}
