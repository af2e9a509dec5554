"""Hostile input (issue 10, points 7 and 9): what a crafted CSV file, account website, signature,
CRM mapping or user name could do before, and what a person sees now."""

from __future__ import annotations

import email
import email.policy
import html
import re

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.template import Context, Template
from django.urls import reverse

from copilot.models import User
from engage.crm.mapping import DEFAULT_MAPPINGS, MappingRow, apply_mapping
from engage.models import Contact, ContactImport, FieldMapping
from engage.services.crm import configuration as crm_services
from engage.services.imports import import_create, import_set_mapping
from tests.engage.crm.conftest import salesforce_connection  # noqa: F401 (fixture)
from tests.engage.imports.conftest import upload
from tests.engage.test_compose import DEMO_ADMIN, DEMO_SELLER, _google_connection, _sent_copies
from tests.factories import AccountFactory, AdminFactory, OrganizationFactory, UserFactory

Status = ContactImport.Status


@pytest.fixture
def seller(client, teammate):
    client.force_login(teammate)
    return client


def _page(response) -> str:
    return html.unescape(response.content.decode())


# --- CSV import: caps -------------------------------------------------------------------------------


def _csv(columns: int, rows: int = 2) -> str:
    header = ",".join(["Email", *(f"Extra {n}" for n in range(1, columns))])
    lines = [header] + [",".join([f"p{r}@wide.example", *("x" * (columns - 1))]) for r in range(rows)]
    return "\r\n".join(lines) + "\r\n"


def test_a_file_with_thousands_of_columns_is_refused_at_upload_and_nothing_is_kept(seller, acme):
    response = seller.post(reverse("engage:import_start"), {"file": upload(_csv(5000), "wide.csv")})

    assert response.status_code == 200
    assert (
        "This file has 5,000 columns; Cadence imports at most 200. Remove the columns you don't need "
        "and upload again." in _page(response)
    )
    assert not ContactImport.objects.filter(organization=acme).exists()


def test_a_line_longer_than_the_cap_is_refused_at_upload(seller, acme):
    content = "Email,Notes\r\na@long.example," + "n" * (200 * 1024) + "\r\n"  # the cap is 128 KB

    response = seller.post(reverse("engage:import_start"), {"file": upload(content, "long.csv")})

    assert response.status_code == 200
    assert "Line 2 of this file is longer than 128 KB; Cadence reads lines of at most 128 KB." in _page(
        response
    )
    assert not ContactImport.objects.filter(organization=acme).exists()


def test_a_file_at_the_column_cap_maps_and_checks_without_hitting_djangos_field_limit(
    seller, acme, django_capture_on_commit_callbacks
):
    cap = settings.CONTACT_IMPORT_MAX_COLUMNS
    response = seller.post(reverse("engage:import_start"), {"file": upload(_csv(cap), "cap.csv")})
    assert response.status_code == 302
    page = seller.get(response.url)
    assert page.status_code == 200
    fields = {f"col_{n}": "" for n in range(cap)} | {"col_0": "email", "on_duplicate": "update"}
    assert len(fields) + 1 <= settings.DATA_UPLOAD_MAX_NUMBER_FIELDS  # with the CSRF token

    with django_capture_on_commit_callbacks(execute=True):
        mapped = seller.post(response.url, fields)

    imp = ContactImport.objects.get(organization=acme)
    assert mapped.status_code == 302, _page(mapped)[:500]
    assert imp.status == Status.VALIDATED
    assert imp.validation["create"] == 2


# --- CSV import: encodings and Excel's sep= line ------------------------------------------------------


MIXED = (
    b"First Name,Last Name,Email\r\n"
    + "José,Ünal,jose@mixed.example\r\n".encode()
    + "Zoë,Müller,zoe@mixed.example\r\n".encode("cp1252")  # one row pasted from a Windows export
    + "Ana,Peña,ana@mixed.example\r\n".encode()
)


