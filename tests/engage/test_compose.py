"""Compose and send from the app (B9, basic): the form, its checks, the signature, the way back,
and what the seller sees when sending is not possible."""

from __future__ import annotations

import datetime as dt
import email
import email.policy

import pytest
from django.urls import reverse
from django.utils import timezone

from copilot.models import Activity, Person, User
from engage.forms.compose import ComposeForm, outgoing_message, parse_recipients, signature_text
from integrations import governance, services
from integrations.google.provider import ADMIN_SCOPES
from integrations.models import Connection, ConnectionApp
from integrations.records import Address
from integrations.sandbox.google import control as google_control
from integrations.sandbox.google.demo import google_store
from integrations.sandbox.google.oauth import normalise_scopes
from integrations.sending import EMAIL_DISCONNECTED, NO_CONNECTION
from tests.factories import AdminFactory, OrganizationFactory, UserFactory
from tests.integrations.salesforce.factories import ConnectionFactory

URL = "/app/compose/"


@pytest.fixture
def seller(teammate):
    teammate.job_title = "Account Executive"
    teammate.phone = "+1 555 0100"
    teammate.signature_choice = User.Signature.CLASSIC
    teammate.save(update_fields=["job_title", "phone", "signature_choice"])
    return teammate


@pytest.fixture
def seller_client(client, seller):
    client.force_login(seller)
    return client


def _post(client, **data):
    payload = {"to": "peter@initech.example", "subject": "Hello", "body": "Hi Peter,\nhow are you?"}
    payload.update(data)
    return client.post(URL, payload)


def test_the_url_is_engage_compose():
    assert reverse("engage:compose") == URL


# --- Recipients ---------------------------------------------------------------------------------
def test_recipients_may_be_separated_by_commas_semicolons_lines_or_spaces():
    addresses, invalid = parse_recipients(
        "Ann Lee <Ann@Initech.example>; bob@initech.example,\ncarl@x.example dora@y.example, ann@initech.example"
    )
    assert invalid == []
    assert addresses == [
        Address("ann@initech.example", "Ann Lee"),
        Address("bob@initech.example"),
        Address("carl@x.example"),
        Address("dora@y.example"),
    ]


def test_bad_recipients_are_named_in_the_error():
    form = ComposeForm({"to": "peter@initech.example, not-an-address, bob@", "subject": "s", "body": "b"})
    assert not form.is_valid()
    assert form.errors["to"] == [
        "“not-an-address”, “bob@” are not email addresses. Separate addresses with commas."
    ]
    form = ComposeForm({"to": "", "cc": "nope", "subject": "", "body": "  \n "})
    assert not form.is_valid()
    assert form.errors == {
        "to": ["Add at least one recipient."],
        "cc": ["“nope” is not an email address. Separate addresses with commas."],
        "subject": ["Write a subject."],
        "body": ["Write your message."],
    }


def test_too_many_recipients_are_refused():
    many = ", ".join(f"p{i}@x.example" for i in range(51))
    form = ComposeForm({"to": many, "subject": "s", "body": "b"})
    assert not form.is_valid() and form.errors["to"] == ["Send to at most 50 people at once."]
    form = ComposeForm(
        {
            "to": ", ".join(f"p{i}@x.example" for i in range(30)),
            "cc": ", ".join(f"q{i}@x.example" for i in range(30)),
            "subject": "s",
            "body": "b",
        }
    )
    assert not form.is_valid() and form.errors["cc"] == ["Send to at most 50 people at once."]


def test_cc_drops_addresses_already_in_to_and_the_subject_is_one_line():
    form = ComposeForm(
        {"to": "a@x.example", "cc": "A@x.example, b@x.example", "subject": "Hi\r\nBcc: evil@x", "body": "b"}
    )
    assert form.is_valid()
    assert form.cleaned_data["cc"] == [Address("b@x.example")]
    assert form.cleaned_data["subject"] == "Hi Bcc: evil@x"


# --- The message and the signature ----------------------------------------------------------------
def test_the_message_carries_the_signature_in_text_and_html(seller):
    message = outgoing_message(
        user=seller,
        to=[Address("peter@initech.example")],
        cc=[],
        subject="Hello",
        body="Hi <Peter> & co,\nsee you soon.",
    )
    assert message.to == (Address("peter@initech.example"),) and message.subject == "Hello"
    assert message.sender_name == seller.get_full_name()
    assert message.text.startswith("Hi <Peter> & co,\nsee you soon.\n\n-- \n")
    assert "Tom Mate" in message.text and "Account Executive" in message.text and "<" not in message.text[40:]
    assert message.html.startswith("<div>Hi &lt;Peter&gt; &amp; co,<br>\nsee you soon.</div>")
    assert 'class="signature"' in message.html and "Account Executive" in message.html
    assert message.message_id_header == ""  # the sending facade makes it


