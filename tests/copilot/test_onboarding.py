from __future__ import annotations

from django.urls import reverse

from copilot.models import Organization, User
from copilot.services.onboarding import STEP_KEYS
from tests.factories import AdminFactory, UserFactory


def _step(key: str) -> str:
    return reverse("copilot:onboarding_step", args=[key])


def test_every_step_can_be_saved_or_skipped_and_progress_is_kept(client, acme):
    founder = AdminFactory(organization=acme, onboarding_finished_at=None)
    client.force_login(founder)

    response = client.post(
        _step("contact"),
        {
            "first_name": "Fay",
            "last_name": "Lee",
            "phone": "+1 415 555 0100 x12",
            "job_title": "CRO",
            "company": "Acme Corp",
            "save": "1",
        },
    )
    assert response.url == _step("email")
    client.post(_step("email"), {"email_provider": "microsoft", "save": "1"})
    client.post(_step("crm"), {"skip": "1"})
    founder.refresh_from_db()
    assert founder.onboarding == {"contact": "done", "email": "done", "crm": "skipped"}
    assert founder.onboarding_finished_at is None
    acme.refresh_from_db()
    assert (acme.name, acme.email_provider, acme.crm) == ("Acme Corp", "microsoft", "")
    assert (founder.phone, founder.job_title) == ("+1 415 555 0100 x12", "CRO")

    # Leave and come back: the wizard resumes at the first untouched step.
    assert client.get(reverse("copilot:onboarding")).url == _step("signature")
    assert "Finish setting up" in client.get(reverse("engage:home")).content.decode()

    client.post(_step("signature"), {"signature_choice": "classic", "save": "1"})
    client.post(_step("dialer"), {"skip": "1"})
    response = client.post(_step("locale"), {"time_zone": "Europe/Berlin", "language": "de", "save": "1"})
    assert response.url == reverse("copilot:onboarding_done")
    founder.refresh_from_db()
    assert founder.onboarding_finished_at is not None
    assert (founder.time_zone, founder.language) == ("Europe/Berlin", "de")
    done = client.get(reverse("copilot:onboarding_done")).content.decode()
    assert "You skipped" in done and "CRM" in done and "Dialer phone" in done

    # A skipped step can be finished later, and skipping never undoes a saved one.
    client.post(_step("crm"), {"crm": "salesforce", "save": "1"})
    client.post(_step("contact"), {"skip": "1"})
    founder.refresh_from_db()
    assert founder.onboarding["crm"] == "done" and founder.onboarding["contact"] == "done"
    assert Organization.objects.get(pk=acme.pk).crm == "salesforce"


def test_bad_input_is_explained_and_kept(client, acme):
    user = UserFactory(organization=acme, onboarding_finished_at=None)
    client.force_login(user)
    response = client.post(_step("dialer"), {"dialer_phone": "call me maybe", "save": "1"})
    assert response.status_code == 200
    assert "Enter a phone number like" in response.content.decode()
    assert "call me maybe" in response.content.decode()
    response = client.post(
        _step("signature"), {"signature_choice": "custom", "signature_custom": " ", "save": "1"}
    )
    assert "Write your signature" in response.content.decode()
    user.refresh_from_db()
    assert user.onboarding == {}


def test_contributors_cannot_change_organisation_answers(client, acme):
    acme.email_provider = "google"
    acme.save()
    user = UserFactory(organization=acme, onboarding_finished_at=None)
    client.force_login(user)
    client.post(_step("contact"), {"first_name": "C", "last_name": "D", "company": "Hijacked", "save": "1"})
    client.post(_step("email"), {"email_provider": "microsoft", "save": "1"})
    acme.refresh_from_db()
    assert (acme.name, acme.email_provider) == ("Acme", "google")
    assert User.objects.get(pk=user.pk).onboarding == {"contact": "done", "email": "done"}


def test_account_page_links_back_to_every_step(client, teammate):
    client.force_login(teammate)
    page = client.get(reverse("copilot:account")).content.decode()
    for key in STEP_KEYS:
        assert _step(key) in page


def test_an_unknown_step_is_404(client, teammate):
    client.force_login(teammate)
    assert client.get(_step("nope")).status_code == 404


def test_pages_follow_the_users_time_zone_and_language(client, owner):
    from datetime import UTC, datetime

    from copilot.models import AuditEvent

    owner.time_zone, owner.language = "Asia/Tokyo", "de"
    owner.save(update_fields=["time_zone", "language"])
    AuditEvent.objects.create(
        organization=owner.organization, action="x.y", created_at=datetime(2026, 1, 5, 23, 30, tzinfo=UTC)
    )
    client.force_login(owner)
    page = client.get(reverse("copilot:company")).content.decode()
    assert '<html lang="de">' in page
    assert "08:30" in page  # 23:30 UTC is 08:30 the next morning in Tokyo


def test_account_links_to_the_profile_page_instead_of_editing_it(client, teammate):
    client.force_login(teammate)
    page = client.get(reverse("copilot:account")).content.decode()
    assert reverse("engage:profile") in page and reverse("engage:settings") in page
    assert reverse("account_change_password") in page and reverse("mfa_index") in page
    assert 'name="first_name"' not in page  # the profile form lives on the Profile page only
    assert client.post(reverse("copilot:account"), {"first_name": "X"}).status_code == 405
    teammate.refresh_from_db()
    assert teammate.first_name == "Tom"
