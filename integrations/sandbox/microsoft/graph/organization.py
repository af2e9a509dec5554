"""``GET /organization`` (and ``/organization/{id}``): the caller's tenant and its verified domains."""

# Reference: https://learn.microsoft.com/en-us/graph/api/organization-get
# Reference: https://learn.microsoft.com/en-us/graph/api/resources/verifieddomain

from __future__ import annotations

from typing import Any

from integrations.sandbox.microsoft.directory import Tenant
from integrations.sandbox.microsoft.graph import errors, odata
from integrations.sandbox.microsoft.graph.pipeline import Target
from integrations.sandbox.routing import Request, Response, json_response
from integrations.sandbox.state import SandboxState

PROPERTIES = ("id", "displayName", "verifiedDomains", "tenantType", "countryLetterCode", "preferredLanguage",
              "createdDateTime", "businessPhones", "city", "country", "technicalNotificationMails")  # fmt: skip


def routes() -> list[tuple[str, str, Any, str, str]]:
    return [
        ("GET", r"/graph/v1\.0/organization", list_organization, "organization", "directory"),
        ("GET", r"/graph/v1\.0/organization/(?P<org>[^/]+)", get_organization, "organization", "directory"),
    ]


def organization_json(tenant: Tenant) -> dict[str, Any]:
    default = tenant.domains[0] if tenant.domains else tenant.domain
    return {
        "id": tenant.id,
        "displayName": tenant.display_name,
        "verifiedDomains": [
            {
                "capabilities": "Email, OfficeCommunicationsOnline"
                if name == default or name == tenant.domain
                else "Email",
                "isDefault": name == default,
                "isInitial": name == tenant.domain,
                "name": name,
                "type": "Managed",
            }
            for name in tenant.all_domains
        ],
        "tenantType": "AAD",
        "countryLetterCode": "US",
        "preferredLanguage": "en",
        "createdDateTime": "2024-01-15T09:00:00Z",
        "businessPhones": [],
        "city": None,
        "country": None,
        "technicalNotificationMails": [],
    }


def list_organization(request: Request, state: SandboxState, target: Target) -> Response:
    select = odata.selection(request, PROPERTIES, "microsoft.graph.organization")
    if isinstance(select, Response):
        return select
    tenant = target.directory.tenants[target.token.tenant_id]
    body = organization_json(tenant)
    shown = {k: body.get(k) for k in select} if select else body
    return odata.collection(request, fragment="organization", value=[shown])


def get_organization(request: Request, state: SandboxState, target: Target) -> Response:
    if request.params["org"] != target.token.tenant_id:
        return errors.resource_not_found(request, request.params["org"])
    select = odata.selection(request, PROPERTIES, "microsoft.graph.organization")
    if isinstance(select, Response):
        return select
    body = organization_json(target.directory.tenants[target.token.tenant_id])
    shown = {k: body.get(k) for k in select} if select else body
    return json_response(200, {"@odata.context": odata.context(request, "organization/$entity"), **shown})
