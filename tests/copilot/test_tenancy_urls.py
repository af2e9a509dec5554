"""Every URL that takes an object id answers 404 to a member of another organisation.

The URL patterns are enumerated from the resolver, so a view added later is covered without
being listed here: a new id-taking URL kwarg fails ``test_every_url_kwarg_is_classified`` until
its factory is registered in ``OBJECT_FACTORIES`` (or it is explained in ``NOT_OBJECT_KWARGS``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from django.db import models
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from copilot.models import MailRule
from engage.models import CrmPoll, Enrolment, EnrolmentJob, Salesflow, SalesflowStep, SalesflowTemplate
from integrations.models import ConnectionApp
from tests.copilot.intelligence.factories import CompanyFactory, PersonFactory
from tests.factories import (
    AccountFactory,
    ContactFactory,
    ContactImportFactory,
    ContactStatusFactory,
    InvitationFactory,
    OrgGroupFactory,
    UserFactory,
    VoicemailFactory,
)
from tests.integrations.salesforce.factories import ConnectionFactory, SyncStateFactory


def _first_user(org):
    return org.users.order_by("pk").first()


def _flow(org) -> Salesflow:
    """A Salesflow shared with the team, owned by the org's first user (Acme's ``owner``)."""
    return Salesflow.objects.create(
        organization=org,
        owner=_first_user(org),
        name=f"Flow {Salesflow.objects.count() + 1}",
        visibility=Salesflow.Visibility.TEAM,
    )


def _step(org) -> SalesflowStep:
    return SalesflowStep.objects.create(
        organization=org,
        flow=_flow(org),
        position=1,
        kind=SalesflowStep.Kind.AUTO_EMAIL,
        subject="Hello {{ first_name|there }}",
        body_html="<p>Hi {{ first_name|there }}</p>",
    )


def _enrolment(org) -> Enrolment:
    """A contact active in a team flow (on its email step), sent from the org's first user."""
    step = _step(org)
    return Enrolment.objects.create(
        organization=org,
        flow=step.flow,
        contact=ContactFactory(organization=org),
        sender=_first_user(org),
        enrolled_by=_first_user(org),
        current_step=step,
    )


def _enrolment_job(org) -> EnrolmentJob:
    user = _first_user(org)
    return EnrolmentJob.objects.create(
        organization=org, flow=_flow(org), sender=user, enrolled_by=user, total=1
    )


# URL kwarg -> a factory making a tenant-owned object in the given organisation.
OBJECT_FACTORIES: dict[str, Callable[..., models.Model]] = {
    "user_id": lambda org: UserFactory(organization=org),
    "group_id": lambda org: OrgGroupFactory(organization=org),
    "invitation_id": lambda org: InvitationFactory(organization=org),
    "contact_id": lambda org: ContactFactory(organization=org),
    "account_id": lambda org: AccountFactory(organization=org),
    "status_id": lambda org: ContactStatusFactory(organization=org),
    "import_id": lambda org: ContactImportFactory(organization=org),
    # Voicemails are private to their owner: the org's first user (the signed-in ``owner`` in Acme).
    "voicemail_id": lambda org: VoicemailFactory(organization=org, owner=org.users.order_by("pk").first()),
    "connection_id": lambda org: ConnectionFactory(organization=org),
    "company_id": lambda org: CompanyFactory(organization=org),
    "person_id": lambda org: PersonFactory(organization=org),
    "rule_id": lambda org: MailRule.objects.create(
        organization=org, value=f"tenancy-{MailRule.objects.count()}.example", action="ignore"
    ),
    "connection_app_id": lambda org: ConnectionApp.objects.create(
        organization=org, connection=ConnectionFactory(organization=org, provider="google"), app="email"
    ),
    "sync_state_id": lambda org: SyncStateFactory(
        connection=ConnectionFactory(organization=org, provider="google"),
        object_name="email:someone@example.com",
        kind="email",
        user=UserFactory(organization=org),
    ),
    "poll_id": lambda org: CrmPoll.objects.create(organization=org, sobject="Lead"),
    "flow_id": _flow,
    "step_id": _step,
    "enrolment_id": _enrolment,
    "job_id": _enrolment_job,
    "template_id": lambda org: SalesflowTemplate.objects.create(
        organization=org,
        owner=_first_user(org),
        name="Follow-up",
        shared=SalesflowTemplate.Sharing.TEAM,
        subject="Following up",
        body_html="<p>Hi {{ first_name|there }}</p>",
    ),
}

