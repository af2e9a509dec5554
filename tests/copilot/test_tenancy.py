"""The scoping mechanism itself, for views that use it directly."""

from __future__ import annotations

import pytest
from django.http import Http404
from django.test import RequestFactory
from django.views.generic import DetailView

from copilot.models import Organization, OrgGroup
from copilot.tenancy import OrgScopedMixin, org_object_or_404, scoped
from tests.factories import OrgGroupFactory


def _request(user):
    request = RequestFactory().get("/")
    request.user = user
    request.organization = user.organization
    return request


def test_scoped_querysets_only_hold_the_requests_organisation(owner, outsider):
    ours = OrgGroupFactory(organization=owner.organization)
    OrgGroupFactory(organization=outsider.organization)
    assert list(scoped(_request(owner), OrgGroup)) == [ours]
    assert org_object_or_404(_request(owner), OrgGroup, pk=ours.pk) == ours
    with pytest.raises(Http404):
        org_object_or_404(_request(outsider), OrgGroup, pk=ours.pk)
    with pytest.raises(Http404):
        org_object_or_404(_request(owner), OrgGroup, pk="not-a-number")


def test_models_without_an_organisation_are_refused(owner):
    with pytest.raises(TypeError, match="not tenant-owned"):
        scoped(_request(owner), Organization)


def test_class_based_views_are_scoped_by_the_mixin(owner, outsider):
    class GroupDetail(OrgScopedMixin, DetailView):
        model = OrgGroup
        template_name = "copilot/portal/group_form.html"

    theirs = OrgGroupFactory(organization=outsider.organization)
    with pytest.raises(Http404):
        GroupDetail.as_view()(_request(owner), pk=theirs.pk)
