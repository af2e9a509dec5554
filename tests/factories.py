"""Factories for tests. Objects are made through the same models the services use; tests that
exercise behaviour call the services themselves."""

from __future__ import annotations

import factory
from allauth.account.models import EmailAddress
from django.utils import timezone

from copilot.models import Invitation, Organization, OrgGroup, Role, User, hash_token

PASSWORD = "correct-horse-battery-staple"


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Org {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    mailbox_username = factory.SelfAttribute("email")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.CONTRIBUTOR
    onboarding_finished_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def password(self, create: bool, extracted: str | None, **kwargs) -> None:
        self.set_password(extracted or PASSWORD)
        if create:
            self.save(update_fields=["password"])

    @factory.post_generation
    def email_verified(self, create: bool, extracted: bool | None, **kwargs) -> None:
        """A verified primary address, as confirming the sign-up mail or accepting an invitation
        leaves it; ``email_verified=False`` for a person who has not proved their address yet."""
        if create:
            EmailAddress.objects.create(
                user=self, email=self.email, verified=extracted is not False, primary=True
            )


class AdminFactory(UserFactory):
    role = Role.ADMINISTRATOR


class OrgGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrgGroup

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Group {n}")


class InvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invitation

    organization = factory.SubFactory(OrganizationFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    first_name = "In"
    last_name = "Vitee"
    token_hash = factory.Sequence(lambda n: hash_token(f"token-{n}"))
    expires_at = factory.LazyFunction(lambda: timezone.now() + timezone.timedelta(days=7))


# --- Engage -------------------------------------------------------------------------------------
class ContactStatusFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "engage.ContactStatus"

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Status {n}")
    position = factory.Sequence(lambda n: 100 + n)


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "engage.Account"

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Faker("company")
    domain = factory.Sequence(lambda n: f"company{n}.example")


class ContactFactory(factory.django.DjangoModelFactory):
    """A contact with the organisation's default status unless one is given."""

    class Meta:
        model = "engage.Contact"

    organization = factory.SubFactory(OrganizationFactory)
    owner = None
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"contact{n}@prospect.example")
    status = factory.LazyAttribute(lambda o: _default_status(o.organization))


def _default_status(organization):
    from engage.services.statuses import status_default

    return status_default(organization=organization)


class ContactImportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "engage.ContactImport"

    organization = factory.SubFactory(OrganizationFactory)
    file = factory.django.FileField(filename="contacts.csv", data=b"Email\nann@example.com\n")
    original_name = "contacts.csv"
    headers = factory.LazyFunction(lambda: ["Email"])
    row_count = 1


class VoicemailFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "engage.Voicemail"

    organization = factory.SubFactory(OrganizationFactory)
    owner = factory.SubFactory(UserFactory, organization=factory.SelfAttribute("..organization"))
    title = factory.Sequence(lambda n: f"Voicemail {n}")
    audio = factory.django.FileField(filename="vm.mp3", data=b"ID3fake")
    content_type = "audio/mpeg"