def test_no_signature_means_just_the_message(teammate):
    teammate.signature_choice = User.Signature.NONE
    message = outgoing_message(user=teammate, to=[Address("a@x.example")], cc=[], subject="s", body="Hi")
    assert message.text == "Hi\n" and message.html == "<div>Hi</div>"


def test_signature_text_keeps_lines_and_drops_tags():
    assert signature_text(
        '<p><b>Ann</b> Lee<br>Sales &amp; Co</p><div><a href="x">a@x.example</a></div>'
    ) == ("Ann Lee\nSales & Co\na@x.example")


# --- The page -----------------------------------------------------------------------------------
def test_compose_opens_prefilled_with_the_signature_shown(seller_client):
    response = seller_client.get(
        URL, {"to": "peter@initech.example", "subject": "Quote", "next": "/app/contacts/"}
    )
    assert response.status_code == 200
    text = response.text
    assert 'value="peter@initech.example"' in text and 'value="Quote"' in text
    assert 'name="next" value="/app/contacts/"' in text
    assert "Account Executive" in text and "Added below your message" in text
    assert NO_CONNECTION in text  # warned before typing, not only after


def test_preview_shows_the_message_with_its_signature_and_sends_nothing(seller_client):
    response = _post(seller_client, action="preview", subject="", body="Line one\n<script>x</script>")
    assert response.status_code == 200
    text = response.text
    assert "Preview" in text and "Line one<br>" in text and "&lt;script&gt;x&lt;/script&gt;" in text
    assert "<script>x" not in text and "Account Executive" in text
    assert "Write a subject." not in text  # a preview checks nothing yet
    assert 'value="peter@initech.example"' in text and "<script>x</script></textarea>" not in text


def test_without_a_connected_mailbox_the_form_comes_back_with_the_reason_and_nothing_lost(seller_client):
    response = _post(seller_client, subject="Keep me", body="Every word\nstays", next="/app/contacts/")
    assert response.status_code == 200
    text = response.text
    assert NO_CONNECTION in text
    assert 'value="Keep me"' in text and "Every word\nstays</textarea>" in text
    assert 'value="peter@initech.example"' in text


def test_after_the_email_app_is_disconnected_sending_says_so(seller_client, acme):
    connection = ConnectionFactory(
        organization=acme,
        provider="google",
        scope=Connection.Scope.ORGANIZATION,
        external_org_id="C0demo",
        details={"mode": "dwd", "domain": "acme.example", "verified_domains": ["acme.example"]},
    )
    ConnectionApp.objects.create(organization=acme, connection=connection, app="email", installed=False)
    response = _post(seller_client)
    assert response.status_code == 200 and EMAIL_DISCONNECTED in response.text


def test_next_must_be_a_page_of_this_site(seller_client):
    text = seller_client.get(URL, {"next": "https://evil.example/"}).text
    assert '<input type="hidden" name="next" id="id_next">' in text and "evil.example" not in text
    # Without ?next= it goes back to the page that linked here.
    text = seller_client.get(URL, HTTP_REFERER="http://testserver/companies/").text
    assert 'name="next" value="http://testserver/companies/"' in text
    text = seller_client.get(URL, HTTP_REFERER="http://testserver/app/compose/?to=x").text
    assert '<input type="hidden" name="next" id="id_next">' in text


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- Sending through the sandbox's Gmail --------------------------------------------------------
DEMO_ADMIN = "admin@demo.example"
DEMO_SELLER = "seller1@demo.example"


@pytest.fixture
def demo_seller(db):
    organization = OrganizationFactory(name="Demo Co")
    admin = AdminFactory(organization=organization, email=DEMO_ADMIN, first_name="Ada", last_name="Admin")
    seller = UserFactory(
        organization=organization,
        email=DEMO_SELLER,
        first_name="Sam",
        last_name="Seller",
        job_title="Account Executive",
        signature_choice=User.Signature.COMPACT,
    )
    seller.demo_admin = admin
    return seller