def test_a_mostly_utf8_file_with_one_windows_1252_row_is_reported_and_imported_only_when_chosen(
    seller, acme, django_capture_on_commit_callbacks
):
    response = seller.post(reverse("engage:import_start"), {"file": upload(MIXED, "mixed.csv")})
    assert response.status_code == 302
    map_url = response.url

    page = _page(seller.get(map_url))
    assert "This file is UTF-8 except for 1 line:" in page
    assert "line 3." in page
    assert "Line 3 read as Windows-1252: <code>Zoë,Müller,zoe@mixed.example</code>" in page  # as it will read
    assert "José" in page and "Zoë" in page  # each line in its own encoding, nothing garbled
    assert "JosÃ©" not in page

    data = {"col_0": "first_name", "col_1": "last_name", "col_2": "email", "on_duplicate": "update"}
    refused = seller.post(map_url, data)
    assert refused.status_code == 200
    assert "Tick this to import the file as it is, or fix those lines and upload it again." in _page(refused)
    assert ContactImport.objects.get(organization=acme).status == Status.MAPPING

    with django_capture_on_commit_callbacks(execute=True):
        seller.post(map_url, {**data, "read_as_windows_1252": "on"})
    imp = ContactImport.objects.get(organization=acme)
    assert imp.status == Status.VALIDATED
    with django_capture_on_commit_callbacks(execute=True):
        seller.post(reverse("engage:import_run", kwargs={"import_id": imp.pk}))

    names = dict(Contact.objects.filter(organization=acme).values_list("email", "first_name"))
    assert names == {"jose@mixed.example": "José", "zoe@mixed.example": "Zoë", "ana@mixed.example": "Ana"}
    assert Contact.objects.get(email="ana@mixed.example").last_name == "Peña"


def test_excels_sep_line_names_the_delimiter_and_is_not_the_header(seller, acme):
    content = "sep=;\r\nFirst Name;Last Name;Email\r\nAda;Lovelace;ada@sep.example\r\n"

    response = seller.post(reverse("engage:import_start"), {"file": upload(content, "excel.csv")})

    assert response.status_code == 302
    imp = ContactImport.objects.get(organization=acme)
    assert (imp.delimiter, imp.headers, imp.row_count) == (";", ["First Name", "Last Name", "Email"], 1)
    page = _page(seller.get(response.url))
    assert re.search(r'<select name="col_2"[^>]*>.*?<option value="email" selected>', page, re.S)


# --- Links to the outside world -----------------------------------------------------------------------

HOSTILE_WEBSITE = "javascript://%0aalert(document.cookie)"


def test_an_account_website_that_is_not_http_is_shown_as_text_never_as_a_link(seller, acme):
    account = AccountFactory(organization=acme, name="Hostile Co", website=HOSTILE_WEBSITE)
    safe = AccountFactory(organization=acme, name="Plain Co", website="plain.example")

    page = seller.get(reverse("engage:account_detail", args=[account.pk])).content.decode()
    assert 'href="javascript:' not in page
    assert HOSTILE_WEBSITE in page  # still shown, as text
    page = seller.get(reverse("engage:account_detail", args=[safe.pk])).content.decode()
    assert 'href="https://plain.example"' in page


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("acme.example", "https://acme.example"),
        ("http://acme.example/about?x=1", "http://acme.example/about?x=1"),
        ("JavaScript:alert(1)", ""),
        (HOSTILE_WEBSITE, ""),
        ("data:text/html,<script>alert(1)</script>", ""),
        ("vbscript:msgbox", ""),
        ("https://bank.example@evil.example", ""),
        ("https://acme.example\n.evil", ""),
    ],
)
def test_the_safe_url_filter_lets_only_http_and_https_through(value, expected):
    assert Template("{% load cadence %}{{ value|safe_url }}").render(Context({"value": value})) == expected


