"""Email signatures: the two templates filled from the profile, custom HTML sanitised."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from copilot.models import User
from engage.services.profile import profile_update_signature
from engage.signatures import sanitize_signature, signature_html, signature_previews


@pytest.fixture
def seller(teammate):
    teammate.job_title = "Account Executive"
    teammate.phone = "+1 415 555 0100"
    teammate.save()
    return teammate


@pytest.mark.parametrize("choice", [User.Signature.CLASSIC, User.Signature.COMPACT])
def test_templates_are_filled_from_the_profile(seller, choice):
    seller.signature_choice = choice
    html = signature_html(seller)
    for fact in ("Tom Mate", "Account Executive", "Acme", "+1 415 555 0100", "teammate@acme.example"):
        assert fact in html
    assert 'href="mailto:teammate@acme.example"' in html


def test_the_two_templates_differ(seller):
    previews = signature_previews(seller)
    assert previews[User.Signature.CLASSIC] != previews[User.Signature.COMPACT]


def test_template_values_are_escaped(seller):
    seller.first_name = "<script>alert(1)</script>"
    seller.signature_choice = User.Signature.CLASSIC
    html = signature_html(seller)
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_no_signature_is_empty(seller):
    seller.signature_choice = User.Signature.NONE
    assert signature_html(seller) == ""


@pytest.mark.parametrize(
    ("dirty", "kept", "gone"),
    [
        ("<p>Hi<script>alert(1)</script></p>", "<p>Hi</p>", "alert"),
        ('<img src="https://x.example/a.png" onerror="alert(1)" alt="logo">', 'alt="logo"', "onerror"),
        ('<a href="javascript:alert(1)">click</a>', "click", "javascript:"),
        ('<a href="https://acme.example" onclick="x()">site</a>', 'href="https://acme.example"', "onclick"),
        ('<a href="mailto:a@b.example">mail</a>', 'href="mailto:a@b.example"', "javascript"),
        ("<style>body{display:none}</style><b>bold</b>", "<b>bold</b>", "display"),
        ('<span style="color:red">x</span>', "<span>x</span>", "style"),
        ('<iframe src="https://evil.example"></iframe><i>ok</i>', "<i>ok</i>", "iframe"),
        ('<img src="data:image/png;base64,AAAA" alt="x">', "<img", "data:"),
        ("<strong>a</strong><em>b</em><u>c</u><br><ul><li>d</li></ol>", "<u>c</u>", "<script"),
    ],
)
def test_custom_html_is_sanitised(dirty, kept, gone):
    clean = sanitize_signature(dirty)
    assert kept in clean
    assert gone not in clean


def test_custom_signatures_are_stored_sanitised(seller):
    profile_update_signature(
        user=seller,
        choice=User.Signature.CUSTOM,
        custom='<b>Tom</b><script>steal()</script><a href="javascript:x">x</a>',
    )
    seller.refresh_from_db()
    assert seller.signature_choice == User.Signature.CUSTOM
    assert "<b>Tom</b>" in seller.signature_custom
    assert "script" not in seller.signature_custom and "javascript" not in seller.signature_custom


def test_a_signature_written_elsewhere_is_sanitised_when_used(seller):
    # The onboarding wizard stores what it is given; the signature used in email is cleaned anyway.
    seller.signature_choice = User.Signature.CUSTOM
    seller.signature_custom = '<p onclick="x()">Tom</p><script>alert(1)</script>'
    assert signature_html(seller) == "<p>Tom</p>"


def test_custom_needs_some_content(seller):
    with pytest.raises(ValidationError) as exc:
        profile_update_signature(user=seller, choice=User.Signature.CUSTOM, custom="<script>x</script>")
    assert "signature_custom" in exc.value.message_dict


def test_choosing_a_template_keeps_the_custom_text(seller):
    profile_update_signature(user=seller, choice=User.Signature.CUSTOM, custom="<i>mine</i>")
    profile_update_signature(user=seller, choice=User.Signature.COMPACT, custom="<i>mine</i>")
    seller.refresh_from_db()
    assert (seller.signature_choice, seller.signature_custom) == ("compact", "<i>mine</i>")
