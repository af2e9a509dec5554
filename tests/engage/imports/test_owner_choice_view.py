"""The mapping page's owner choice, posted as the wizard does."""

from __future__ import annotations

import re

from django.urls import reverse

from engage.models import Contact, ContactImport
from engage.services.imports import import_create
from tests.engage.imports.conftest import upload

CSV = "Email,First name,Owner email\nann@example.com,Ann,owner@acme.example\nbob@example.com,Bob,\n"


def test_the_mapping_page_saves_the_owner_choice(
    client, acme, owner, teammate, outsider, django_capture_on_commit_callbacks
):
    imp = import_create(organization=acme, actor=teammate, upload=upload(CSV))
    client.force_login(teammate)
    url = reverse("engage:import_map", kwargs={"import_id": imp.pk})
    page = client.get(url).content.decode()
    assert "Owner of the new contacts" in page and re.search(r'value="column"[^>]*checked', page)
    columns = {"col_0": "email", "col_1": "first_name", "col_2": ""}
    refused = client.post(
        url, {**columns, "on_duplicate": "update", "owner_choice": "teammate", "assigned_owner": outsider.pk}
    )
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url, {**columns, "on_duplicate": "update", "owner_choice": "teammate", "assigned_owner": owner.pk}
        )
    assert response.status_code == 302
    imp.refresh_from_db()
    assert (imp.owner_choice, imp.assigned_owner) == (ContactImport.OwnerChoice.TEAMMATE, owner)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("engage:import_run", kwargs={"import_id": imp.pk}))
    assert set(Contact.objects.filter(organization=acme).values_list("owner__email", flat=True)) == {
        "owner@acme.example"
    }
