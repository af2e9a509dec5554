"""The demo organisation that ``make run`` seeds (idempotent: safe to run on every start)."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.db import transaction
from django.utils import timezone

from copilot.models import Organization, OrgGroup, Role, User
from copilot.services.onboarding import STEP_KEYS

DEMO_ORG = "Demo Co"
DEMO_PASSWORD = "cadence-demo"
DEMO_USERS = [
    # email, first, last, role, title
    ("admin@demo.example", "Ada", "Admin", Role.ADMINISTRATOR, "Head of Sales Operations"),
    ("seller1@demo.example", "Sam", "Seller", Role.CONTRIBUTOR, "Account Executive"),
    ("seller2@demo.example", "Sofia", "Reyes", Role.CONTRIBUTOR, "Sales Development Rep"),
]
SUPPORT_EMAIL = "support@cadence.example"


@transaction.atomic
def demo_seed() -> Organization:
    org, _ = Organization.objects.get_or_create(
        name=DEMO_ORG, defaults={"email_provider": "google", "crm": "salesforce"}
    )
    sellers, _ = OrgGroup.objects.get_or_create(
        organization=org, name="Sellers", defaults={"description": "Quota-carrying reps"}
    )
    for email, first, last, role, title in DEMO_USERS:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User(
                email=email,
                mailbox_username=email,
                first_name=first,
                last_name=last,
                organization=org,
                role=role,
                job_title=title,
                time_zone="America/New_York",
                can_start_salesflow_on_behalf=role == Role.ADMINISTRATOR,
                onboarding=dict.fromkeys(STEP_KEYS, "done"),
                onboarding_finished_at=timezone.now(),
            )
            user.set_password(DEMO_PASSWORD)
            user.save()
        _confirmed(user)
        if role == Role.CONTRIBUTOR:
            user.org_groups.add(sellers)
    support = User.objects.filter(email=SUPPORT_EMAIL).first()
    if support is None:
        support = User.objects.create_superuser(
            SUPPORT_EMAIL, DEMO_PASSWORD, first_name="Support", last_name="Staff"
        )
    _confirmed(support)
    return org


def _confirmed(user: User) -> None:
    """The demo's made-up addresses count as confirmed (sign-in and mailbox sync need that), also
    in a database seeded before confirmation was required."""
    EmailAddress.objects.update_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )
