"""The one tenancy mechanism. Every tenant-owned row carries an ``organization``; every read of
one in a request goes through ``request.organization`` and the scoped queryset below.

- ``TenantModel`` / ``TenantQuerySet.for_org()`` (in ``copilot.tenant_models``): the scoped
  queryset every tenant model has.
- ``OrganizationMiddleware``: sets ``request.organization`` from the signed-in user.
- ``org_object_or_404()`` and ``OrgScopedMixin``: how views fetch an object by id, so another
  organisation's id is a plain 404 (never 403, which would confirm the object exists).
- ``member_required`` / ``admin_required``: decorators for views that need an organisation.

``tests/copilot/test_tenancy_urls.py`` walks every URL pattern that takes an object id and proves
another organisation's object answers 404, so new views are covered without being listed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.functional import SimpleLazyObject

if TYPE_CHECKING:
    from copilot.models import Organization

M = TypeVar("M", bound=models.Model)


def _organization_of(request: HttpRequest) -> Organization | None:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    return user.organization


class OrganizationMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.organization = SimpleLazyObject(lambda: _organization_of(request))  # type: ignore[attr-defined]
        return self.get_response(request)


def current_org(request: HttpRequest) -> Organization | None:
    """The request's organisation, unwrapped from its lazy object (None when signed out)."""
    org = getattr(request, "organization", None)
    if org is None:
        return None
    return org if org else None  # SimpleLazyObject(None) is falsy


def scoped(request: HttpRequest, model_or_qs: type[M] | models.QuerySet[M]) -> models.QuerySet[M]:
    """``model_or_qs`` narrowed to the request's organisation."""
    qs = model_or_qs if isinstance(model_or_qs, models.QuerySet) else model_or_qs.objects.all()
    if not hasattr(qs, "for_org"):
        raise TypeError(f"{qs.model.__name__} is not tenant-owned: use a TenantQuerySet")
    return qs.for_org(current_org(request))


def org_object_or_404(request: HttpRequest, model_or_qs: type[M] | models.QuerySet[M], **lookup: Any) -> M:
    try:
        return scoped(request, model_or_qs).get(**lookup)
    except (models.ObjectDoesNotExist, ValueError) as exc:
        raise Http404("No such object in your organisation.") from exc


class OrgScopedMixin:
    """For class-based views: ``get_queryset`` is always scoped to the request's organisation."""

    model: type[models.Model]
    request: HttpRequest

    def get_queryset(self) -> models.QuerySet:
        return scoped(self.request, self.model)


ViewFunc = Callable[..., HttpResponse]


def member_required(view: ViewFunc) -> ViewFunc:
    """Signed in and a member of an organisation (support-only accounts have none)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if current_org(request) is None:
            return redirect("copilot:no_organization")
        return view(request, *args, **kwargs)

    return wrapper


def admin_required(view: ViewFunc) -> ViewFunc:
    """An Administrator of the request's organisation; others get 403."""

    @member_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_org_admin:
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied("Only administrators can open the Admin Portal.")
        return view(request, *args, **kwargs)

    return wrapper