# URL kwargs that are not object ids, and why.
NOT_OBJECT_KWARGS: dict[str, str] = {
    "token": "invitation links carry a secret token; unknown tokens are tested in test_invitations",
    "step": "onboarding step names are the same for every user",
    "key": "allauth one-time keys (email confirmation, password reset) are secrets, not ids",
    "uidb36": "allauth password-reset links pair this with a secret key",
    "path": "static/media serving",
    "document_root": "static/media serving",
    "sobject": "a Salesforce object name (Lead, Contact, Account), the same for every organisation",
}

# Namespaces outside tenancy by design, and why.
EXCLUDED_NAMESPACES: dict[str, str] = {
    "admin": "the Django admin is for support staff across organisations (A7), never for customers",
}


@dataclass(frozen=True)
class Route:
    name: str
    route: str
    kwargs: tuple[str, ...]


def _walk(patterns, prefix: str = "", namespace: str | None = None) -> Iterator[Route]:
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = namespace
            if p.namespace:
                ns = f"{namespace}:{p.namespace}" if namespace else p.namespace
            yield from _walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern) and p.name:
            pattern = p.pattern
            kwargs = tuple(getattr(pattern, "converters", {}) or pattern.regex.groupindex)
            name = f"{namespace}:{p.name}" if namespace else p.name
            yield Route(name, prefix + str(pattern), kwargs)


def _routes() -> list[Route]:
    routes = []
    for route in _walk(get_resolver().url_patterns):
        top = route.name.split(":", 1)[0] if ":" in route.name else None
        if top in EXCLUDED_NAMESPACES:
            continue
        routes.append(route)
    return routes


ALL_ROUTES = _routes()
OBJECT_ROUTES = [r for r in ALL_ROUTES if any(k in OBJECT_FACTORIES for k in r.kwargs)]


def test_every_url_kwarg_is_classified():
    unknown = {
        (route.route, kwarg)
        for route in ALL_ROUTES
        for kwarg in route.kwargs
        if kwarg not in OBJECT_FACTORIES and kwarg not in NOT_OBJECT_KWARGS
    }
    assert not unknown, (
        f"URL kwargs with no cross-tenant coverage: {sorted(unknown)}. Register a factory in "
        "OBJECT_FACTORIES (tenant-owned ids) or explain the kwarg in NOT_OBJECT_KWARGS."
    )


def test_the_walk_finds_the_object_urls():
    # Guards the walk itself: if it silently found nothing, the 404 test below would prove nothing.
    names = {r.name for r in OBJECT_ROUTES}
    assert {
        "copilot:user_edit",
        "copilot:user_delete",
        "copilot:group_edit",
        "copilot:invitation_revoke",
    } <= names


def _url(route: Route, objects: dict[str, models.Model]) -> str:
    return reverse(route.name, kwargs={k: objects[k].pk for k in route.kwargs})


@pytest.mark.parametrize("route", OBJECT_ROUTES, ids=lambda r: r.name)
def test_another_organisations_object_is_404(route, client, owner, outsider, globex, acme):
    theirs = {k: OBJECT_FACTORIES[k](globex) for k in route.kwargs}
    client.force_login(owner)

    url = _url(route, theirs)
    assert client.get(url).status_code in (404, 405)  # 405: POST-only, refused before any lookup
    assert (
        client.post(
            url, {"role": "admin", "allowed": "on", "name": "x", "mailbox_username": "x@x.io"}
        ).status_code
        == 404
    )
    for obj in theirs.values():  # and nothing happened to it
        assert type(obj).objects.filter(pk=obj.pk).exists()

    # The same URL with an object of the owner's own organisation is found: the 404 above is
    # about tenancy, not a broken URL.
    ours = {k: OBJECT_FACTORIES[k](acme) for k in route.kwargs}
    response = client.get(_url(route, ours))
    assert response.status_code in (200, 405), response.status_code  # 405: POST-only, as above