def _google_connection(sandbox, organization, admin) -> Connection:
    """Demo Co's admin-managed (domain-wide delegation) Google connection, as connecting leaves it."""
    scopes = normalise_scopes(" ".join(ADMIN_SCOPES))
    tokens = google_control.issue_tokens(sandbox.state, DEMO_ADMIN, scopes=scopes)
    now = timezone.now()
    connection = services.connection_save_from_oauth(
        organization=organization,
        actor=admin,
        provider="google",
        scope=Connection.Scope.ORGANIZATION,
        credentials={
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            "issued_at": now.isoformat(),
            "expires_in": 3599,
            "expires_at": (now + dt.timedelta(seconds=3599)).isoformat(),
            "scopes": scopes,
        },
        external_org_id="",
        external_user_id="",
        external_username=DEMO_ADMIN,
        instance_url="",
        details={
            "mode": "dwd",
            "domain": "demo.example",
            "customer_id": "",
            "admin_email": DEMO_ADMIN,
            "verified_domains": ["demo.example"],  # the Directory's domains list, read at connect
        },
    )
    governance.apps_install(connection=connection, apps=("email", "calendar"), actor=admin)
    return connection


def _sent_copies(sandbox, subject: str) -> list:
    mailbox = google_store(sandbox.state).mailbox(DEMO_SELLER)
    return [m for m in mailbox.messages.values() if m.header("Subject") == subject and "SENT" in m.label_ids]


def test_an_email_goes_out_through_the_sellers_mailbox_and_is_on_the_timeline_at_once(
    sandbox, client, demo_seller
):
    _google_connection(sandbox, demo_seller.organization, demo_seller.demo_admin)
    client.force_login(demo_seller)
    response = client.post(
        URL,
        {
            "to": "Peter Gibbons <peter@initech.example>",
            "cc": "joanna@initech.example",
            "subject": "Renewal terms",
            "body": "Hi Peter,\nthe terms are attached.",
            "next": "/companies/",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/companies/"
    page = client.get("/companies/").text
    assert "Email sent to peter@initech.example, joanna@initech.example." in page

    (sent,) = _sent_copies(sandbox, "Renewal terms")
    mime = email.message_from_bytes(sent.raw_bytes(), policy=email.policy.default)
    text, html = (
        mime.get_body(preferencelist=(kind,)).get_content().replace("\r\n", "\n")
        for kind in ("plain", "html")
    )
    assert "the terms are attached" in text and "-- \nSam Seller" in text and "<" not in text
    assert "Hi Peter,<br>" in html and 'class="signature"' in html and "Account Executive" in html

    activity = Activity.objects.for_org(demo_seller.organization).get(subject="Renewal terms")
    assert activity.sent_from_app and activity.kind == "email"
    person = Person.objects.for_org(demo_seller.organization).get(email="peter@initech.example")
    text = client.get(reverse("copilot:person", args=[person.pk])).text
    assert "Renewal terms" in text and "Sent from Cadence" in text


def test_sending_works_while_the_email_app_is_toggled_off_and_stops_once_disconnected(
    sandbox, client, demo_seller
):
    connection = _google_connection(sandbox, demo_seller.organization, demo_seller.demo_admin)
    email_app = ConnectionApp.objects.get(connection=connection, app="email")
    governance.app_toggle(connection_app=email_app, enabled=False, actor=demo_seller.demo_admin)
    client.force_login(demo_seller)
    response = _post(client, subject="While off")
    assert response.status_code == 302
    assert len(_sent_copies(sandbox, "While off")) == 1

    governance.app_disconnect(connection_app=email_app, actor=demo_seller.demo_admin)
    response = _post(client, subject="After disconnect", body="Still here")
    assert response.status_code == 200
    assert EMAIL_DISCONNECTED in response.text and 'value="After disconnect"' in response.text
    assert _sent_copies(sandbox, "After disconnect") == []


def test_a_message_the_provider_refuses_comes_back_with_its_reason_and_nothing_lost(
    sandbox, client, demo_seller
):
    _google_connection(sandbox, demo_seller.organization, demo_seller.demo_admin)
    sandbox.control.inject_fault(r"/messages/send", status=400, method="POST")
    client.force_login(demo_seller)
    response = _post(client, subject="Refused", body="Keep this text")
    assert response.status_code == 200
    assert "Your mail provider refused the message: Google refused" in response.text
    assert 'value="Refused"' in response.text and "Keep this text</textarea>" in response.text
    assert _sent_copies(sandbox, "Refused") == []