def test_a_csv_row_whose_website_is_not_a_web_address_is_refused(
    teammate, acme, django_capture_on_commit_callbacks
):
    content = (
        "Email,Company,Website\r\n"
        f'ada@links.example,Hostile Co,"{HOSTILE_WEBSITE}"\r\n'
        "bob@links.example,Plain Co,plain.example\r\n"
    )
    imp = import_create(organization=acme, actor=teammate, upload=upload(content))
    with django_capture_on_commit_callbacks(execute=True):
        import_set_mapping(contact_import=imp, actor=teammate, mapping=imp.mapping, on_duplicate="update")
    imp.refresh_from_db()

    assert imp.validation["error"] == 1
    assert any("is not a web address" in str(problem) for problem in imp.validation["problems"]), (
        imp.validation
    )


def test_a_salesforce_account_website_that_is_not_http_is_not_stored():
    rows = [MappingRow(engage_field="website", crm_field="Website")]

    assert apply_mapping({"Website": HOSTILE_WEBSITE}, rows) == {"website": ""}
    assert apply_mapping({"Website": "www.acme.example"}, rows) == {"website": "www.acme.example"}


# --- Signatures ------------------------------------------------------------------------------------

HOSTILE_SIGNATURE = (
    '<b>Tom</b><script>alert("s")</script><img src="x.png" onerror="alert(1)">'
    '<a href="javascript:alert(2)">site</a><a href="https://acme.example">ok</a>'
)


def _assert_clean(signature: str) -> None:
    assert "<script" not in signature and "alert(" not in signature
    assert "onerror" not in signature and "javascript:" not in signature
    assert "<b>Tom</b>" in signature and 'href="https://acme.example"' in signature


def test_the_onboarding_wizard_stores_a_custom_signature_sanitised(client, teammate):
    client.force_login(teammate)

    client.post(
        reverse("copilot:onboarding_step", args=["signature"]),
        {"signature_choice": "custom", "signature_custom": HOSTILE_SIGNATURE, "save": "1"},
    )

    teammate.refresh_from_db()
    assert teammate.signature_choice == "custom"
    _assert_clean(teammate.signature_custom)
    page = client.get(reverse("engage:profile") + "?edit=signature").content.decode()
    assert "onerror" not in page and "javascript:alert" not in page and "alert(" not in page


def test_the_profile_page_stores_a_custom_signature_sanitised(seller, teammate):
    seller.post(
        reverse("engage:profile_signature"),
        {"signature_choice": "custom", "signature_custom": HOSTILE_SIGNATURE},
    )

    teammate.refresh_from_db()
    _assert_clean(teammate.signature_custom)


# --- Names and email headers ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Tom\r\nBcc: victim@evil.example", "Tom\x00", "Tom\tMate", "Tom\x7f"])
def test_names_refuse_control_characters_on_every_form_that_takes_one(client, owner, teammate, name):
    message = "Names cannot contain line breaks, tabs or other invisible control characters."
    client.force_login(teammate)
    onboarding = client.post(
        reverse("copilot:onboarding_step", args=["contact"]),
        {"first_name": name, "last_name": "Mate", "save": "1"},
    )
    profile = client.post(reverse("engage:profile_primary"), {"first_name": "Tom", "last_name": name})
    client.force_login(owner)
    invite = client.post(
        reverse("copilot:user_invite"),
        {"first_name": name, "last_name": "New", "email": "new@acme.example", "role": "contributor"},
    )

    for response in (onboarding, profile, invite):
        assert message in _page(response), response.status_code
    teammate.refresh_from_db()
    assert (teammate.first_name, teammate.last_name) == ("Tom", "Mate")


def test_signup_refuses_a_name_with_a_line_break(client, db):
    response = client.post(
        reverse("account_signup"),
        {
            "first_name": "Eve\nBcc: all@evil.example",
            "last_name": "Vil",
            "organization_name": "Evil Co",
            "email": "eve@evil.example",
            "password1": "a-long-enough-passphrase-1",
            "password2": "a-long-enough-passphrase-1",
        },
    )

    assert "Names cannot contain line breaks" in _page(response)
    assert not User.objects.filter(email="eve@evil.example").exists()


