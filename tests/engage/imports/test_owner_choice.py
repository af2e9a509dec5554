"""Who owns the contacts a CSV import creates (issue 12, point 4): me (the default), a
teammate, or the owner's email in a column (unknown emails: the importer, counted and noted)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from engage.imports.forms import MappingForm
from engage.models import Contact, ContactImport
from engage.services.imports import import_create, import_set_mapping
from tests.engage.imports.conftest import report_rows, upload
from tests.factories import ContactFactory

NO_OWNER_COLUMN = "Email,First name\nann@example.com,Ann\nbob@example.com,Bob\n"
WITH_OWNERS = (
    "Email,First name,Owner email\n"
    "ann@example.com,Ann,owner@acme.example\n"
    "bob@example.com,Bob,nobody@elsewhere.example\n"
    "cy@example.com,Cy,stranger@elsewhere.example\n"
    "di@example.com,Di,\n"
)


def owners(acme) -> dict[str, str | None]:
    return {
        c.email: (c.owner.email if c.owner else None)
        for c in Contact.objects.filter(organization=acme).select_related("owner")
    }


def test_by_default_the_importer_owns_the_new_contacts(import_file, acme, teammate):
    imp = import_file(NO_OWNER_COLUMN)
    assert imp.owner_choice == ContactImport.OwnerChoice.ME
    assert set(owners(acme).values()) == {"teammate@acme.example"}


def test_a_teammate_owns_the_new_contacts_and_existing_ones_keep_theirs(import_file, acme, owner, teammate):
    existing = ContactFactory(organization=acme, email="bob@example.com", owner=teammate)
    imp = import_file(NO_OWNER_COLUMN, owner_choice="teammate", assigned_owner=owner)
    assert (imp.created_count, imp.updated_count) == (1, 1)
    assert owners(acme) == {
        "ann@example.com": "owner@acme.example",
        "bob@example.com": "teammate@acme.example",
    }
    existing.refresh_from_db()
    assert existing.owner == teammate


def test_owners_from_a_column_and_unknown_emails_go_to_the_importer_counted_and_noted(
    client, import_file, acme, owner, teammate
):
    imp = import_file(WITH_OWNERS, owner_choice="column")
    assert owners(acme) == {
        "ann@example.com": "owner@acme.example",
        "bob@example.com": "teammate@acme.example",
        "cy@example.com": "teammate@acme.example",
        "di@example.com": "teammate@acme.example",  # no owner given: the importer
    }
    assert imp.validation["unknown_owners"] == 2
    notes = {r["email"]: r["message"] for r in report_rows(imp)}
    assert (
        notes["bob@example.com"] == "Owner “nobody@elsewhere.example” is not a user here: you are the owner."
    )
    assert notes["ann@example.com"] == ""

    client.force_login(teammate)
    page = " ".join(
        client.get(reverse("engage:import_detail", kwargs={"import_id": imp.pk})).content.decode().split()
    )
    assert "New contacts belong to the user each row’s owner column names" in page
    assert "2 rows name an owner who is not a user here: they are yours" in page


def test_the_review_says_who_will_own_the_new_contacts(client, import_file, acme, owner, teammate):
    imp = import_file(NO_OWNER_COLUMN, owner_choice="teammate", assigned_owner=owner, start=False)
    client.force_login(teammate)
    page = " ".join(
        client.get(reverse("engage:import_detail", kwargs={"import_id": imp.pk})).content.decode().split()
    )
    assert "New contacts will belong to Olive Owner." in page


def mapped_import(acme, teammate, content: str) -> ContactImport:
    return import_create(organization=acme, actor=teammate, upload=upload(content))


def test_choices_that_do_not_fit_the_file_or_the_organisation_are_refused(acme, teammate, outsider):
    imp = mapped_import(acme, teammate, WITH_OWNERS)
    assert "owner" in imp.mapping.values()  # "Owner email" is guessed as the owner column

    def choose(**kwargs):
        import_set_mapping(
            contact_import=imp,
            actor=teammate,
            mapping=kwargs.pop("mapping", imp.mapping),
            on_duplicate="update",
            **kwargs,
        )

    with pytest.raises(ValidationError, match="is imported as Owner"):
        choose(owner_choice="me")
    without_owner = {i: key for i, key in imp.mapping.items() if key != "owner"}
    with pytest.raises(ValidationError, match="No column is imported as Owner"):
        choose(mapping=without_owner, owner_choice="column")
    with pytest.raises(ValidationError, match="Choose the teammate"):
        choose(mapping=without_owner, owner_choice="teammate", assigned_owner=None)
    with pytest.raises(ValidationError, match="Choose the teammate"):  # another organisation's user
        choose(mapping=without_owner, owner_choice="teammate", assigned_owner=outsider)
    imp.refresh_from_db()
    assert imp.status == ContactImport.Status.MAPPING and imp.assigned_owner is None


def test_the_mapping_form_offers_the_organisations_active_users_and_starts_on_the_column(
    acme, owner, teammate, outsider
):
    imp = mapped_import(acme, teammate, WITH_OWNERS)
    form = MappingForm(contact_import=imp)
    assert form["owner_choice"].initial == "column"  # the file has an owner column
    users = set(form.fields["assigned_owner"].queryset.values_list("email", flat=True))
    assert users == {"owner@acme.example", "teammate@acme.example"}
    refused = MappingForm(
        {
            **{f"col_{i}": key for i, key in imp.mapping.items()},
            "on_duplicate": "update",
            "owner_choice": "teammate",
            "assigned_owner": outsider.pk,
        },
        contact_import=imp,
    )
    assert not refused.is_valid() and "assigned_owner" in refused.errors


def test_the_owner_choice_costs_no_query_per_row(
    import_file, acme, owner, django_capture_on_commit_callbacks
):
    def run(rows: int) -> int:
        content = "Email,First name\n" + "".join(f"p{rows}-{i}@example.com,P{i}\n" for i in range(rows))
        with CaptureQueriesContext(connection) as captured:
            import_file(content, owner_choice="teammate", assigned_owner=owner)
        return len(captured)

    assert run(3) == run(300)
    assert set(owners(acme).values()) == {"owner@acme.example"}
