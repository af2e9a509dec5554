"""Admin Portal › Revenue Intelligence: the Ignore/Block lists, the block confirmation, "why not
ingested?" and the email-bodies setting (B7)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from copilot.intelligence.services import intelligence_settings_update
from copilot.models import Activity, AuditEvent, MailRule, Person
from integrations.sync.registry import deliver
from tests.copilot.intelligence.record_helpers import context, message
from tests.support_login_helpers import sign_in_to_support, support_user

RULES = reverse("copilot:intelligence_rules")
CONFIRM = reverse("copilot:intelligence_rule_block_confirm")
WHY = reverse("copilot:intelligence_why")
STORAGE = reverse("copilot:intelligence_settings")


def test_the_page_lists_both_lists_with_the_defaults_marked(owner_client, acme):
    MailRule.objects.create(organization=acme, value="ceo@acme.example", action="block")
    page = owner_client.get(RULES).content.decode()
    assert "Revenue Intelligence" in page and "Communications" in page
    assert 'gmail.com <span class="badge">default</span>' in page
    assert "ceo@acme.example" in page
    assert "one of your teammates who isn't ignored is on it" in page  # the help text of each list
    assert "law firm" in page
    assert 'aria-current="page">Revenue Intelligence</a>' in page  # the sidebar link


def test_only_admins_open_it(client, teammate):
    client.force_login(teammate)
    for url in (RULES, CONFIRM + "?value=x.example", WHY, STORAGE):
        assert client.get(url).status_code == 403


def test_an_admin_adds_an_ignore_entry(owner_client, acme):
    response = owner_client.post(
        RULES, {"op": "add", "value": " Newsletters.Vendor.example ", "action": "ignore"}, follow=True
    )
    assert "Added newsletters.vendor.example to the Ignore list." in response.content.decode()
    rule = MailRule.objects.get(organization=acme, value="newsletters.vendor.example")
    assert (rule.action, rule.is_default) == ("ignore", False)


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("", "This field is required."),
        ("http://vendor.example/x", "without http://"),
        ("gmail.com", "already on the Ignore list"),
    ],
)
def test_bad_entries_show_clear_errors(owner_client, acme, value, error):
    response = owner_client.post(RULES, {"op": "add", "value": value, "action": "ignore"})
    assert response.status_code == 200
    assert error in response.content.decode()


def test_adding_a_block_asks_for_confirmation_with_the_counts(owner_client, acme, owner):
    deliver(
        context(owner),
        [
            message(1, sender=("lawyer@quillstone.example", "Lee Lawyer"), to=(owner.email,)),
            message(2, sender="partner@quillstone.example", to=(owner.email,)),
            message(3, sender="buyer@bluefin.example", to=(owner.email,)),
        ],
    )
    response = owner_client.post(RULES, {"op": "add", "value": "Quillstone.example", "action": "block"})
    assert response.status_code == 302 and response.url == f"{CONFIRM}?value=quillstone.example"
    assert not MailRule.objects.filter(action="block").exists()  # nothing yet

    page = owner_client.get(response.url).content.decode()
    assert "2 activities and 2 people from quillstone.example will be removed" in page
    assert Activity.objects.count() == 3

    done = owner_client.post(CONFIRM, {"value": "quillstone.example"}, follow=True).content.decode()
    assert "Blocked quillstone.example. Removed 2 activities and 2 people." in done
    assert list(Activity.objects.values_list("sender_email", flat=True)) == ["buyer@bluefin.example"]
    assert list(Person.objects.values_list("email", flat=True)) == ["buyer@bluefin.example"]
    assert MailRule.objects.get(value="quillstone.example").action == "block"


def test_a_block_of_an_entry_already_listed_goes_back_with_the_error(owner_client, acme):
    response = owner_client.get(f"{CONFIRM}?value=gmail.com", follow=True)
    assert "gmail.com is on the Ignore list. Remove it there first" in response.content.decode()
    assert not MailRule.objects.filter(action="block").exists()


def test_an_admin_removes_an_entry_and_restores_the_defaults(owner_client, acme):
    rule = MailRule.objects.get(organization=acme, value="gmail.com")
    delete = reverse("copilot:intelligence_rule_delete", kwargs={"rule_id": rule.pk})
    assert owner_client.get(delete).status_code == 405
    response = owner_client.post(delete, follow=True)
    assert "Removed gmail.com from the Ignore list." in response.content.decode()
    assert not MailRule.objects.filter(organization=acme, value="gmail.com").exists()

    response = owner_client.post(RULES, {"op": "restore"}, follow=True)
    assert "Put back 1 default domain on the Ignore list." in response.content.decode()
    assert MailRule.objects.get(organization=acme, value="gmail.com").is_default
    assert AuditEvent.objects.filter(organization=acme, action="intelligence.mail_rule_removed").exists()


def test_another_organisations_entry_is_404(owner_client, globex):
    theirs = MailRule.objects.get(organization=globex, value="gmail.com")
    url = reverse("copilot:intelligence_rule_delete", kwargs={"rule_id": theirs.pk})
    assert owner_client.post(url).status_code == 404
    assert MailRule.objects.filter(pk=theirs.pk).exists()


def test_why_was_this_message_not_ingested(owner_client, acme, owner):
    deliver(
        context(owner),
        [message(1, sender="friend@gmail.com", to=("buyer@bluefin.example",), message_id="x-1@gmail.com")],
    )
    page = owner_client.get(
        WHY,
        {
            "sender": "Friend <friend@gmail.com>",
            "recipients": "buyer@bluefin.example",
            "message_id": "<x-1@gmail.com>",
        },
    ).content.decode()
    assert "This message is not synced" in page
    assert "friend@gmail.com is on the Ignore list (entry “gmail.com”)" in page
    assert "Matching entry: <strong>gmail.com</strong> (Ignore list)" in page
    assert (
        "When it was synced on" in page
        and "one of your teammates who isn&#x27;t ignored has to take part" in page
    )

    ok = owner_client.get(
        WHY, {"sender": "buyer@bluefin.example", "recipients": owner.email}
    ).content.decode()
    assert "This message is synced" in ok


def test_why_form_errors(owner_client):
    page = owner_client.get(WHY, {"sender": "nobody", "recipients": ""}).content.decode()
    assert "Enter the one address the message came from" in page
    assert "This field is required." in page


def test_turning_email_bodies_on_and_off_with_confirmation(owner_client, acme, owner):
    response = owner_client.post(STORAGE, {"keep_email_bodies": "on"}, follow=True)
    assert "Full email bodies will be kept" in response.content.decode()
    deliver(context(owner), [message(1, sender="buyer@bluefin.example", to=(owner.email,))])
    assert Activity.objects.get().body

    confirm = owner_client.post(STORAGE, {})
    assert "The 1 stored email body will be deleted." in confirm.content.decode()
    assert Activity.objects.get().body  # not yet

    done = owner_client.post(STORAGE, {"confirm": "yes"}, follow=True).content.decode()
    assert "Deleted 1 stored email body." in done
    assert Activity.objects.get().body == ""


def test_turning_bodies_off_with_none_stored_needs_no_confirmation(owner_client, acme, owner):
    intelligence_settings_update(organization=acme, actor=owner, keep_email_bodies=True)
    response = owner_client.post(STORAGE, {})
    assert response.status_code == 302


def test_support_staff_see_intelligence_rows_read_only(client, acme, owner):

    deliver(context(owner), [message(1, sender="buyer@bluefin.example", to=(owner.email,))])
    sign_in_to_support(client, support_user())
    for name in ("company", "person", "activity", "mailrule", "ingestionskip"):
        assert client.get(reverse(f"admin:copilot_{name}_changelist")).status_code == 200
    activity = Activity.objects.get()
    page = client.get(reverse("admin:copilot_activity_change", args=[activity.pk]))
    assert page.status_code == 200 and "buyer@bluefin.example" in page.content.decode()
    assert (
        client.post(reverse("admin:copilot_activity_delete", args=[activity.pk]), {"post": "yes"}).status_code
        == 403
    )
