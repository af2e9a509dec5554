"""Ignore/Block list management, the block purge, the bodies setting and "why not ingested" (B7)."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError

from copilot.intelligence import services
from copilot.intelligence.rules import DEFAULT_IGNORED_DOMAINS
from copilot.models import (
    Activity,
    ActivityParticipant,
    AuditEvent,
    Company,
    IntelligenceSettings,
    MailRule,
    Person,
)
from integrations.sync.registry import deliver
from tests.copilot.intelligence.record_helpers import context, message
from tests.factories import OrganizationFactory


def values(org, action="ignore") -> set[str]:
    return set(MailRule.objects.for_org(org).filter(action=action).values_list("value", flat=True))


# --- The default list ------------------------------------------------------------------------------


def test_a_new_organisation_starts_with_the_default_ignore_list(acme):
    assert values(acme) == set(DEFAULT_IGNORED_DOMAINS)
    assert {"gmail.com", "hotmail.com", "yahoo.com", "outlook.com"} <= values(acme)
    assert all(MailRule.objects.for_org(acme).values_list("is_default", flat=True))
    assert IntelligenceSettings.objects.get(organization=acme).keep_email_bodies is False


def test_removed_defaults_are_not_put_back_behind_the_admins_back(acme, owner):
    services.mail_rule_remove(rule=MailRule.objects.get(organization=acme, value="gmail.com"), actor=owner)
    services.mail_rules_ensure_defaults(organization=acme)
    services.intelligence_settings_for(organization_id=acme.pk)
    assert "gmail.com" not in values(acme)


def test_restore_defaults_adds_back_only_what_is_missing(acme, owner):
    for value in ("gmail.com", "aol.com"):
        services.mail_rule_remove(rule=MailRule.objects.get(organization=acme, value=value), actor=owner)
    services.mail_rule_add_block(organization=acme, actor=owner, value="aol.com", confirmed=True)
    assert services.mail_rules_restore_defaults(organization=acme, actor=owner) == 1
    assert "gmail.com" in values(acme) and values(acme, "block") == {"aol.com"}
    assert AuditEvent.objects.filter(
        organization=acme, action="intelligence.mail_rules_defaults_restored"
    ).exists()


def test_the_data_migration_gives_existing_organisations_the_defaults(db):
    org = OrganizationFactory()
    MailRule.objects.filter(organization=org).delete()
    IntelligenceSettings.objects.filter(organization=org).delete()
    done = OrganizationFactory()
    MailRule.objects.filter(organization=done, value="gmail.com").delete()

    migration = importlib.import_module("copilot.migrations.0003_default_mail_rules")
    migration.add_default_mail_rules(django_apps, None)
    assert values(org) == set(DEFAULT_IGNORED_DOMAINS)
    assert "gmail.com" not in values(done)  # organisations that have their list keep it
    assert migration.DEFAULT_IGNORED_DOMAINS == DEFAULT_IGNORED_DOMAINS


# --- Adding and removing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("Example.COM", "example.com"),
        (" @example.com ", "example.com"),
        ("*.example.com", "example.com"),
        ("example.com.", "example.com"),
        ("CEO@Acme.example", "ceo@acme.example"),
        ("bücher.example", "xn--bcher-kva.example"),
    ],
)
def test_entries_are_normalised(raw, stored):
    assert services.mail_rule_normalize(raw) == stored


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "Enter a domain or an email address."),
        ("https://example.com/about", "without http://"),
        ("localhost", "not a full domain"),
        ("not an address@x", "not a valid email address"),
        ("exa mple.com", "not a valid domain"),
        ("-bad-.example", "not a valid domain"),
    ],
)
def test_invalid_entries_are_refused_with_a_clear_message(acme, raw, message):
    with pytest.raises(ValidationError) as exc:
        services.mail_rule_add_ignore(organization=acme, actor=None, value=raw)
    assert message in exc.value.message_dict["value"][0]


def test_duplicates_are_refused_saying_which_list_has_it(acme, owner):
    services.mail_rule_add_ignore(organization=acme, actor=owner, value="vendor.example")
    with pytest.raises(ValidationError, match="already on the Ignore list"):
        services.mail_rule_add_ignore(organization=acme, actor=owner, value="VENDOR.example")
    with pytest.raises(ValidationError, match=r"is on the Ignore list\. Remove it there first"):
        services.mail_rule_block_preview(organization=acme, value="vendor.example")


def test_adding_and_removing_entries_is_audited(acme, owner):
    rule = services.mail_rule_add_ignore(organization=acme, actor=owner, value="newsletters@vendor.example")
    assert (rule.action, rule.is_default, rule.created_by) == ("ignore", False, owner)
    services.mail_rule_remove(rule=rule, actor=owner)
    actions = list(AuditEvent.objects.filter(organization=acme).values_list("action", "target"))
    assert ("intelligence.mail_rule_added", "newsletters@vendor.example") in actions
    assert ("intelligence.mail_rule_removed", "newsletters@vendor.example") in actions


def test_a_block_needs_confirmation(acme, owner):
    with pytest.raises(ValidationError, match="Confirm"):
        services.mail_rule_add_block(organization=acme, actor=owner, value="quillstone.example")
    assert not values(acme, "block")


# --- Blocking removes what was ingested ------------------------------------------------------------


@pytest.fixture
def ingested(acme, owner, teammate):
    """Mail with a law firm (two people), a customer, and one message involving both."""
    deliver(
        context(owner),
        [
            message(1, sender="lawyer@quillstone.example", to=(owner.email,)),
            message(
                2,
                sender="partner@eu.quillstone.example",
                to=(owner.email,),
                cc=("lawyer@quillstone.example",),
            ),
            message(3, sender="buyer@bluefin.example", to=(owner.email,)),
            message(4, sender="buyer@bluefin.example", to=(owner.email,), cc=("lawyer@quillstone.example",)),
            message(5, sender=teammate.email, to=(owner.email,)),  # teammates only
        ],
    )
    return acme


def test_the_preview_counts_what_a_block_removes_and_the_block_removes_it(ingested, owner):
    preview = services.mail_rule_block_preview(organization=ingested, value="Quillstone.example")
    assert (preview.value, preview.activities, preview.people, preview.companies) == (
        "quillstone.example",
        3,
        2,
        1,
    )
    assert Activity.objects.count() == 5  # a preview removes nothing

    rule, removed = services.mail_rule_add_block(
        organization=ingested, actor=owner, value="quillstone.example", confirmed=True
    )
    assert removed == preview and rule.action == "block"
    assert sorted(Activity.objects.values_list("dedupe_key", flat=True)) == [
        "msg-3@mail.example",
        "msg-5@mail.example",
    ]
    assert list(Person.objects.values_list("email", flat=True)) == ["buyer@bluefin.example"]
    assert list(Company.objects.values_list("domain", flat=True)) == ["bluefin.example"]
    assert not ActivityParticipant.objects.filter(email__endswith="quillstone.example").exists()
    event = AuditEvent.objects.get(organization=ingested, action="intelligence.mail_rule_added")
    assert event.data == {
        "action": "block",
        "removed_activities": 3,
        "removed_people": 2,
        "removed_companies": 1,
    }


def test_blocking_an_address_removes_only_that_party(ingested, owner):
    preview = services.mail_rule_block_preview(organization=ingested, value="lawyer@quillstone.example")
    assert (preview.activities, preview.people, preview.companies) == (3, 1, 0)
    services.mail_rule_add_block(
        organization=ingested, actor=owner, value="lawyer@quillstone.example", confirmed=True
    )
    assert Person.objects.filter(email="partner@eu.quillstone.example").exists()
    assert Company.objects.filter(domain="quillstone.example").exists()


def test_an_address_entry_protects_that_party_from_its_domains_block(ingested, owner):
    services.mail_rule_add_ignore(organization=ingested, actor=owner, value="partner@eu.quillstone.example")
    preview = services.mail_rule_block_preview(organization=ingested, value="quillstone.example")
    assert (preview.activities, preview.people) == (3, 1)  # message 2 also has the lawyer on it


def test_blocking_your_own_teammate_removes_their_mail(ingested, owner, teammate):
    preview = services.mail_rule_block_preview(organization=ingested, value=teammate.email)
    assert (preview.activities, preview.people) == (1, 0)


def test_blocking_reaches_only_your_organisation(ingested, globex, outsider, owner):
    deliver(context(outsider), [message(1, sender="lawyer@quillstone.example", to=(outsider.email,))])
    services.mail_rule_add_block(
        organization=ingested, actor=owner, value="quillstone.example", confirmed=True
    )
    assert Activity.objects.for_org(globex).count() == 1 and Person.objects.for_org(globex).count() == 1


# --- Email bodies ----------------------------------------------------------------------------------


def test_turning_bodies_off_clears_the_stored_ones(acme, owner):
    services.intelligence_settings_update(organization=acme, actor=owner, keep_email_bodies=True)
    deliver(context(owner), [message(n, sender="buyer@bluefin.example", to=(owner.email,)) for n in range(3)])
    assert services.stored_body_count(organization=acme) == 3
    settings_row, cleared = services.intelligence_settings_update(
        organization=acme, actor=owner, keep_email_bodies=False
    )
    assert (settings_row.keep_email_bodies, cleared) == (False, 3)
    assert set(Activity.objects.values_list("body", flat=True)) == {""}
    assert all(Activity.objects.values_list("snippet", flat=True))
    assert AuditEvent.objects.filter(action="intelligence.settings_updated").count() == 2
    assert (
        services.intelligence_settings_update(organization=acme, actor=owner, keep_email_bodies=False)[1] == 0
    )


# --- Why wasn't this message ingested? --------------------------------------------------------------


def test_why_answers_with_the_rule_and_the_entry(acme, owner):
    answer = services.why_not_ingested(
        organization=acme, sender="Friend <friend@gmail.com>", recipients="buyer@bluefin.example"
    )
    assert (answer.decision.ingest, answer.decision.rule, answer.decision.entry) == (
        False,
        "ignored_no_teammate",
        "gmail.com",
    )
    assert answer.participants == ("friend@gmail.com", "buyer@bluefin.example") and answer.skip is None

    ok = services.why_not_ingested(
        organization=acme, sender="buyer@bluefin.example", recipients=[f"Olive <{owner.email}>; x@y.example"]
    )
    assert ok.decision.ingest is True and ok.participants == (
        "buyer@bluefin.example",
        owner.email,
        "x@y.example",
    )


def test_why_shows_the_rule_recorded_when_the_message_was_synced(acme, owner):
    deliver(
        context(owner),
        [
            message(
                1,
                sender="lawyer@quillstone.example",
                to=(owner.email,),
                message_id="Case-7@quillstone.example",
            )
        ],
    )
    services.mail_rule_add_block(organization=acme, actor=owner, value="quillstone.example", confirmed=True)
    deliver(
        context(owner),
        [
            message(
                2,
                sender="lawyer@quillstone.example",
                to=(owner.email,),
                message_id="Case-8@quillstone.example",
            )
        ],
    )
    services.mail_rule_remove(
        rule=MailRule.objects.get(organization=acme, value="quillstone.example"), actor=owner
    )

    answer = services.why_not_ingested(
        organization=acme,
        sender="lawyer@quillstone.example",
        recipients=owner.email,
        message_id="<case-8@QUILLSTONE.example>",
    )
    assert answer.decision.ingest is True  # today's rules would let it in ...
    assert (answer.skip.rule, answer.skip.party) == (
        "blocked",
        "lawyer@quillstone.example",
    )  # ... but then it was blocked
    assert "never ingested" in answer.skip_sentence
