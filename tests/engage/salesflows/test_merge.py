"""Merge fields in Salesflow templates: what a seller sees when saving a step (problems with their
place and a suggestion), and what a recipient receives (values, fallbacks, escaping, never a blank
where a value was required)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from copilot.models import User
from engage.salesflows.merge import (
    FIELDS,
    MergeContext,
    MergeTemplateError,
    MissingMergeValue,
    compile_template,
    context_for,
    fields_by_group,
    missing_for,
    render,
    validate,
)
from tests.factories import AccountFactory, ContactFactory

EMAIL = """<p>Hi {{ first_name|there }},</p>
<p>I saw that {{ account.name }} is hiring in {{ city|your area }}. As {{ title }}, you may
care about how long onboarding takes.</p>
<p>Best,</p>{{ sender.signature }}"""


def messages(text: str, **kwargs) -> list[str]:
    return [p.message for p in validate(text, **kwargs)]


# --- Validation ---------------------------------------------------------------------------------
def test_a_misspelt_field_says_which_field_it_probably_is_and_where():
    [problem] = validate("Hello,\nHi {{ frist_name }}, how are you?")
    assert problem.message == "Unknown merge field {{ frist_name }} — did you mean {{ first_name }}?"
    assert (problem.line, problem.column) == (2, 4)
    assert str(problem).startswith("Line 2, column 4: ")
    assert problem.suggestion == "first_name"


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("{{ company.name }}", "account.name"),
        ("{{ contact.first_name }}", "first_name"),
        ("{{ user.signature }}", "sender.signature"),
        ("{{ firstname }}", "first_name"),
        ("{{ first name }}", "first_name"),
        ("{{ acount.domain }}", "account.domain"),
    ],
)
def test_fields_written_the_way_other_tools_write_them_are_pointed_to_ours(written, meant):
    [problem] = validate(written)
    assert problem.suggestion == meant
    assert problem.message.endswith(f"did you mean {{{{ {meant} }}}}?")


def test_an_unknown_field_with_nothing_close_points_to_the_list():
    assert messages("{{ favourite_colour }}") == [
        "Unknown merge field {{ favourite_colour }}: choose one from the list of merge fields."
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hi {{ first_name, how are you?", "Merge field “{{ first_name, how are you?” is not closed"),
        ("Hi {{ }}", "Empty merge field {{ }}"),
        ("Hi {{|there}}", "Merge field {{ |there }} has no field before the |"),
        ("Hi {{ first_name| }}", "The fallback in {{ first_name| }} is empty"),
        (
            "Hi {{ <b>first_name</b> }}",
            "has formatting inside it. Type it again as plain text: {{ first_name }}",
        ),
    ],
)
def test_malformed_tags_are_problems(text, expected):
    [problem] = validate(text)
    assert expected in problem.message
    assert (problem.line, problem.column) == (1, 4)


def test_a_tag_left_open_before_the_next_one_is_reported_and_the_next_one_still_read():
    problems = validate("{{ first_name {{ lst_name }}")
    assert [(p.column, p.suggestion) for p in problems] == [(1, ""), (15, "last_name")]
    assert "is not closed" in problems[0].message


def test_every_problem_is_listed_in_reading_order():
    text = "{{ frist_name }}\n{{ }}\nfine {{ first_name }} then {{ acount.name }}"
    assert [(p.line, p.column) for p in validate(text)] == [(1, 1), (2, 1), (3, 28)]


@pytest.mark.parametrize(
    "text",
    [
        "{{first_name}}",
        "{{ First_Name }}",
        "{{  account.name  }}",
        "{{ first_name|my friend }}",
        "{{ first_name | there }}",
        "{{&nbsp;first_name&nbsp;}}",  # what an HTML editor writes for the spaces
        "a }} alone is text",
        "\\{{ not a field }}",
    ],
)
def test_well_formed_templates_have_no_problems(text):
    assert validate(text) == []


def test_the_signature_cannot_go_in_a_subject_line():
    assert messages("Re: {{ sender.signature }}", subject=True) == [
        "{{ sender.signature }} cannot be used in a subject line."
    ]
    assert validate("Re: {{ sender.signature }}") == []  # a body may end with it
    assert validate("Quick question, {{ first_name|there }}", subject=True) == []


def test_a_template_with_problems_never_renders():
    with pytest.raises(MergeTemplateError) as caught:
        render("Hi {{ frist_name }}", {"first_name": "Ada"}, html=False)
    assert caught.value.problems[0].suggestion == "first_name"
    with pytest.raises(MergeTemplateError):
        missing_for("Hi {{ frist_name }}", {"first_name": "Ada"})


# --- Rendering ----------------------------------------------------------------------------------
def test_values_fill_the_fields_and_fallbacks_stand_in_for_empty_values():
    text = "Hi {{ first_name|there }}, from {{ sender.first_name }} at {{ account.name|your company }}."
    full = {"first_name": "Ada", "sender.first_name": "Sam", "account.name": "Northwind"}
    assert render(text, full, html=False) == "Hi Ada, from Sam at Northwind."
    for blank in ("", "   ", None):
        empty = {"first_name": blank, "sender.first_name": "Sam"}
        assert render(text, empty, html=False) == "Hi there, from Sam at your company."


def test_fallbacks_may_contain_spaces_and_values_are_trimmed():
    assert render("Hi {{first_name|my friend}}!", {}, html=True) == "Hi my friend!"
    assert render("Hi {{ first_name|my friend }}!", {"first_name": " Ada "}, html=True) == "Hi Ada!"


def test_a_missing_value_without_fallback_raises_with_the_field_names():
    text = "Hi {{ first_name }}, {{ account.name }} and {{ first_name }} again; {{ title|friend }}"
    with pytest.raises(MissingMergeValue) as caught:
        render(text, {"first_name": " ", "title": ""}, html=True)
    assert caught.value.fields == ["first_name", "account.name"]
    assert str(caught.value) == "No value for {{ first_name }}, {{ account.name }}"
    assert missing_for(text, {"first_name": " ", "title": ""}) == ["first_name", "account.name"]
    assert missing_for(text, {"first_name": "Ada", "account.name": "Northwind"}) == []


def test_a_field_needed_once_without_fallback_is_needed_even_if_it_has_one_elsewhere():
    text = "{{ first_name|there }} … {{ first_name }}"
    assert missing_for(text, {}) == ["first_name"]


def test_a_contact_named_like_a_script_is_escaped_in_html_and_left_alone_in_plain_text():
    values = {"first_name": "<script>alert(1)</script>", "account.name": 'Tom & "Jerry"'}
    text = "Hi {{ first_name }} of {{ account.name }}"
    assert (
        render(text, values, html=True)
        == "Hi &lt;script&gt;alert(1)&lt;/script&gt; of Tom &amp; &quot;Jerry&quot;"
    )
    assert render(text, values, html=False) == 'Hi <script>alert(1)</script> of Tom & "Jerry"'


def test_the_signature_is_kept_as_html_and_becomes_text_in_plain_text():
    signature = (
        '<p>Sam Rivera<br>Account Executive</p><p><a href="mailto:sam@acme.example">sam@acme.example</a></p>'
    )
    values = {"first_name": "Ada", "sender.signature": signature}
    assert render("Hi {{ first_name }}<br>{{ sender.signature }}", values, html=True).endswith(signature)
    assert render("Hi {{ first_name }}\n{{ sender.signature }}", values, html=False) == (
        "Hi Ada\nSam Rivera\nAccount Executive\nsam@acme.example"
    )


def test_a_seller_without_signature_sends_without_one(teammate):
    teammate.signature_choice = User.Signature.NONE
    context = context_for(SimpleNamespace(first_name="Ada"), teammate)
    assert missing_for(EMAIL, context) == ["account.name", "title"]  # not the signature
    text = "Hi {{ first_name }},<p>Best,</p>{{ sender.signature }}"
    assert render(text, context, html=True) == "Hi Ada,<p>Best,</p>"
    assert render("{{ sender.signature|Sam }}", context, html=False) == "Sam"


def test_subject_lines_are_plain_text():
    subject = "Re: {{ account.name }} × {{ sender.company }}"
    values = {"account.name": "AT&T", "sender.company": "Acme <EU>"}
    assert validate(subject, subject=True) == []
    assert render(subject, values, html=False) == "Re: AT&T × Acme <EU>"


def test_unicode_names_go_through_unchanged():
    values = {
        "first_name": "Zoë",
        "last_name": "Łukasiewicz",
        "account.name": "Müller & Söhne",
        "city": "東京",
    }
    text = "Hallo {{ first_name }} {{ last_name }} ({{ account.name }}, {{ city }})"
    assert render(text, values, html=False) == "Hallo Zoë Łukasiewicz (Müller & Söhne, 東京)"
    assert render(text, values, html=True) == "Hallo Zoë Łukasiewicz (Müller &amp; Söhne, 東京)"


def test_an_escaped_opening_is_written_as_literal_braces():
    text = "Write \\{{ first_name }} to greet by name, {{ first_name }}. CSS: a{b{c}}"
    assert render(text, {"first_name": "Ada"}, html=False) == (
        "Write {{ first_name }} to greet by name, Ada. CSS: a{b{c}}"
    )


def test_a_template_is_compiled_once_and_rendered_for_many_recipients():
    assert compile_template(EMAIL) is compile_template(EMAIL)
    assert compile_template(EMAIL).fields == [
        "first_name",
        "account.name",
        "city",
        "title",
        "sender.signature",
    ]
    people = [
        MergeContext({"first_name": n, "account.name": "Northwind", "title": "CTO"}) for n in ("Ada", "")
    ]
    first, second = (render(EMAIL, p, html=True) for p in people)
    assert first.startswith("<p>Hi Ada,</p>") and second.startswith("<p>Hi there,</p>")
    assert "in your area." in first


# --- The registry and the values of real records ------------------------------------------------
def test_the_picker_lists_every_field_with_a_label_and_an_example_by_group():
    groups = dict(fields_by_group())
    assert list(groups) == ["Contact", "Account", "Sender"]
    listed = [f for fields in groups.values() for f in fields]
    assert sorted(f.key for f in listed) == sorted(FIELDS)
    assert {"first_name", "account.name", "sender.signature"} <= set(FIELDS)
    for field in listed:
        assert field.label and field.source and field.example
        assert validate(field.tag) == []
    assert [f.key for f in FIELDS.values() if f.html] == ["sender.signature"]


@pytest.fixture
def seller(teammate):
    teammate.job_title = "Account Executive"
    teammate.phone = "+14155550142"
    teammate.signature_choice = User.Signature.CLASSIC
    teammate.save()
    return teammate


def test_context_for_reads_the_contact_its_account_and_the_sender(acme, seller):
    account = AccountFactory(
        organization=acme, name="Northwind <Traders>", domain="northwind.example", city="Seattle"
    )
    contact = ContactFactory(
        organization=acme,
        first_name="Zoë",
        last_name="Ng",
        title="CTO",
        direct_phone="",
        business_phone="+493012345678",
        account=account,
    )
    context = context_for(contact, seller)
    assert context.values["full_name"] == "Zoë Ng"
    assert context.values["company"] == "Northwind <Traders>"  # no company written: the account's
    assert context.values["phone"] == "+49 30 12345678"
    assert context.values["account.city"] == "Seattle"
    assert context.values["sender.full_name"] == "Tom Mate"
    assert context.values["sender.company"] == "Acme"
    assert context.values["sender.phone"] == "+1 415-555-0142"
    assert "city" not in context.values and "account.website" not in context.values

    body = render(EMAIL, context, html=True)
    assert "<p>Hi Zoë,</p>" in body and "Northwind &lt;Traders&gt; is hiring in your area." in body
    assert "As CTO" in body
    assert "Account Executive" in body.split("<p>Best,</p>")[1]  # the signature's HTML follows
    assert missing_for("{{ account.website }} {{ sender.title }}", context) == ["account.website"]


def test_a_contact_without_account_lacks_the_account_fields(acme, seller):
    contact = ContactFactory(organization=acme, first_name="Ada", company="Initech", account=None)
    context = context_for(contact, seller, signature="<p>Sam</p>")
    assert missing_for("{{ account.name }} {{ company }} {{ sender.signature }}", context) == ["account.name"]
    assert render("{{ sender.signature }}", context, html=True) == "<p>Sam</p>"


def test_context_for_takes_any_objects_with_the_attributes():
    contact = SimpleNamespace(first_name="Ada", last_name="", email="ada@x.example", account=None)
    sender = SimpleNamespace(first_name="Sam", last_name="Rivera", organization=None, phone="")
    context = context_for(contact, sender, signature="")
    assert render("{{ full_name }} / {{ sender.full_name }}", context, html=False) == "Ada / Sam Rivera"
    assert missing_for("{{ sender.signature }} {{ title }}", context) == ["title"]