def test_a_stored_name_with_a_line_break_still_sends_with_the_break_removed(sandbox, client, db):
    organization = OrganizationFactory(name="Demo Co")
    admin = AdminFactory(organization=organization, email=DEMO_ADMIN)
    # Stored before names refused control characters.
    seller = UserFactory(
        organization=organization,
        email=DEMO_SELLER,
        first_name="Sam\r\nBcc: victim@evil.example",
        last_name="Seller",
    )
    EmailAddress.objects.get_or_create(
        user=seller, email=seller.email, defaults={"verified": True, "primary": True}
    )
    connection = _google_connection(sandbox, organization, admin)
    connection.details = {**connection.details, "verified_domains": ["demo.example"]}
    connection.save(update_fields=["details"])
    client.force_login(seller)

    response = client.post(
        "/app/compose/",
        {"to": "Peter Gibbons <peter@initech.example>", "subject": "Header safety", "body": "Hi Peter"},
    )

    assert response.status_code == 302, _page(response)[-800:]
    (sent,) = _sent_copies(sandbox, "Header safety")
    mime = email.message_from_bytes(sent.raw_bytes(), policy=email.policy.default)
    assert mime["From"] == '"Sam Bcc: victim@evil.example Seller" <seller1@demo.example>'
    assert mime["Bcc"] is None


# --- CRM mapping: relationship fields ------------------------------------------------------------


def _lead_rows(title_field: str) -> list[MappingRow]:
    return [
        MappingRow("title", title_field) if row.engage_field == "title" else row
        for row in DEFAULT_MAPPINGS["Lead"]
    ]


@pytest.mark.parametrize(
    ("crm_field", "message"),
    [
        (
            "ConvertedContact.Title FROM Contact WHERE Title != null --",
            "Salesforce has no field Title FROM Contact WHERE Title != null -- on Contact (through ConvertedContact).",
        ),
        (
            "ConvertedContact.NoSuchField__c",
            "Salesforce has no field NoSuchField__c on Contact (through ConvertedContact).",
        ),
        ("NotARelationship.Name", "Salesforce has no relationship NotARelationship on Lead."),
        # A Lead's Owner is a User or a queue (Group): the field must be on one of them.
        (
            "Owner.Name FROM User --",
            "Salesforce has no field Name FROM User -- on Group or User (through Owner).",
        ),
    ],
)
@pytest.mark.usefixtures("salesforce_connection")
def test_a_relationship_field_is_checked_against_the_related_objects_describe(
    acme, owner, crm_field, message
):
    with pytest.raises(crm_services.MappingInvalid) as exc:
        crm_services.mapping_save(organization=acme, sobject="Lead", rows=_lead_rows(crm_field), actor=owner)

    assert exc.value.row_errors == {2: [message]}
    assert not FieldMapping.objects.filter(organization=acme).exists()


@pytest.mark.usefixtures("salesforce_connection")
def test_a_real_relationship_field_is_accepted(acme, owner):
    crm_services.mapping_save(
        organization=acme, sobject="Lead", rows=_lead_rows("convertedcontact.title"), actor=owner
    )

    assert (
        FieldMapping.objects.get(organization=acme, engage_field="title").crm_field
        == "convertedcontact.title"
    )


@pytest.mark.usefixtures("salesforce_connection")
def test_a_polymorphic_owner_field_is_accepted_when_one_of_its_objects_has_it(acme, owner):
    """Owner.Alias exists on User but not on Group (queues): Salesforce reads it, so does Cadence."""
    crm_services.mapping_save(organization=acme, sobject="Lead", rows=_lead_rows("Owner.Alias"), actor=owner)

    assert FieldMapping.objects.get(organization=acme, engage_field="title").crm_field == "Owner.Alias"
