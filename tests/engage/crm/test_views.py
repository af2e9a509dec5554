"""Admin Portal › CRM over HTTP (G2, G3, G4, G7): who may open it, the not-connected state, and
mapping and rules verified against the Salesforce sandbox with bad input kept and explained."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from engage.crm.mapping import DEFAULT_MAPPINGS
from engage.models import ContactStatus, CrmSettings, FieldMapping, SyncRule
from engage.services.crm import configuration as crm_services
from engage.services.statuses import statuses_from_crm

SETTINGS = reverse("engage:crm_settings")


def mapping_url(sobject: str) -> str:
    return reverse("engage:crm_mapping", args=[sobject])


def rules_url(sobject: str) -> str:
    return reverse("engage:crm_rules", args=[sobject])


def page(response) -> str:
    return response.content.decode()


def mapping_post(sobject: str, rows=None, **extra) -> dict[str, str]:
    """The mapping form as the page posts it: ``r-<i>-…`` per row."""
    data: dict[str, str] = {}
    for i, row in enumerate(rows if rows is not None else DEFAULT_MAPPINGS[sobject]):
        data[f"r-{i}-engage_field"] = row.engage_field
        data[f"r-{i}-crm_field"] = row.crm_field
        data[f"r-{i}-default_value"] = row.default_value
        data[f"r-{i}-direction"] = row.direction
    return {**data, **extra}


def rule_post(conditions, combinator="AND", **extra) -> dict:
    data: dict = {"combinator": combinator}
    for i, c in enumerate(conditions):
        data[f"c-{i}-field"] = c["field"]
        data[f"c-{i}-operator"] = c["operator"]
        data[f"c-{i}-value"] = c.get("value", "")
    return {**data, **extra}


def selected(html: str, name: str) -> str:
    """The value selected in the select called ``name``."""
    select = html.split(f'name="{name}"', 1)[1].split("</select>", 1)[0]
    match = re.search(r'<option value="([^"]*)"\s+selected', select)
    return match.group(1) if match else ""


# --- Access -----------------------------------------------------------------------------------------

ALL_PAGES = [
    SETTINGS,
    mapping_url("Lead"),
    mapping_url("Contact"),
    mapping_url("Account"),
    rules_url("Lead"),
    rules_url("Contact"),
]


@pytest.mark.parametrize("url", ALL_PAGES)
def test_contributors_are_refused(client, teammate, url):
    client.force_login(teammate)
    assert client.get(url).status_code == 403
    assert client.post(url, {"action": "save"}).status_code == 403


def test_contributors_cannot_change_settings_or_preview(client, teammate):
    client.force_login(teammate)
    client.post(SETTINGS, {"sync_enabled": "on"})
    assert not CrmSettings.objects.filter(sync_enabled=True).exists()
    assert client.post(reverse("engage:crm_rule_preview", args=["Lead"]), {}).status_code == 403
    assert client.get(reverse("engage:crm_rule_condition", args=["Lead"])).status_code == 403


@pytest.mark.parametrize("url", ALL_PAGES)
def test_signed_out_visitors_are_sent_to_sign_in(client, url):
    assert client.get(url).status_code == 302


@pytest.mark.parametrize(
    ("url", "get_status"),
    [(mapping_url("Opportunity"), 404), (mapping_url("lead"), 404), (rules_url("Account"), 404),
     (rules_url("Task"), 404),
     (reverse("engage:crm_rule_preview", args=["Account"]), 405)],  # POST-only: refused before any lookup
)  # fmt: skip
def test_unknown_objects_are_not_found(owner_client, url, get_status):
    assert owner_client.get(url).status_code == get_status
    assert owner_client.post(url, {}).status_code == 404


def test_the_portal_sidebar_and_sub_navigation_lead_to_every_page(owner_client):
    html = page(owner_client.get(mapping_url("Contact")))
    assert 'aria-current="page">CRM</a>' in html
    for url in ALL_PAGES:
        assert f'href="{url}"' in html
    assert re.search(r'href="/admin/crm/objects/Contact/"\s+aria-current="page"', html)


# --- Not connected ----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ALL_PAGES)
def test_without_salesforce_each_page_explains_and_links_to_integrations(owner_client, url):
    response = owner_client.get(url)
    assert response.status_code == 200
    html = page(response)
    assert "Salesforce is not connected." in html
    assert 'href="/admin/integrations/"' in html


def test_without_salesforce_the_mapping_is_shown_read_only(owner_client):
    html = page(owner_client.get(mapping_url("Lead")))
    assert "Verify and save" not in html and "<select" not in html
    assert "Last Name" in html and "LastName" in html and "(required)" in html
    assert "HasOptedOutOfEmail" in html and "Bi-directional (most recent wins)" in html


def test_without_salesforce_rules_cannot_be_built(owner_client):
    html = page(owner_client.get(rules_url("Lead")))
    assert "Save rules" not in html and "Preview" not in html
    owner_client.post(
        rules_url("Lead"), rule_post([{"field": "Title", "operator": "is_empty"}], action="save")
    )
    assert not SyncRule.objects.exists()


def test_without_salesforce_sync_cannot_be_turned_on(owner_client, acme):
    html = page(owner_client.get(SETTINGS))
    assert re.search(r"<button[^>]*disabled[^>]*>Turn sync on</button>", html)
    response = owner_client.post(SETTINGS, {"sync_enabled": "on"})
    assert response.status_code == 200
    assert "Connect Salesforce before turning sync on." in page(response)
    assert not crm_services.crm_settings_for(acme).sync_enabled


# --- Settings -----------------------------------------------------------------------------------------


def test_the_settings_page_shows_the_guide_defaults(owner_client):
    html = page(owner_client.get(SETTINGS))
    assert "New prospects in CRM are created as" in html
    assert re.search(r'value="lead"[^>]*checked', html)
    assert "Do not create leads/contacts" in html
    assert re.search(r'name="create_activities"[^>]*checked', html)
    assert "Create activities and phone calls in CRM" in html
    assert "Write call history to Salesforce" in html and "Write email history to Salesforce" in html
    assert "every Lead and Contact in your Salesforce org comes into Cadence" in html  # the sync warning


def test_saving_the_settings(owner_client, acme):
    response = owner_client.post(
        SETTINGS,
        {"new_prospects_as": "none", "engage_created_handling": "keep_local", "log_emails": "on"},
    )
    assert response.status_code == 302
    row = CrmSettings.objects.get(organization=acme)
    assert row.new_prospects_as == "none" and row.engage_created_handling == "keep_local"
    assert (
        not row.create_activities and not row.auto_associate_accounts and not row.log_calls and row.log_emails
    )
    assert "Saved the CRM settings." in page(owner_client.get(SETTINGS))


def test_a_bad_choice_is_explained_and_nothing_saved(owner_client, acme):
    response = owner_client.post(
        SETTINGS, {"new_prospects_as": "opportunity", "engage_created_handling": "push"}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in page(response)
    assert crm_services.crm_settings_for(acme).new_prospects_as == "lead"


def test_sync_toggles_on_and_off_with_a_connection(owner_client, acme, salesforce_connection):
    owner_client.post(SETTINGS, {"sync_enabled": "on"})
    assert crm_services.crm_settings_for(acme).sync_enabled
    html = page(owner_client.get(SETTINGS))
    assert "Sync is on" in html and "Turn sync off" in html
    owner_client.post(SETTINGS, {"sync_enabled": "off"})
    assert not crm_services.crm_settings_for(acme).sync_enabled


def test_opening_the_settings_page_asks_to_map_statuses_to_the_lead_status_picklist(
    owner_client, acme, salesforce_connection
):
    before = list(ContactStatus.objects.for_org(acme).values_list("name", "crm_value"))
    assert not statuses_from_crm(organization=acme)
    html = page(owner_client.get(SETTINGS))
    assert "Map your statuses to Salesforce Lead Status." in html
    # F3: nothing switched; the list stays as it is until the admin applies a mapping.
    assert not statuses_from_crm(organization=acme)
    assert list(ContactStatus.objects.for_org(acme).values_list("name", "crm_value")) == before
    assert {v for v, _l, _d in crm_services.crm_statuses_pending(organization=acme)} == {
        "Open - Not Contacted",
        "Working - Contacted",
        "Closed - Converted",
        "Closed - Not Converted",
    }


def test_the_settings_page_leaves_statuses_alone_without_salesforce(owner_client, acme):
    assert owner_client.get(SETTINGS).status_code == 200
    assert not statuses_from_crm(organization=acme)


def test_the_settings_page_opens_when_salesforce_cannot_say_its_lead_statuses(
    owner_client, acme, salesforce_connection, sandbox
):
    sandbox.control.inject_fault(r"/describe", status=503, times=None)
    assert owner_client.get(SETTINGS).status_code == 200
    assert not statuses_from_crm(organization=acme)


def test_the_details_link_goes_to_the_connection(owner_client, salesforce_connection):
    html = page(owner_client.get(SETTINGS))
    assert f'href="{reverse("integrations:salesforce_details", args=[salesforce_connection.pk])}"' in html


# --- Mapping ------------------------------------------------------------------------------------------


def test_the_mapping_page_offers_the_live_fields_compatible_first(owner_client, salesforce_connection):
    response = owner_client.get(mapping_url("Lead"))
    assert response.status_code == 200
    html = page(response)
    assert "Verify and save" in html and "Add row" in html
    assert selected(html, "r-0-crm_field") == "LastName"
    opt_out = html.split('name="r-14-crm_field"', 1)[1].split("</select>", 1)[0]
    compatible = opt_out.split('label="Compatible fields"', 1)[1].split("</optgroup>", 1)[0]
    assert 'value="HasOptedOutOfEmail"' in compatible and 'value="Title"' not in compatible
    assert "Do not read/write" in opt_out
    assert (
        '<span class="required" aria-hidden="true"> *</span><span class="visually-hidden"> (required)</span>'
        in html
    )


def test_the_contact_mapping_offers_the_account_name(owner_client, salesforce_connection):
    html = page(owner_client.get(mapping_url("Contact")))
    company = next(i for i, r in enumerate(DEFAULT_MAPPINGS["Contact"]) if r.engage_field == "company")
    assert selected(html, f"r-{company}-crm_field") == "Account.Name"


def test_examples_come_from_a_recent_record(owner_client, salesforce_connection):
    from tests.engage.crm.conftest import sandbox_client

    sandbox_client(salesforce_connection).create(
        "Lead", {"LastName": "Examplesson", "Company": "Example Co", "Title": "Chief Example Officer"}
    )
    html = page(owner_client.get(mapping_url("Lead")))
    title_row = html.split('id="mapping-row-2"', 1)[1].split("</tr>", 1)[0]
    assert "e.g. Chief Example Officer" in title_row
    status_row = html.split('id="mapping-row-13"', 1)[1].split("</tr>", 1)[0]
    assert "e.g. " in status_row


def test_verify_and_save_stores_the_mapping_and_takes_statuses_from_salesforce(
    owner_client, acme, salesforce_connection
):
    response = owner_client.post(mapping_url("Lead"), mapping_post("Lead", action="save"))
    assert response.status_code == 302
    assert FieldMapping.objects.filter(organization=acme, sobject="Lead").count() == len(
        DEFAULT_MAPPINGS["Lead"]
    )
    assert crm_services.crm_statuses_pending(organization=acme) and not statuses_from_crm(organization=acme)
    assert "Verified and saved the Leads mapping." in page(owner_client.get(mapping_url("Lead")))


def test_errors_are_shown_next_to_their_row_with_the_input_kept(owner_client, acme, salesforce_connection):
    rows = list(DEFAULT_MAPPINGS["Lead"])
    rows[2] = rows[2].__class__("title", "LeadSourceX", "", "to_engage")
    rows[14] = rows[14].__class__("email_opt_out", "Title", "", "both")
    rows[0] = rows[0].__class__("last_name", "", "", "to_engage")
    response = owner_client.post(mapping_url("Lead"), mapping_post("Lead", rows, action="save"))
    assert response.status_code == 200
    html = page(response)
    assert "Mapping verification failed." in html and "3 problems to fix" in html
    title_row = html.split('id="mapping-row-2"', 1)[1].split("</tr>", 1)[0]
    assert "Salesforce has no field LeadSourceX on Lead." in title_row
    assert selected(html, "r-2-crm_field") == "LeadSourceX" and "(not in Salesforce)" in title_row
    opt_out_row = html.split('id="mapping-row-14"', 1)[1].split("</tr>", 1)[0]
    assert "Email Opt Out needs a checkbox field; Title is a text field." in opt_out_row
    assert selected(html, "r-14-crm_field") == "Title" and selected(html, "r-14-direction") == "both"
    assert "Last Name is required: map it to a Salesforce field." in html
    assert 'aria-invalid="true" aria-describedby="r-2-errors"' in html
    assert not FieldMapping.objects.exists()


def test_add_and_remove_rows_without_javascript(owner_client, acme, salesforce_connection):
    rows = DEFAULT_MAPPINGS["Lead"]
    response = owner_client.post(mapping_url("Lead"), mapping_post("Lead", action="add"))
    html = page(response)
    new = len(rows)
    assert f'name="r-{new}-engage_field"' in html and "Choose a Cadence field" in html
    response = owner_client.post(mapping_url("Lead"), mapping_post("Lead", remove="1"))
    html = page(response)
    assert 'value="first_name"' not in html and 'value="last_name"' in html and 'value="title"' in html
    assert not FieldMapping.objects.exists()  # nothing saved until Verify and save


def test_reset_asks_first_then_restores_the_defaults(owner_client, acme, owner, salesforce_connection):
    rows = [r for r in DEFAULT_MAPPINGS["Account"] if r.engage_field != "phone"]
    crm_services.mapping_save(organization=acme, sobject="Account", rows=rows, actor=owner)
    html = page(owner_client.get(mapping_url("Account") + "?reset=1"))
    assert "Reset the accounts mapping to its defaults?" in html
    response = owner_client.post(mapping_url("Account"), {"action": "reset"})
    assert response.status_code == 302
    assert crm_services.mapping_is_default(organization=acme, sobject="Account")


def test_the_mapping_page_query_count_is_bounded(
    owner_client, salesforce_connection, django_assert_max_num_queries
):
    owner_client.get(mapping_url("Lead"))  # warm up: session, describe and sample caches
    # 8: F3's banner is worked out on read (the Lead mapping's status row, the applied picklist).
    with django_assert_max_num_queries(8):
        response = owner_client.get(mapping_url("Lead"))
    assert response.status_code == 200


def test_salesforce_down_is_explained_on_the_mapping_page(owner_client, salesforce_connection, sandbox):
    sandbox.control.inject_fault(r"/describe", status=503, times=None)
    response = owner_client.get(mapping_url("Lead"))
    assert response.status_code == 200
    assert "Salesforce could not be reached just now" in page(response)


# --- Rules --------------------------------------------------------------------------------------------

GUIDE = [
    {"field": "Title", "operator": "contains", "value": "Sales"},
    {"field": "AnnualRevenue", "operator": "gt", "value": "1000000"},
]


def test_the_rule_builder_lists_filterable_fields_and_operators_by_type(
    owner_client, acme, owner, salesforce_connection
):
    crm_services.rule_save(organization=acme, sobject="Lead", combinator="OR", conditions=GUIDE, actor=owner)
    html = page(owner_client.get(rules_url("Lead")))
    assert re.search(r'value="OR"\s+checked', html)
    assert selected(html, "c-0-field") == "Title" and selected(html, "c-0-operator") == "contains"
    assert 'name="c-0-value" id="c-0-value" value="Sales"' in html
    assert selected(html, "c-1-field") == "AnnualRevenue" and selected(html, "c-1-operator") == "gt"
    revenue_ops = html.split('name="c-1-operator"', 1)[1].split("</select>", 1)[0]
    assert "is greater than" in revenue_ops and "contains" not in revenue_ops


def test_saving_rules_without_javascript(owner_client, acme, salesforce_connection):
    response = owner_client.post(rules_url("Lead"), rule_post(GUIDE, "OR", action="save"))
    assert response.status_code == 302
    rule = SyncRule.objects.get(organization=acme, sobject="Lead")
    assert rule.combinator == "OR" and rule.conditions == GUIDE


def test_a_wrong_condition_is_explained_with_the_input_kept(owner_client, salesforce_connection):
    conditions = [GUIDE[0], {"field": "AnnualRevenue", "operator": "gt", "value": "a lot"}]
    response = owner_client.post(rules_url("Lead"), rule_post(conditions, action="save"))
    assert response.status_code == 200
    html = page(response)
    assert "The rules were not saved." in html
    assert "Annual Revenue compares with a number, like 1000000." in html.split('id="cond-1"', 1)[1]
    assert 'value="a lot"' in html
    assert not SyncRule.objects.exists()


def test_add_and_remove_conditions_without_javascript(owner_client, salesforce_connection):
    html = page(owner_client.post(rules_url("Lead"), rule_post(GUIDE, action="add")))
    assert 'name="c-2-field"' in html
    html = page(owner_client.post(rules_url("Lead"), rule_post(GUIDE, remove="0")))
    assert selected(html, "c-0-field") == "AnnualRevenue" and 'name="c-1-field"' not in html


def test_the_preview_counts_matching_records(owner_client, salesforce_connection):
    response = owner_client.post(rules_url("Lead"), rule_post(GUIDE, "OR", action="preview"))
    html = page(response)
    assert re.search(r"Preview: \d+ records? match(es)?\.", html)
    assert "WHERE (Title LIKE &#x27;%Sales%&#x27; OR AnnualRevenue &gt; 1000000)" in html


def test_the_htmx_preview_answers_with_the_count_alone(owner_client, salesforce_connection):
    response = owner_client.post(
        reverse("engage:crm_rule_preview", args=["Lead"]),
        rule_post(GUIDE, "OR"),
        headers={"HX-Request": "true"},
    )
    html = page(response)
    assert response.status_code == 200 and "<html" not in html
    assert re.search(r"Preview: \d+ records? match(es)?\.", html)


def test_changing_the_field_swaps_the_operators_and_value_input(owner_client, salesforce_connection):
    url = reverse("engage:crm_rule_condition", args=["Lead"])
    html = page(
        owner_client.get(
            url,
            {"index": "3", "changed": "field", "c-3-field": "HasOptedOutOfEmail", "c-3-operator": "contains"},
        )
    )
    assert 'name="c-3-operator"' in html and "is checked" in html and 'name="c-3-value"' not in html
    html = page(owner_client.get(url, {"index": "0", "c-0-field": "Status", "c-0-operator": "in_list"}))
    assert "multiple" in html and "Working - Contacted" in html
    html = page(owner_client.get(url, {"index": "0", "c-0-field": "CreatedDate", "c-0-operator": "on"}))
    assert 'type="date"' in html


def test_the_rules_page_query_count_is_bounded(
    owner_client, salesforce_connection, django_assert_max_num_queries
):
    owner_client.get(rules_url("Contact"))
    with django_assert_max_num_queries(7):
        response = owner_client.get(rules_url("Contact"))
    assert response.status_code == 200
